"""Outputs never destroy inputs, devices or anything but a regular file; a failed write is one line."""
import os
import stat
import subprocess
import sys

from pathlib import Path

import pytest

from render import CONFIG_DIR, ROOT
from helpers import run_cli

CHAIN = CONFIG_DIR / "chain_rule.yaml"


def run(*args):
    return run_cli(list(map(str, args)))


@pytest.fixture
def config(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_bytes(CHAIN.read_bytes())
    return p


def test_a_device_is_never_replaced(tmp_path, config):
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    dev = tmp_path / "null.png"
    os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    for cmd in (["trace", config, "-o", dev], ["render", config, "--still", "-o", dev]):
        r = run(*cmd)
        assert r.exit_code != 0 and "is a device" in r.output, r.output
        assert stat.S_ISCHR(os.stat(dev).st_mode)


def test_a_fifo_or_directory_is_refused(tmp_path, config):
    fifo = tmp_path / "f.json"
    os.mkfifo(fifo)
    r = run("trace", config, "-o", fifo)
    assert r.exit_code == 1 and "is a FIFO" in r.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_link_is_written_through_to_its_regular_file(tmp_path, config):
    target = tmp_path / "t.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert run("trace", config, "-o", link).exit_code == 0
    assert link.is_symlink() and target.read_text().startswith("{")


def test_a_link_to_a_device_is_refused(tmp_path, config):
    link = tmp_path / "out.json"
    link.symlink_to("/dev/null")
    r = run("trace", config, "-o", link)
    assert r.exit_code == 1 and "(a link to /dev/null): is a device" in r.output
    assert link.is_symlink()


@pytest.mark.parametrize("make_output", [lambda c: c, lambda c: _link(c)], ids=["same path", "link to it"])
def test_trace_never_overwrites_its_config(config, make_output):
    before = config.read_bytes()
    r = run("trace", config, "-o", make_output(config))
    assert r.exit_code == 1 and "writing it would destroy the input" in r.output
    assert config.read_bytes() == before


def _link(p):
    link = p.parent / "link.yaml"
    link.symlink_to(p)
    return link


def test_render_never_overwrites_its_config(config):
    before = config.read_bytes()
    # named .mp4 but the same file through a link: refused before any rendering
    link = config.parent / "clip.mp4"
    link.symlink_to(config)
    r = run("render", config, "-o", link)
    assert r.exit_code == 1 and "writing it would destroy the input" in r.output
    assert config.read_bytes() == before


def test_lecture_outputs_never_overwrite_inputs_or_each_other(tmp_path, config):
    lecture = tmp_path / "l.yaml"
    lecture.write_text("title: t\nclips:\n  - config: a.yaml\n")
    before = lecture.read_bytes()
    srt_link = tmp_path / "x.srt"
    srt_link.symlink_to(lecture)  # x.mp4's subtitles would land on the lecture file
    r = run("lecture", lecture, "-o", tmp_path / "x.mp4")
    assert r.exit_code == 1 and "x.srt (a link to" in r.output and "destroy the input" in r.output
    r = run("lecture", lecture, "-o", tmp_path / "x.srt")
    assert r.exit_code == 2 and "a lecture is an .mp4 or .webm" in r.output
    assert lecture.read_bytes() == before and not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("args,fragment", [
    (["--format", "gif", "-o", "x.mp4"], "x.mp4 is named as mp4 but the format asked for is gif"),
    (["--still", "-o", "x.mp4"], "x.mp4 is named as mp4 but the format asked for is png"),
    (["-o", "x.txt"], "unknown extension .txt"),
    (["--still", "--format", "webm"], "--still writes a PNG, not webm"),
])
def test_output_format_contradictions_are_refused(config, args, fragment):
    r = run("render", config, *args)
    assert r.exit_code == 2 and fragment in r.output


def test_format_is_inferred_from_the_extension(tmp_path, config):
    out = tmp_path / "frame.png"
    r = run("render", config, "--quality", "low", "--upto", "0", "-o", out)  # no --still, no --format: a PNG still
    assert r.exit_code == 0, r.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_path_under_a_file_is_refused_before_work(config):
    r = run("trace", config, "-o", config / "t.json")
    assert r.exit_code == 1 and "cannot be written: Not a directory" in r.output


def test_a_full_standard_output_is_one_line():
    p = subprocess.run([sys.executable, str(ROOT / "render.py"), "trace", str(CHAIN)],
                       stdout=open("/dev/full", "w"), stderr=subprocess.PIPE, text=True)
    assert p.returncode == 1
    assert p.stderr.strip().splitlines() == ["Error: cannot write the trace to standard output: No space left on device"]


def test_an_immutable_file_is_refused_before_the_work(tmp_path, config, monkeypatch):
    out = tmp_path / "t.json"
    out.write_text("previous")
    if subprocess.run(["chattr", "+i", str(out)], capture_output=True).returncode != 0:
        pytest.skip("this file system has no immutable flag")
    try:
        import engine.run
        monkeypatch.setattr(engine.run, "trace_config", lambda *a: pytest.fail("the work started"))
        r = run("trace", config, "-o", out)
        assert r.exit_code == 1 and r.output.strip() == f"Error: {out}: cannot be written: Operation not permitted"
        assert out.read_text() == "previous"
    finally:
        subprocess.run(["chattr", "-i", str(out)])


@pytest.mark.parametrize("output,fmt,still,chosen", [
    (None, None, False, "mp4"), (None, "webm", False, "webm"), (None, None, True, "png"), ("x.gif", None, False, "gif"),
    ("x.WEBM", None, False, "webm"), ("x.mov", "mov", False, "mov"), ("x.png", None, True, "png"),
    ("x.png", "png", False, "png")])
def test_the_output_format_chosen(output, fmt, still, chosen):
    from render import _output_format
    assert _output_format(output, fmt, still) == chosen


def test_write_text_atomic_refuses_its_inputs_and_other_outputs(tmp_path):
    from infra.io import OutputError, write_text_atomic

    source, other = tmp_path / "in.yaml", tmp_path / "b.srt"
    source.write_text("scene: graph\n")
    with pytest.raises(OutputError, match="input"):
        write_text_atomic(source, "x", inputs=[source])
    with pytest.raises(OutputError):
        write_text_atomic(other, "x", others=[other])
    assert source.read_text() == "scene: graph\n" and not other.exists()


def test_text_is_written_as_utf8_whatever_the_locale(tmp_path):
    # captions and subtitles hold −, ∂ and Hangul; under LC_ALL=C Python's default encoding is ASCII
    out = tmp_path / "t.srt"
    code = f"from infra.io import write_text_atomic; write_text_atomic({str(out)!r}, {ascii('∂L/∂x = −0.5 기울기')})"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().decode("utf-8") == "∂L/∂x = −0.5 기울기"


@pytest.mark.parametrize("args,message", [
    (["-o", "x.txt"], "Error: Invalid value for -o: x.txt: unknown extension .txt; use one of .mp4, .webm, .gif, "
                      ".mov, .png"),
    (["-o", "noext"], "Error: Invalid value for -o: noext: unknown extension (none); use one of .mp4, .webm, .gif, "
                      ".mov, .png"),
    (["--still", "--format", "gif"], "Error: Invalid value for --format: --still writes a PNG, not gif"),
    (["--format", "gif", "-o", "x.mp4"], "Error: Invalid value for -o: x.mp4 is named as mp4 but the format asked "
                                         "for is gif"),
])
def test_format_errors_name_the_option_and_the_fix(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run_cli(["render", str(CONFIG_DIR / "chain_rule.yaml"), *args])
    assert r.exit_code == 2 and r.output.strip().splitlines()[-1] == message
    assert list(tmp_path.iterdir()) == []


def test_an_upper_case_extension_and_no_output_pick_their_format():
    from render import _output_format
    assert _output_format("SLIDE.PNG", None, True) == "png"
    assert _output_format(None, None, False) == "mp4" and _output_format(None, None, True) == "png"
    assert _output_format(None, "webm", False) == "webm"


def test_an_output_that_is_the_input_is_refused_with_the_reason(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes((CONFIG_DIR / "chain_rule.yaml").read_bytes())
    before = cfg.read_bytes()
    r = run_cli(["trace", str(cfg), "-o", str(cfg)])
    assert r.exit_code == 1
    assert r.output.strip() == f"Error: {cfg}: is the input {cfg}; writing it would destroy the input"
    assert cfg.read_bytes() == before


def test_a_still_may_say_png_itself(tmp_path):
    from render import _output_format
    assert _output_format(str(tmp_path / "f.png"), "png", True) == "png"
    assert _output_format(None, "png", True) == "png"


def test_a_socket_is_refused_as_not_a_regular_file(tmp_path, config):
    import socket
    path = tmp_path / "s.json"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        r = run("trace", config, "-o", path)
        assert r.exit_code == 1 and f"{path}: is not a regular file" in r.output, r.output
        assert stat.S_ISSOCK(os.stat(path).st_mode)


def test_a_directory_that_refuses_new_files_is_probed_where_the_output_goes():
    # sysfs: root's os.access says writable, yet no file can be made there; the probe must be made in it
    import tempfile
    from infra.io import OutputError, check_output_path
    try:
        fd, probe = tempfile.mkstemp(dir="/sys")
    except OSError:
        pass
    else:  # pragma: no cover - a machine whose /sys takes files cannot show this
        os.close(fd)
        os.unlink(probe)
        pytest.skip("/sys accepts new files here")
    with pytest.raises(OutputError, match=r"^/sys/x\.json: (cannot be written|directory /sys is not writable)"):
        check_output_path("/sys/x.json")


TINY = "scene: graph\nexpression: x * 2\ninputs: {x: 3}\n"


@pytest.mark.parametrize("make", ["user folder", "input inside", "marked but foreign", "link", "file"])
def test_slides_never_remove_what_they_did_not_make_and_say_so_before_work(tmp_path, make):
    from pipeline.slides import PRESENT_MARKER

    config = tmp_path / "c.yaml"
    config.write_text(TINY)
    folder = tmp_path / "d_slides"
    if make == "link":
        (tmp_path / "elsewhere").mkdir()
        folder.symlink_to(tmp_path / "elsewhere")
        fragment = "is a link, not the slides folder"
    elif make == "file":
        folder.write_text("mine")
        fragment = "is a file, not the slides folder"
    else:
        folder.mkdir()
        (folder / "notes.txt").write_text("mine")
        fragment = "was not made by render.py slides"
        if make == "input inside":
            config = folder / "c.yaml"
            config.write_text(TINY)
            (folder / PRESENT_MARKER).write_text("")  # even a folder it made is kept when it holds an input
            fragment = f"holds the input {config}"
        elif make == "marked but foreign":
            (folder / PRESENT_MARKER).write_text("")
            fragment = "holds notes.txt, which render.py slides did not write"
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    r = run("slides", config, "-o", tmp_path / "d.html", "--quality", "low")
    assert r.exit_code == 1 and fragment in r.output and "it is left alone" in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1 and not (tmp_path / "d.html").exists()
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert folder.is_symlink() == (make == "link")


@pytest.mark.slow
def test_slides_write_a_link_s_target_and_replace_only_their_own_folder(tmp_path):
    from pipeline.slides import PRESENT_MARKER

    config = tmp_path / "c.yaml"
    config.write_text(TINY)
    target = tmp_path / "target.pptx"
    target.write_text("old")
    link = tmp_path / "d.pptx"
    link.symlink_to(target)
    for _ in range(2):  # the second time, over the folder the first one made
        r = run("slides", config, "-o", link, "--quality", "low")
        assert r.exit_code == 0, r.output
        assert link.is_symlink() and target.read_bytes()[:2] == b"PK"  # a PowerPoint file is a zip
        folder = tmp_path / "d_slides"
        assert (folder / PRESENT_MARKER).is_file() and (folder / "Backprop.json").is_file()
        umask = os.umask(0)
        os.umask(umask)
        assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~umask  # an ordinary folder, not a private one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "d.pptx", "d_slides", "target.pptx"]


@pytest.mark.parametrize("audio,output", [("o.mp4", "o.mp4"), ("o.webm", "o.webm"), ("o.srt", "o.mp4"),
                                          ("o.vtt", "o.webm"), ("voice.m4a", "link.mp4")])
def test_a_lecture_never_overwrites_its_recorded_voice(tmp_path, config, audio, output):
    voice = tmp_path / audio
    voice.write_bytes(b"recorded voice")
    if output == "link.mp4":
        (tmp_path / output).symlink_to(voice)
    lecture = tmp_path / "l.yaml"
    lecture.write_text(f"title: t\nclips:\n  - config: a.yaml\n    narration_audio: {audio}\n")
    r = run("lecture", lecture, "-o", tmp_path / output)
    assert r.exit_code == 1 and "writing it would destroy the input" in r.output and str(voice) in r.output, r.output
    assert voice.read_bytes() == b"recorded voice"


def test_a_course_never_overwrites_a_lecture_s_voice_or_config(tmp_path, config):
    (tmp_path / "l.yaml").write_text("title: t\nclips:\n  - config: a.yaml\n    narration_audio: {en: l/en.mp4}\n")
    (tmp_path / "l").mkdir()
    voice = tmp_path / "l" / "en.mp4"
    voice.write_bytes(b"recorded voice")
    (tmp_path / "c.yaml").write_text("title: c\nlectures: [l.yaml]\noutput: '{lecture}/{lang}.{format}'\n")
    r = run("course", tmp_path / "c.yaml", "-o", tmp_path)
    assert r.exit_code == 1 and "writing it would destroy the input" in r.output, r.output
    assert voice.read_bytes() == b"recorded voice"



def _another_name(way: str, target: Path, suffix: str) -> str:
    """An -o naming ``target`` without spelling it as the command line does (the command runs in its folder
    and is given its bare name)."""
    if way == "absolute":
        return str(target.resolve())
    if way == "through ..":
        return f"../{target.parent.name}/{target.name}"
    other = target.parent / f"other{suffix}"
    if way == "hard link":
        os.link(target, other)
    else:
        other.symlink_to(target)
    return other.name


# Only a trace may be named .yaml, as its input is: the other commands meet their input through a link
# named as their output is.
_ANOTHER_WAY = ([(["trace"], "c.yaml", ".json", way) for way in ("absolute", "through ..", "hard link", "symbolic link")]
                + [(command, source, suffix, way) for command, source, suffix in [
                    (["render"], "c.yaml", ".mp4"), (["render", "--still"], "c.yaml", ".png"),
                    (["lecture"], "l.yaml", ".mp4"), (["slides"], "c.yaml", ".pptx"), (["handout"], "l.yaml", ".pdf")]
                   for way in ("hard link", "symbolic link")])


@pytest.mark.parametrize("command,source,suffix,way", _ANOTHER_WAY, ids=[f"{' '.join(c)} {s}, {w}" for c, s, _, w in _ANOTHER_WAY])
def test_an_output_that_names_the_input_another_way_is_refused_in_one_line(tmp_path, monkeypatch, command,
                                                                             source, suffix, way):
    """The check compares files, not spellings: an -o that is the input by an absolute path, a path through
    its folder's parent, a hard link or a symbolic link is refused before any work, in one line, and the
    input keeps its bytes (and stays the same regular file, not replaced by a new one)."""
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "c.yaml").write_bytes(CHAIN.read_bytes())
    (folder / "l.yaml").write_text("title: T\nclips:\n  - config: c.yaml\n")
    given = folder / source
    before, inode = given.read_bytes(), given.stat().st_ino
    monkeypatch.chdir(folder)
    output = _another_name(way, given, suffix)
    r = run_cli([*command, source, "-o", output])
    assert r.exit_code == 1, r.output
    assert r.output.count("\n") == 1 and r.output.startswith("Error: ") and "destroy the input" in r.output, r.output
    assert given.read_bytes() == before and given.stat().st_ino == inode and not given.is_symlink()
    assert sorted(p.name for p in folder.iterdir()) == sorted({"c.yaml", "l.yaml", output.rsplit("/", 1)[-1]})


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_an_output_is_an_ordinary_file_its_owner_can_read_as_the_umask_says(tmp_path, umask, mode):
    from infra.io import atomic_path

    before = os.umask(umask)
    try:
        with atomic_path(tmp_path / "clip.mp4") as tmp:
            tmp.write_bytes(b"frames")
    finally:
        os.umask(before)
    assert stat.S_IMODE((tmp_path / "clip.mp4").stat().st_mode) == mode


def test_checking_an_output_without_making_folders_makes_none(tmp_path):
    from infra.io import check_output_path
    out = tmp_path / "a" / "b" / "clip.mp4"
    assert check_output_path(out, make_folders=False) == out and not (tmp_path / "a").exists()
    assert check_output_path(out) == out and (tmp_path / "a" / "b").is_dir()  # made when asked


@pytest.mark.parametrize("relation,said", [
    ("input", "is the input"), ("input spelled another way", "is the input"),
    ("other output", "is also another output of this command"), ("unrelated", None),
    ("other output not made yet, spelled another way", "is also another output of this command"),
])
def test_an_output_may_be_neither_an_input_nor_another_output_however_it_is_named(tmp_path, relation, said):
    from infra.io import OutputError, check_output_path
    out = tmp_path / "x.yaml"
    if "not made yet" not in relation:
        out.write_text("a: 1\n")
    other = {"input": out, "input spelled another way": tmp_path / "d" / ".." / "x.yaml",
             "other output": out, "unrelated": tmp_path / "y.yaml"}.get(relation, tmp_path / "d" / ".." / "x.yaml")
    (tmp_path / "d").mkdir()
    inputs, others = ((other,), ()) if relation.startswith("input") or relation == "unrelated" else ((), (other,))
    if said is None:
        assert check_output_path(out, inputs, others) == out
        return
    with pytest.raises(OutputError, match=said):
        check_output_path(out, inputs, others)


@pytest.mark.parametrize("error,errno_,filename,one_line", [
    ("full disk", 28, None, True),  # ENOSPC, EDQUOT, EROFS ... on the file being written: one line
    ("quota", 122, None, True), ("read-only", 30, None, True),
    ("full disk on another file", 28, "/elsewhere/file", False),  # not this output's problem: as it is
    ("missing", 2, None, False),  # ENOENT is no write error: a bug, shown as it is
])
def test_a_failed_write_is_one_line_only_for_a_write_error_of_this_output_and_leaves_nothing(tmp_path, error,
                                                                                              errno_, filename, one_line):
    from infra.io import OutputError, atomic_path
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"old")
    with pytest.raises(OSError) as e:
        with atomic_path(out) as tmp:
            tmp.write_bytes(b"new, half written")
            raise OSError(errno_, os.strerror(errno_), filename)
    assert isinstance(e.value, OutputError) == one_line
    if one_line:
        assert str(e.value) == f"{out}: cannot be written: {os.strerror(errno_)}"
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
