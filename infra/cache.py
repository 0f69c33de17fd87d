"""Cache entries that are checked before use: a file and, beside it, the key it was made for and a
SHA-256 of its bytes.

A cache directory may be shared, restored from elsewhere or damaged, so an entry is used only when its
record matches both: otherwise it is a miss, deleted so that it is computed again, and said once on
stderr. An entry is published record first, then the file by an atomic rename, so another process
reading at the same moment sees a record without its file (a miss, nothing deleted) or both, never a
file that was not recorded.

An entry or a record that is not a regular file (a FIFO, a directory, a device, a link out of the cache)
is a bad entry like any other: it is found by lstat, never opened (a FIFO would block every render), and
removed. A record is a key (a file name, at most 255 bytes) and a digest: no more than that is read.
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from .errors import ConfigError
from .io import open_regular, read_input
from .places import CACHE_ENV, cache_root

CACHE = cache_root()  # every cache's root: the checkout's .cache, the user's cache folder when installed, or $CACHE_ENV
MAX_RECORD_BYTES = 512
PROBE_BYTES = 1 << 16  # written once into a cache folder: a full disk refuses it (an empty file may pass)
_warned: set[str] = set()
_usable: set[Path] = set()


class CacheDirError(ConfigError):
    """A cache folder that cannot be used (not a folder, not writable, full); one line naming its setting."""


def usable_cache() -> Path:
    """The cache folder, checked once before the first render or trace uses it: an unusable one (a file,
    /dev/null, read-only, full) is one line naming the setting (a CacheDirError), not a traceback later."""
    named = f"{CACHE_ENV}={CACHE}" if os.environ.get(CACHE_ENV) else f"the cache folder {CACHE} (set {CACHE_ENV} for another)"
    return usable_cache_dir(CACHE, named)


def usable_cache_dir(path: Path, named: str) -> Path:
    """``path``, made if need be and checked writable (once per process); a CacheDirError that names
    ``named`` (what chose the folder, e.g. BACKPROP_CACHE_DIR=...) says what is wrong otherwise."""
    path = Path(path)
    if path in _usable:
        return path
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as e:
        raise CacheDirError(f"{named}: cannot be used: {e.strerror}") from None
    if info is not None and not stat.S_ISDIR(info.st_mode):
        kind = ("a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "a FIFO"
                if stat.S_ISFIFO(info.st_mode) else "a file" if stat.S_ISREG(info.st_mode) else "not a folder")
        raise CacheDirError(f"{named}: is {kind}, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe.", suffix=".part", dir=path)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        raise CacheDirError(f"{named}: cannot write there: {e.strerror}") from None
    _usable.add(path)
    return path


def record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _digest(path: Path) -> str:
    """The SHA-256 of ``path``, a regular file (not a link): an InputError (a ValueError) otherwise."""
    h = hashlib.sha256()
    with os.fdopen(open_regular(path, follow_links=False), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def publish(tmp: Path, path: Path, key: str, replace: bool = True) -> bool:
    """Move the finished file ``tmp`` (in the same directory) to ``path`` as the entry for ``key``;
    with ``replace`` False, not over an entry already there (``tmp`` is then removed). True if published.

    Publishers hold the directory's lock from the record to the file: two processes publishing the same
    entry at once could otherwise leave one's record beside the other's file."""
    import fcntl

    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)  # the lock: the directory itself
    try:
        fcntl.flock(directory, fcntl.LOCK_EX)
        if not replace and path.exists():
            Path(tmp).unlink(missing_ok=True)
            return False
        for p in (path, record_path(path)):  # a rename replaces a file, a FIFO or a link, not a directory
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
        fd, record = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(f"{key} {_digest(tmp)}\n")
            os.replace(record, record_path(path))
        except BaseException:
            Path(record).unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
    finally:
        os.close(directory)  # and its lock
    return True


def write_entry(path: Path, data: bytes, key: str, replace: bool = True) -> None:
    """Write ``data`` as the entry for ``key`` at ``path`` (not over one there, with ``replace`` False)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as e:
        raise _unwritable(path, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        publish(Path(tmp), path, key, replace)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _unwritable(path, e) from None
        raise


def _unwritable(path: Path, e: OSError) -> OSError:
    """A cache that filled up or turned read-only while in use: one line, as an unusable one gets first."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST):
        return CacheDirError(f"the cache folder {path.parent}: cannot write there: {e.strerror}")
    return e


def verified(path: Path, key: str, what: str = "cache") -> bool:
    """True if ``path`` holds the entry made for ``key``, unchanged; a bad entry is removed."""
    record = record_path(path)
    try:
        os.lstat(path)
    except FileNotFoundError:
        return False  # not made yet, or being published right now
    except OSError:
        pass  # (a parent that is not a directory): bad
    try:
        text = read_input(record, MAX_RECORD_BYTES, follow_links=False).decode()
        made_for, digest = text.rstrip("\n").rsplit(" ", 1)  # a key may hold spaces
        ok = made_for == key and _digest(path) == digest
    except (OSError, ValueError):  # (InputError, UnicodeDecodeError are ValueErrors)
        ok = False
    if not ok:
        remove_entry(path)
        report_bad_entry(what, path.name)
    return ok


def remove_entry(path: Path) -> None:
    """Remove a cache entry and its record, whatever they are (a directory with what is in it, a FIFO or a
    link: never what a link points to)."""
    for p in (path, record_path(path)):
        try:
            if stat.S_ISDIR(os.lstat(p).st_mode):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        except OSError:
            pass


def report_bad_entry(what: str, name: str, remedy: str = "removed, computing it again") -> None:
    """Say once per cache and process that an entry did not verify and is being made again."""
    if what not in _warned:
        _warned.add(what)
        print(f"{what}: {name} did not verify; {remedy}", file=sys.stderr)
