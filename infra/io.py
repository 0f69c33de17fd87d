"""Reading a user's file with limits, and writing outputs so that an error or Ctrl-C never leaves a half-written file, and an output never
replaces an input, a device or anything but a regular file.

What a path may be, checked before any work starts:
- a path that does not exist yet, in a writable directory (made, with its parents, when missing: every
  command treats ``-o new/folder/x.mp4`` alike);
- an existing regular file (replaced atomically when the work is done);
- a symbolic link to either of those: the link is followed and its target written, so the link stays;
- never a directory, device, FIFO or socket (``-o /dev/null`` would otherwise, as root, replace the
  system's /dev/null with a regular file), a link to one, or a file that is also an input of the command
  or another of its outputs.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from .errors import ConfigError

MAX_CONFIG_BYTES = 1_000_000  # a config, lecture or course file


class InputError(ConfigError):
    """A file that cannot be read as an input (not a regular file, too large, unreadable); one line."""


def read_input(path: str | Path, limit: int = MAX_CONFIG_BYTES, follow_links: bool = True) -> bytes:
    """The bytes of the user's file ``path``: every read of an input (and of a cache entry) goes through here.

    Only a regular file is read: a FIFO would block in open() until someone writes, /dev/zero never end.
    It is checked before it is opened, and opened without blocking and checked again (it may have been
    swapped meanwhile); at most ``limit`` bytes are read, so a file growing or lying about its size
    costs no more memory than one at the limit. ``follow_links`` False (a cache): a link is refused too."""
    path = Path(path)
    fd = open_regular(path, limit, follow_links)
    try:
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputError(f"{path}: the file is larger than {limit} bytes")
    return b"".join(chunks)


def open_regular(path: Path, limit: float = float("inf"), follow_links: bool = True) -> int:
    """A descriptor for reading ``path``, a regular file of at most ``limit`` bytes, or an InputError;
    never blocks (a FIFO) and, without ``follow_links``, never opens what a link points to."""
    try:
        _check_regular(path, os.stat(path) if follow_links else os.lstat(path), limit)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | (0 if follow_links else os.O_NOFOLLOW))
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    try:
        _check_regular(path, os.fstat(fd), limit)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_regular(path: Path, info: os.stat_result, limit: float) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = "a link" if stat.S_ISLNK(info.st_mode) else _kind(info.st_mode)
        raise InputError(f"{path}: {kind}" + ("" if kind == "not a regular file" else ", not a regular file"))
    if info.st_size > limit:
        raise InputError(f"{path}: the file is larger than {limit} bytes")


def _kind(mode: int) -> str:
    return ("a directory" if stat.S_ISDIR(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file")


class OutputError(OSError):
    """An output path that cannot be written; checked before any work starts."""


def check_output_path(path: str | Path, inputs=(), others=(), make_folders: bool = True) -> Path:
    """The file to write for ``path`` (a link's target), refused with an OutputError if it is not safe;
    its missing folders are made.

    ``inputs`` are the files the command reads and ``others`` its other outputs: none may be the same file.
    ``make_folders=False`` checks only what needs no writing (the kind of file, inputs, other outputs), for
    a command that may yet stop before its work (a course over its budget).
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    shown = f"{path} (a link to {target})" if target != path else str(path)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as e:
        raise OutputError(f"{shown}: cannot be written: {e.strerror}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OutputError(f"{shown}: is {_kind(info.st_mode)}; an output must be a regular file or a new path")
    for other in inputs:
        if _same(target, other):
            raise OutputError(f"{shown}: is the input {other}; writing it would destroy the input")
    for other in others:
        if _same(target, other):
            raise OutputError(f"{shown}: is also another output of this command ({other})")
    if not make_folders:
        return target
    parent = target.parent  # (a bare name's parent is Path("."))
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a file on the way (Not a directory), a read-only place
        raise OutputError(f"{shown}: cannot be written: {e.strerror}") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{shown}: directory {parent} is not writable")
    _probe_writable(target, parent, info is not None, shown)
    return target


def _same(a: Path, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: the same file only if the same path
        return os.path.realpath(a) == os.path.realpath(b)


def _probe_writable(target: Path, parent: Path, exists: bool, shown: str) -> None:
    """Fail now, not after minutes of work, where the write would fail: a read-only file system, an
    immutable file (root's os.access says yes to both)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
        if exists:  # opening for append changes nothing, but an immutable or read-only file refuses it
            os.close(os.open(target, os.O_WRONLY | os.O_APPEND))
    except OSError as e:
        raise OutputError(f"{shown}: cannot be written: {e.strerror}") from None


@contextlib.contextmanager
def atomic_path(path: str | Path, inputs=(), others=()):
    """Yield a temporary path beside ``path`` (a link's target); move it into place only if the block
    succeeds. A failure to write (a full disk) is an OutputError with one line."""
    path = check_output_path(path, inputs, others)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; an output is an ordinary file
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, OutputError) and e.errno in _WRITE_ERRORS \
                and e.filename in (None, tmp, str(path)):
            raise OutputError(f"{path}: cannot be written: {e.strerror}") from None
        raise


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EIO, errno.EPERM, errno.EACCES}


def write_text_atomic(path: str | Path, text: str, inputs=(), others=()) -> None:
    """Write text to ``path`` via a temporary file and a rename."""
    with atomic_path(path, inputs, others) as tmp:
        tmp.write_text(text, encoding="utf-8")
