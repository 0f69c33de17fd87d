"""Cache entries that are checked before use: a file and, beside it, the key it was made for and a
SHA-256 of its bytes.

A cache directory may be shared, restored from elsewhere or damaged, so an entry is used only when its
record matches both: otherwise it is a miss, deleted so that it is computed again, and said once on
stderr. An entry is published record first, then the file by an atomic rename, so another process
reading at the same moment sees a record without its file (a miss, nothing deleted) or both, never a
file that was not recorded.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

_warned: set[str] = set()


def record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
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
        fd, record = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            f.write(f"{key} {_digest(tmp)}\n")
        os.replace(record, record_path(path))
        os.replace(tmp, path)
    finally:
        os.close(directory)  # and its lock
    return True


def write_entry(path: Path, data: bytes, key: str, replace: bool = True) -> None:
    """Write ``data`` as the entry for ``key`` at ``path`` (not over one there, with ``replace`` False)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        publish(Path(tmp), path, key, replace)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def verified(path: Path, key: str, what: str = "cache") -> bool:
    """True if ``path`` holds the entry made for ``key``, unchanged; a bad entry is removed."""
    record = record_path(path)
    if not path.exists():
        return False  # not made yet, or being published right now
    try:
        made_for, digest = record.read_text().rstrip("\n").rsplit(" ", 1)  # a key may hold spaces
        ok = made_for == key and path.is_file() and _digest(path) == digest
    except (OSError, ValueError):
        ok = False
    if not ok:
        for p in (path, record):
            try:
                p.unlink()
            except OSError:
                pass
        report_bad_entry(what, path.name)
    return ok


def report_bad_entry(what: str, name: str, remedy: str = "removed, computing it again") -> None:
    """Say once per cache and process that an entry did not verify and is being made again."""
    if what not in _warned:
        _warned.add(what)
        print(f"{what}: {name} did not verify; {remedy}", file=sys.stderr)
