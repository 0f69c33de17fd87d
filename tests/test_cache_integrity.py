"""Every cache verifies what it reads back: a truncated, garbage, swapped or wrongly keyed entry is a
miss, removed and computed again (said once on stderr), never drawn and never a lasting failure."""
import json
from pathlib import Path
import shutil
import subprocess
import sys

import av
import numpy as np
import pytest

from infra.cache import record_path, verified, write_entry
from render import CONFIG_DIR, ROOT
from engine import source
from helpers import run_cli


def truncate(path, other):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garbage(path, other):
    path.write_bytes(b"\x00garbage" * 100)


def swap(path, other):
    shutil.copyfile(other, path)  # another entry's content under this name


def wrong_key(path, other):
    record = record_path(path)
    made_for, digest = record.read_text().split()
    record.write_text(f"{made_for[::-1]} {digest}\n")


def edit_value(path, other):  # the attack of issue 16: a cached trace edited to show 777
    path.write_text(path.read_text().replace('"value": -2.0', '"value": 777.0', 1))


DAMAGES = [truncate, garbage, swap, wrong_key, edit_value]


@pytest.mark.parametrize("damage", DAMAGES)
def test_the_trace_cache_recomputes_a_bad_entry(tmp_path, monkeypatch, capsys, damage):
    monkeypatch.setattr(source, "CACHE", tmp_path / "traces")
    monkeypatch.setattr("infra.cache._warned", set())  # it says so once per process
    good = source.trace_path_for(CONFIG_DIR / "chain_rule.yaml")
    truth = good.read_text()
    other = source.trace_path_for(CONFIG_DIR / "gates.yaml")
    damage(good, other)
    again = source.trace_path_for(CONFIG_DIR / "chain_rule.yaml")
    assert again == good and again.read_text() == truth
    assert json.loads(truth)["nodes"][0]["value"] == -2.0
    assert "trace cache: " in capsys.readouterr().err


def test_an_entry_without_its_record_is_not_trusted(tmp_path, capsys):
    entry = tmp_path / "e.bin"
    write_entry(entry, b"data", "e")
    assert verified(entry, "e")
    record_path(entry).unlink()
    assert not verified(entry, "e") and not entry.exists()
    write_entry(entry, b"data", "e")
    entry.unlink()  # being published right now: a miss, the record is left for its writer
    assert not verified(entry, "e") and record_path(entry).exists()


def still(tmp_path, cache, name):
    out = tmp_path / f"{name}.png"
    p = subprocess.run([sys.executable, str(ROOT / "render.py"), "render", str(CONFIG_DIR / "chain_rule.yaml"),
                        "--still", "--quality", "low", "-o", str(out)], capture_output=True, text=True,
                       env={**__import__("os").environ, "BACKPROP_CACHE_DIR": str(cache)})
    assert p.returncode == 0, p.stderr[-2000:]
    return out, p.stderr


@pytest.fixture(scope="module")
def rendered_once(tmp_path_factory):
    """A render's caches and its still, made once; each test damages a copy."""
    base = tmp_path_factory.mktemp("base")
    first, _ = still(base, base / "cache", "first")
    return base / "cache", first


@pytest.mark.slow
@pytest.mark.parametrize("damage", [truncate, garbage, swap, wrong_key], ids=lambda d: d.__name__)
def test_tex_text_and_glyph_caches_heal(tmp_path, rendered_once, damage):
    from PIL import Image
    cache = tmp_path / "cache"
    shutil.copytree(rendered_once[0], cache)
    for name in ("tex", "text"):
        files = sorted((cache / name).glob("*.svg"))
        assert len(files) >= 2
        damage(files[0], files[1])  # swapped: LaTeX's outputs exchanged, the labels would be on screen
    for f in (cache / "svg").glob("*.npz"):
        garbage(f, None)
    shutil.rmtree(cache / "traces")
    second, err = still(tmp_path, cache, "second")
    assert "tex cache: " in err and "text cache: " in err and "glyph cache: " in err
    assert np.array_equal(np.asarray(Image.open(rendered_once[1])), np.asarray(Image.open(second)))


@pytest.mark.slow
def test_the_clip_cache_heals(tmp_path, monkeypatch):
    from pipeline import lecture as lecture_mod
    from helpers import InlinePool
    monkeypatch.setattr(lecture_mod, "CLIP_CACHE", tmp_path / "clips")
    # the clips rendered here, not each time in a fresh worker process importing Manim (the cache is checked
    # by the lecture itself, before any clip is rendered)
    monkeypatch.setattr(lecture_mod, "ProcessPoolExecutor", InlinePool)
    shutil.copy(CONFIG_DIR / "chain_rule.yaml", tmp_path / "chain_rule.yaml")
    lec = tmp_path / "l.yaml"
    lec.write_text("title: T\nclips:\n  - config: chain_rule.yaml\n")

    def lecture(name):
        r = run_cli(["lecture", str(lec), "--quality", "low", "-j", "1", "-o", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        with av.open(str(tmp_path / name)) as f:
            return sum(1 for _ in f.decode(video=0)), [c["metadata"]["title"] for c in f.chapters()]

    first = lecture("a.mp4")
    clips = sorted((tmp_path / "clips").glob("*.mp4"), key=lambda p: p.stat().st_size)
    assert len(clips) == 3  # the lecture's title card, the chapter's card, the scene
    title, scene = clips[0], clips[-1]
    for damage in (swap, truncate, garbage, wrong_key):  # the title card's clip where the scene's should be...
        damage(scene, title)
        assert lecture(f"{damage.__name__}.mp4") == first, damage.__name__


def test_entries_are_published_record_first_under_hidden_temporary_names(tmp_path, monkeypatch):
    import os

    from infra import cache

    moves = []
    real_replace = os.replace
    monkeypatch.setattr(cache.os, "replace", lambda a, b: (moves.append((Path(a).name, Path(b).name)), real_replace(a, b)))
    cache.write_entry(tmp_path / "sub" / "e.svg", b"<svg/>", "key 1")
    # a reader listing the folder skips dot files: it never sees a half-written entry or record
    (record_tmp, record), (entry_tmp, entry) = moves
    assert record == "e.svg.sha256" and entry == "e.svg"
    for name in (record_tmp, entry_tmp):
        assert name.startswith(".e.svg.") and name.endswith(".part")
    assert (tmp_path / "sub" / "e.svg.sha256").read_text() == \
        "key 1 " + __import__("hashlib").sha256(b"<svg/>").hexdigest() + "\n"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["e.svg", "e.svg.sha256"]
    assert cache.verified(tmp_path / "sub" / "e.svg", "key 1")


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    from infra import cache

    def broken(*a):
        raise OSError("disk full")
    monkeypatch.setattr(cache, "publish", broken)
    with pytest.raises(OSError):
        cache.write_entry(tmp_path / "e.npz", b"data", "k")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_entry_is_named_once_per_cache(tmp_path, capsys, monkeypatch):
    from infra import cache

    monkeypatch.setattr(cache, "_warned", set())
    for name in ("a.svg", "b.svg"):
        cache.write_entry(tmp_path / name, b"x", "right key")
        assert cache.verified(tmp_path / name, "wrong key", "tex cache") is False
        assert not (tmp_path / name).exists() and not (tmp_path / f"{name}.sha256").exists()
    assert capsys.readouterr().err == "tex cache: a.svg did not verify; removed, computing it again\n"


@pytest.fixture
def no_hang():
    """A read that blocks (open() on a FIFO nobody writes) fails the test after 10 s instead of hanging it."""
    import signal

    class Blocked(Exception):  # not an OSError, which the cache would take for a bad entry
        pass

    def timeout(signum, frame):
        raise Blocked("blocked reading the cache")
    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def fifo(path, outside):
    path.unlink()
    __import__("os").mkfifo(path)


def directory(path, outside):
    path.unlink()
    (path / "inside").mkdir(parents=True)
    (path / "inside" / "f").write_text("x")


def link_out(path, outside):  # the entry or record, genuine, moved out of the cache and linked to
    shutil.move(path, outside)
    path.symlink_to(outside)


@pytest.mark.parametrize("damage", [fifo, directory, link_out])
@pytest.mark.parametrize("which", ["entry", "record"])
def test_an_entry_or_record_that_is_not_a_regular_file_is_removed_unopened(tmp_path, monkeypatch, capsys, no_hang,
                                                                             damage, which):
    monkeypatch.setattr(source, "CACHE", tmp_path / "traces")
    monkeypatch.setattr("infra.cache._warned", set())
    good = source.trace_path_for(CONFIG_DIR / "chain_rule.yaml")
    truth = good.read_text()
    outside = tmp_path / "outside"
    damage(good if which == "entry" else record_path(good), outside)
    again = source.trace_path_for(CONFIG_DIR / "chain_rule.yaml")  # a FIFO opened would block here
    assert again == good and again.read_text() == truth and not again.is_symlink()
    assert "trace cache: " in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "traces").iterdir()) == [good.name, record_path(good).name]  # no .part
    if damage is link_out:
        assert outside.exists()  # a link is removed, never what it points to


def test_a_huge_sparse_record_is_not_read_whole(tmp_path):
    import tracemalloc
    entry = tmp_path / "e.json"
    write_entry(entry, b"data", "e")
    with open(record_path(entry), "r+b") as f:
        f.truncate(300 << 20)  # sparse: 300 MB that take no disk
    tracemalloc.start()
    try:
        assert not verified(entry, "e")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20 and not record_path(entry).exists() and not entry.exists()


@pytest.mark.parametrize("damage", [fifo, directory])
def test_a_glyph_entry_that_is_not_a_regular_file_is_a_miss_and_removed(tmp_path, monkeypatch, no_hang, damage):
    from manim_patches import svg_cache
    monkeypatch.setattr(svg_cache, "_memory", {})
    entry = tmp_path / "k.npz"
    entry.write_bytes(b"x")
    damage(entry, None)
    assert svg_cache._load("k", tmp_path) is None
    assert not __import__("os").path.lexists(entry)
    svg_cache._store("k", tmp_path, svg_cache.encode("k", [], {}))  # made again in its place, nothing else left
    assert [p.name for p in tmp_path.iterdir()] == ["k.npz"] and svg_cache._load("k", tmp_path) is not None


@pytest.fixture
def immutable(tmp_path):
    """A folder nobody may write in, root included (chattr +i), taken back afterwards."""
    folder = tmp_path / "immutable"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    yield folder
    subprocess.run(["chattr", "-i", str(folder)])


@pytest.mark.parametrize("where,wrong", [("file", "is a file, not a folder"), ("/dev/null", "is a device, not a folder"),
                                         ("immutable", "cannot write there: Operation not permitted")])
def test_an_unusable_cache_folder_is_one_line_naming_the_variable(tmp_path, request, where, wrong):
    if where == "file":
        where = tmp_path / "file"
        where.write_text("mine")
    elif where == "immutable":
        where = request.getfixturevalue("immutable")
    r = subprocess.run([sys.executable, str(ROOT / "render.py"), "render", str(CONFIG_DIR / "chain_rule.yaml"),
                        "--still", "--quality", "low", "-o", str(tmp_path / "x.png")], capture_output=True, text=True,
                       timeout=120, env={**__import__("os").environ, "BACKPROP_CACHE_DIR": str(where)})
    assert r.returncode == 1 and r.stderr == f"Error: BACKPROP_CACHE_DIR={where}: {wrong}\n", r.stderr
    assert not (tmp_path / "x.png").exists()
    if where == tmp_path / "file":
        assert where.read_text() == "mine"


def test_a_full_cache_folder_is_one_line_before_and_while_it_is_used(tmp_path, monkeypatch):
    import errno
    import os

    from infra import cache

    real_write = os.write

    def full(fd, data):  # as a full disk does: no byte more, though an empty write succeeds
        if data:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)
    monkeypatch.setattr(cache.os, "write", full)
    with pytest.raises(cache.CacheDirError, match=r"^BACKPROP_CACHE_DIR=x: cannot write there: No space left on device$"):
        cache.usable_cache_dir(tmp_path / "c", "BACKPROP_CACHE_DIR=x")
    monkeypatch.undo()
    assert cache.usable_cache_dir(tmp_path / "c", "BACKPROP_CACHE_DIR=x") == tmp_path / "c"
    assert list((tmp_path / "c").iterdir()) == []  # the probe is gone
    # filled up later, while a render writes an entry: the same one line, nothing half-written left
    monkeypatch.setattr(cache, "_digest", lambda path: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(cache.CacheDirError, match="cache folder .*/c: cannot write there: No space left on device"):
        cache.write_entry(tmp_path / "c" / "e.json", b"data", "e")
    assert list((tmp_path / "c").iterdir()) == []


@pytest.mark.parametrize("record,key,ok", [
    ("k {digest}\n", "k", True), ("k {digest}", "k", True),  # the newline is optional
    ("a key with spaces {digest}\n", "a key with spaces", True),  # only the last space separates the digest
    ("k {digest}\n", "other", False), ("k 0{digest}\n", "k", False), ("{digest}\n", "k", False),
    ("", "k", False), (None, "k", False),  # no record: not trusted
])
def test_an_entry_verifies_only_with_its_own_key_and_digest_in_its_record(tmp_path, capsys, record, key, ok):
    import hashlib
    entry = tmp_path / "e.bin"
    entry.write_bytes(b"payload")
    if record is not None:
        record_path(entry).write_text(record.format(digest=hashlib.sha256(b"payload").hexdigest()))
    assert verified(entry, key, what=f"cache-{record}-{key}") == ok
    assert entry.exists() == ok and record_path(entry).exists() == ok  # a bad entry is removed with its record
    assert ("did not verify" in capsys.readouterr().err) == (not ok)


def test_a_missing_entry_is_a_quiet_miss(tmp_path, capsys):
    assert not verified(tmp_path / "none", "k", what="quiet-miss") and capsys.readouterr().err == ""


def test_an_entry_is_not_replaced_when_asked_not_to_and_replaced_otherwise(tmp_path):
    entry = tmp_path / "sub" / "e.bin"  # its folder made on the way
    write_entry(entry, b"first", "k")
    write_entry(entry, b"second", "k", replace=False)
    assert entry.read_bytes() == b"first" and verified(entry, "k")
    write_entry(entry, b"third", "k2")
    assert entry.read_bytes() == b"third" and verified(entry, "k2")
    assert sorted(p.name for p in entry.parent.iterdir()) == ["e.bin", "e.bin.sha256"]  # no temporary left


@pytest.mark.parametrize("errno_name,one_line", [("ENOSPC", True), ("EDQUOT", True), ("EROFS", True), ("EACCES", True),
                                                 ("EPERM", True), ("ENOTDIR", True), ("EEXIST", True),
                                                 ("ENOENT", False), ("EIO", False)])
def test_a_cache_that_fills_up_or_turns_read_only_while_in_use_is_one_line(tmp_path, errno_name, one_line):
    import errno
    import os
    from infra.cache import CacheDirError, _unwritable
    e = OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))
    made = _unwritable(tmp_path / "c" / "e.bin", e)
    assert isinstance(made, CacheDirError) == one_line
    if one_line:
        assert str(made) == f"the cache folder {tmp_path / 'c'}: cannot write there: {e.strerror}"
    else:
        assert made is e


@pytest.mark.parametrize("kind,said", [("file", "is a file, not a folder"), ("fifo", "is a FIFO, not a folder"),
                                       ("device", "is a device, not a folder"), ("missing", None), ("folder", None)])
def test_a_cache_folder_must_be_a_folder_and_a_missing_one_is_made(tmp_path, kind, said):
    import os
    from infra.cache import CacheDirError, usable_cache_dir
    path = tmp_path / "cache"
    if kind == "file":
        path.write_text("")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path = Path("/dev/null")
    elif kind == "folder":
        path.mkdir()
    if said is None:
        assert usable_cache_dir(path, "X=y") == path and path.is_dir() and list(path.iterdir()) == []
    else:
        with pytest.raises(CacheDirError) as e:
            usable_cache_dir(path, "X=y")
        assert str(e.value) == f"X=y: {said}"
