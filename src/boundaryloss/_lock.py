"""Exclusive locks on a directory that is being written (a run, a comparison).

A lock is the OS advisory lock (``fcntl.flock``) of a small file beside the directory,
``.NAME.lock``, holding the pid and host of its owner. The OS releases it when the
owner exits, however it exits, so a killed process never leaves a lock that blocks the
next one; a second live process gets :class:`LockHeldError` naming the holder. On a
file system without advisory locks (some network mounts) the lock is not taken.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
from pathlib import Path
from types import TracebackType

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, no protection
    fcntl = None  # type: ignore[assignment]


class LockHeldError(RuntimeError):
    """Another live process holds the lock (the message names its pid and host)."""


def lock_path(directory: str | os.PathLike) -> Path:
    """The lock file of ``directory``: ``.NAME.lock`` beside it."""
    directory = Path(directory)
    return directory.parent / f".{directory.name}.lock"


class DirectoryLock:
    """Hold the exclusive lock of ``directory`` (as a context manager, or acquire/release).

    Creates the parent folder if needed (and removes it again on release if it created
    it and it is empty). The lock file is removed on release.

    Args:
        directory: the directory to protect (it need not exist yet).
        what: how to name it in the error, e.g. ``"run directory"``.

    Raises:
        LockHeldError: on ``acquire`` when another live process holds it.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        what: str = "directory",
        path: str | os.PathLike | None = None,
    ) -> None:
        self.directory = Path(directory)
        #: the lock file: ``.NAME.lock`` beside the directory unless ``path`` is given
        #: (e.g. a hidden file inside a folder the caller writes anyway)
        self.path = lock_path(self.directory) if path is None else Path(path)
        self.what = what
        self._handle: int | None = None
        self._created_parents: list[Path] = []

    def _make_parents(self) -> None:
        missing = []
        parent = self.path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._created_parents = missing

    def acquire(self) -> DirectoryLock:
        if fcntl is None:  # pragma: no cover
            return self
        self._make_parents()
        while True:
            handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    # A file system without advisory locks (some network mounts):
                    # work unprotected rather than not at all.
                    os.close(handle)
                    with contextlib.suppress(OSError):
                        self.path.unlink()
                    return self
                holder = _read_holder(handle)
                os.close(handle)
                self._remove_created_parents()
                raise LockHeldError(
                    f"{self.what} {self.directory} is in use by {holder} (lock {self.path})"
                ) from None
            # The previous holder may have removed the file between our open and flock:
            # then we locked an orphan and must retry on the file now at the path.
            try:
                same = os.path.samestat(os.fstat(handle), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(handle)
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # before unlocking, so no one locks an orphan for long
        os.close(self._handle)  # closing releases the lock
        self._handle = None
        self._remove_created_parents()

    def _remove_created_parents(self) -> None:
        for parent in self._created_parents:
            with contextlib.suppress(OSError):  # not empty: someone wrote there
                parent.rmdir()
        self._created_parents = []

    def __enter__(self) -> DirectoryLock:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(handle: int) -> str:
    try:
        text = os.pread(handle, 200, 0).decode(errors="replace").split()
    except OSError:
        text = []
    if len(text) >= 2:
        return f"process {text[0]} on {text[1]}"
    return "another process"
