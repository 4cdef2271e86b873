"""Atomic file writing: a file is either complete or absent, never half-written.

Every writer of the package (checkpoints, CSV/JSON, figures, NIfTI and PNG labels,
reports) goes through :func:`atomic_path`. The temporary file lives beside the target,
is named ``.NAME.tmp-XXXX<suffix>`` (so that a process killed mid-write leaves a hidden
file that :func:`remove_temporaries` recognises), and gets the permissions a plain
``open()`` would give (``0o666`` minus the umask), not ``mkstemp``'s private ``0o600``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

#: Marker in the name of a temporary file written by :func:`atomic_path`.
TEMP_MARKER = ".tmp-"


def current_umask() -> int:
    """The process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def final_suffix(path: str | os.PathLike) -> str:
    """The suffix a library picks the format from: ``".nii.gz"`` or the last one."""
    path = Path(path)
    return ".nii.gz" if path.name.endswith(".nii.gz") else path.suffix


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary name keeps the final suffix (e.g. ``.nii.gz``) so libraries that pick
    the format from the name write the right one. On error the temporary is removed and
    ``path`` is left as it was. The written file has mode ``0o666 & ~umask``.

    Raises:
        OSError: as the writer raised it; one that names no file (a full disk:
            ``ENOSPC``, a file-size limit: ``EFBIG``, raised by ``write``) is raised
            again naming ``path``, so its one-line message says which file failed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}{TEMP_MARKER}", suffix=final_suffix(path)
    )
    os.close(handle)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        yield Path(tmp)
        with open(tmp, "rb+") as handle:  # on disk before it replaces the old file
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        named = naming(error, path) if isinstance(error, OSError) else error
        if named is not error:
            raise named from error
        raise


def naming(error: OSError, path: str | os.PathLike) -> OSError:
    """``error``, or the same error naming ``path`` when it names no file.

    A failed ``write`` (``ENOSPC``, ``EFBIG``) raises an ``OSError`` without a file name;
    the one-line message should say which file could not be written.
    """
    if error.filename is not None or error.errno is None:
        return error
    return OSError(error.errno, error.strerror or os.strerror(error.errno), str(path))


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (JSON, CSV, Markdown, YAML) through a temporary file and a rename.

    Returns:
        The path written.
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def write_texts_atomically(texts: Mapping[str | os.PathLike, str]) -> list[Path]:
    """Write several text files as one set: all are replaced, or none is.

    Each file is written to its own temporary beside it (:func:`atomic_path`); the
    renames start only once every temporary is written and on disk, in the order of
    ``texts``. A failure while writing (a full disk, a size limit) leaves every target
    as it was. The renames themselves cannot fail for lack of space; a process killed
    between two of them leaves the first renamed, so a reader that must know the files
    belong together records a checksum of one in the other (see
    :mod:`boundaryloss.evaluation.result_files`).

    Args:
        texts: path -> the file's text (UTF-8, newlines as given).

    Returns:
        The paths written, in the order of ``texts``.

    Raises:
        OSError: naming the file that could not be written.
    """
    paths = [Path(p) for p in texts]
    with contextlib.ExitStack() as stack:
        # Entered last, renamed first: the exit stack unwinds in reverse.
        temporaries = {p: stack.enter_context(atomic_path(p)) for p in reversed(paths)}
        for path, text in zip(paths, texts.values(), strict=True):
            try:
                with open(temporaries[path], "w", newline="", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError as error:  # named here: every atomic_path above would match
                raise naming(error, path) from error
    return paths


def check_writable(folder: str | os.PathLike) -> None:
    """Check that files can be created in ``folder`` (created if absent), before any work.

    A command that writes its results at the end checks this first, so an unwritable
    output fails in a second, not after hours of work. The check creates and removes a
    hidden temporary file, and removes again the folders it had to create: it leaves
    the file system as it was.

    Raises:
        OSError: naming the folder (or the first parent that could not be created).
        NotADirectoryError: ``folder`` or one of its parents is a file.
    """
    folder = Path(folder)
    created = []
    for parent in reversed([folder, *folder.parents]):
        if not parent.exists():
            parent.mkdir()
            created.append(parent)
    try:
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder}: exists and is not a folder")
        try:
            handle, probe = tempfile.mkstemp(dir=folder, prefix=f".write-check{TEMP_MARKER}")
        except OSError as error:  # it names the random probe; the folder is what matters
            raise OSError(error.errno, error.strerror, str(folder)) from None
        os.close(handle)
        os.unlink(probe)
    finally:
        for parent in reversed(created):
            with contextlib.suppress(OSError):
                parent.rmdir()


def is_temporary(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a temporary file left by :func:`atomic_path`."""
    name = Path(path).name
    return name.startswith(".") and TEMP_MARKER in name


def remove_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed writer left directly in ``folder``.

    Call it only while holding the folder's lock (no live writer can own them).

    Returns:
        The removed paths (none when ``folder`` does not exist).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for path in folder.iterdir():
        if path.is_file() and is_temporary(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed
