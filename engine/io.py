"""Writing outputs so that an error or Ctrl-C never leaves a half-written file, and an output never
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
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode)
                or stat.S_ISBLK(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode) else "not a regular file")
        raise OutputError(f"{shown}: is {kind}; an output must be a regular file or a new path")
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
