"""Which files and folders a command of this package wrote: the only ones it replaces.

A command that writes fixed names (``summary.json``, ``report.md``, a label map named
after its input) must not replace a user's file of that name, and ``--overwrite`` must
not delete a folder the command did not make. Two marks, each a small JSON document
written atomically, tell a command's own outputs apart:

* the **folder mark** ``FOLDER/.boundaryloss.json`` (``{"written_by": "boundaryloss
  train", "version": ...}``): the folder as a whole was made by that command (a run
  directory, a prepared dataset), which may replace it as a whole;
* the **file record** ``FOLDER/.boundaryloss-files.json``: for each file a command wrote
  into a folder it may share with other files (label maps, an evaluation, a comparison's
  report), the command and the SHA-256 of what it wrote. A file is the command's own
  while its content is what the record says; a file of the same name that a user or
  another tool put there later is not. (A content hash, not a time stamp, so that a
  copied or moved output folder stays the command's own.)

:func:`is_written_by` is the one test of "is this file ours". It also accepts a JSON
document that carries the command's name in its own ``written_by`` entry (the summaries
of ``evaluate-folder``). What versions before these marks wrote is recognised, where it
can be told apart at all, by each command's own rule beside its call of these functions.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

from ._files import write_text_atomically

#: The folder mark: the folder was made, as a whole, by the command it names.
FOLDER_MARK = ".boundaryloss.json"
#: The file record: which files of the folder which command wrote, and their hashes.
FILE_RECORD = ".boundaryloss-files.json"
#: The entry naming the command in a mark, a record entry or a self-marked JSON output.
MARK_KEY = "written_by"
_CHUNK = 1 << 20


def _read_json(path: Path) -> Any:
    """The JSON document in ``path``, or None when it is absent, a link or not JSON."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def is_marked(path: str | os.PathLike, by: str) -> bool:
    """Whether ``path`` is a JSON file (not a link) whose ``written_by`` entry is ``by``."""
    document = _read_json(Path(path))
    return isinstance(document, dict) and document.get(MARK_KEY) == by


def mark_folder(folder: str | os.PathLike, by: str) -> Path:
    """Write the folder mark of ``by`` into ``folder`` (atomically); return its path."""
    from . import __version__

    document = {MARK_KEY: by, "version": __version__}
    return write_text_atomically(Path(folder) / FOLDER_MARK, json.dumps(document, indent=2) + "\n")


def is_folder_of(folder: str | os.PathLike, by: str) -> bool:
    """Whether ``folder`` (not a link) holds the folder mark of ``by``."""
    folder = Path(folder)
    return not folder.is_symlink() and is_marked(folder / FOLDER_MARK, by)


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            sha.update(block)
    return sha.hexdigest()


def _recorded(folder: Path) -> dict[str, Any]:
    """The entries of ``folder``'s file record (empty when it has none or it is damaged)."""
    document = _read_json(folder / FILE_RECORD)
    files = document.get("files") if isinstance(document, dict) else None
    return dict(files) if isinstance(files, dict) else {}


def in_record(path: str | os.PathLike) -> bool:
    """Whether the file record of ``path``'s folder lists its name (by any command): then
    the record alone says whose it is, and no rule for older outputs applies."""
    path = Path(path)
    return path.name in _recorded(path.parent)


def is_written_by(path: str | os.PathLike, by: str) -> bool:
    """Whether the file ``path`` is what the command ``by`` wrote there.

    True when the file record of its folder lists it as written by ``by`` with the
    content it has now, or when it is a ``.json`` file marked ``written_by: by`` itself.
    False for a link, a folder or an absent path.
    """
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        return False
    entry = _recorded(path.parent).get(path.name)
    if isinstance(entry, dict) and entry.get(MARK_KEY) == by:
        try:
            if entry.get("sha256") == _digest(path):
                return True
        except OSError:
            return False
    return path.suffix == ".json" and is_marked(path, by)


def record_written(paths: Iterable[str | os.PathLike], by: str) -> None:
    """Note the files ``paths``, just written by the command ``by``, in the file record
    of each one's folder (rewritten atomically). Hold the folder's lock when another
    process may write the same folder."""
    folders: dict[Path, list[Path]] = {}
    for path in map(Path, paths):
        folders.setdefault(path.parent, []).append(path)
    for folder, files in folders.items():
        entries = _recorded(folder)
        for path in files:
            entries[path.name] = {MARK_KEY: by, "sha256": _digest(path)}
        text = json.dumps({"files": entries}, indent=2, sort_keys=True) + "\n"
        write_text_atomically(folder / FILE_RECORD, text)


def check_output_folder(
    folder: str | os.PathLike,
    own: Collection[str] | None,
    what: str,
    is_ours: Callable[[Path], bool],
) -> None:
    """Refuse an output folder that holds anything the command would overwrite or did
    not write.

    A command that replaces fixed names (``report.md``, ``summary.json``, ...) in its
    output folder would overwrite a user's files of those names if pointed at the user's
    own folder. Allowed: an absent or empty folder, or one holding only hidden entries
    (locks, temporaries, marks) and entries named in ``own`` (an earlier or interrupted
    run of the command), of which the files must pass ``is_ours`` (typically
    :func:`is_written_by`); the caller checks what its sub-folders hold.

    Args:
        folder: the output folder.
        own: the names (files or folders) the command writes directly into it; None:
            any name (every file in it must then pass ``is_ours``).
        what: how to name the command's output in the message, e.g. ``"a comparison"``.
        is_ours: whether an existing file of one of those names is the command's own.

    Raises:
        NotADirectoryError: ``folder`` exists and is a file.
        ValueError: naming the folder and its first foreign entries.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"output {folder}: exists and is not a folder")
    if not folder.is_dir():
        return
    foreign = []
    for path in sorted(folder.iterdir()):
        if path.name[:1] == ".":
            continue
        if (own is not None and path.name not in own) or (
            (path.is_symlink() or not path.is_dir()) and not is_ours(path)
        ):
            foreign.append(path.name)
    if foreign:
        more = ", ..." if len(foreign) > 3 else ""
        raise ValueError(
            f"output {folder}: holds files {what} did not write ({', '.join(foreign[:3])}{more}); "
            "they could be overwritten. Choose a new or empty folder"
        )
