"""Limits that hold: inputs that never end or never arrive, training too long to wait for, traces too big."""
import os
import time

import pytest

from engine.config import ConfigError, load_config, parse_config
from engine.run import trace_config
from engine.training import check_budget, TooLong
from helpers import run_cli


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_only_regular_files_are_read(tmp_path, special):
    path = special
    if special == "fifo":
        path = tmp_path / "c.yaml"
        os.mkfifo(path)  # opening it would block forever: nobody writes
    start = time.monotonic()
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "not a regular file" in str(e.value) and time.monotonic() - start < 1


def _limited_memory():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a runaway read fails, not the machine


@pytest.mark.parametrize("command", ["render", "info", "trace", "audit", "narrate"])
@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_every_command_refuses_a_fifo_or_device_before_reading_it(tmp_path, special, command):
    """... and before it imports Manim: a refusal takes a fraction of a second, not the half second of that import."""
    import subprocess
    import sys

    from render import ROOT
    path = special
    if special == "fifo":
        path = tmp_path / "f.yaml"
        os.mkfifo(path)
    args = [command, str(path)] + (["-o", str(tmp_path / "o.mp4")] if command == "render" else [])
    # render.py as `python render.py ARGS` runs it, then whether Manim was imported on the way
    code = (f"import runpy, sys\nsys.argv = {['render.py', *args]!r}\n"
            f"try:\n    runpy.run_path({str(ROOT / 'render.py')!r}, run_name='__main__')\n"
            "finally:\n    print('manim' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       preexec_fn=_limited_memory, env={**os.environ, "BACKPROP_CACHE_DIR": str(tmp_path / "cache")})
    assert r.returncode == 1 and r.stderr.strip() == f"Error: {path}: {'a device' if special == '/dev/zero' else 'a FIFO'}, not a regular file", r.stderr
    assert r.stdout.split() == ["False"]
    assert not (tmp_path / "o.mp4").exists()


def test_the_input_reader_reads_no_more_than_its_limit(tmp_path, monkeypatch):
    from infra import io
    big = tmp_path / "big.yaml"
    big.write_bytes(b"x" * 5000)
    with pytest.raises(ConfigError, match="big.yaml: the file is larger than 1000 bytes"):
        io.read_input(big, 1000)
    # a file that grows after it was checked (st_size said small) is still read only to the limit
    reads = []
    real_read = os.read
    monkeypatch.setattr(io.os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    monkeypatch.setattr(io, "_check_regular", lambda path, info, limit: None)
    with pytest.raises(ConfigError, match="larger than 1000 bytes"):
        io.read_input(big, 1000)
    assert sum(reads) <= 1001
    assert io.read_input(big, 5000) == b"x" * 5000


def test_a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(tmp_path):
    from infra import io
    edge = tmp_path / "edge.yaml"
    edge.write_bytes(b"x" * 1000)
    assert io.read_input(edge, 1000) == b"x" * 1000  # "at most limit bytes": the limit itself is allowed
    edge.write_bytes(b"x" * 1001)
    with pytest.raises(ConfigError, match="edge.yaml: the file is larger than 1000 bytes"):
        io.read_input(edge, 1000)


def test_a_lecture_file_has_the_same_size_limit(tmp_path):
    lec = tmp_path / "l.yaml"
    lec.write_text("title: T\nclips:\n  - config: c.yaml\n    narration: " + "x" * 1_100_000 + "\n")
    r = run_cli(["lecture", str(lec), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code == 1 and "larger than 1000000 bytes" in r.output


def test_training_past_the_budget_is_refused_with_an_estimate(tmp_path):
    cfg = tmp_path / "huge.yaml"
    cfg.write_text("scene: vanishing\ndataset: circles\ndepth: 50\nwidth: 256\nsteps: 200000\n")
    start = time.monotonic()
    r = run_cli(["trace", str(cfg)])
    assert r.exit_code == 1 and time.monotonic() - start < 5
    assert "training would take about" in r.output and "hours" in r.output and "--allow-long" in r.output
    check_budget(load_config(cfg), allow_long=True)  # allowed: no refusal (the run itself is not started here)
    with pytest.raises(TooLong):
        check_budget(load_config(cfg), allow_long=False)


def test_an_input_too_large_to_draw_in_time_is_refused_with_the_estimate(tmp_path):
    import subprocess
    import sys

    from render import ROOT
    cfg = tmp_path / "big.yaml"  # the documented maximum: traced in seconds, drawn in hours
    cfg.write_text("scene: vectors\nexpression: sum(x * x)\ninputs:\n  x: [" + ", ".join(["0.5"] * 10_000) + "]\n")
    start = time.monotonic()
    r = subprocess.run([sys.executable, str(ROOT / "render.py"), "render", str(cfg), "-o", str(tmp_path / "o.mp4")],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "BACKPROP_CACHE_DIR": str(tmp_path / "cache"), "BACKPROP_ALLOW_LONG": "0"})
    assert r.returncode == 1 and time.monotonic() - start < 90 and not (tmp_path / "o.mp4").exists()
    assert r.stderr == (f"Error: {cfg}: key 'inputs.x': its 10,000 elements (20,001 numbers in the graph) would take "
                        "about 2.2 hours to draw (the budget is 10 minutes): use fewer elements (`trace` and `check` "
                        "work on it as it is), or pass --allow-long\n"), r.stderr


def test_the_draw_budget_passes_every_shipped_graph_and_yields_to_allow_long(monkeypatch):
    from pathlib import Path

    from pipeline.render_job import check_draw_budget
    from render import CONFIG_DIR
    monkeypatch.setenv("BACKPROP_ALLOW_LONG", "0")
    from engine.source import trace_path_for
    from scenes.trace_data import read_trace

    for path in sorted(CONFIG_DIR.glob("*.yaml")):
        if load_config(path).kind == "graph":
            check_draw_budget(read_trace(trace_path_for(path)), path)  # none refused (their traces as cached)
    big = trace_config(parse_config({"scene": "vectors", "expression": "sum(x * x) + sum(y * y)",
                                     "inputs": {"x": [1.0] * 1000, "y": [2.0] * 2000}, "constants": {}}))
    with pytest.raises(ConfigError, match=r"^t.json: key 'inputs.y': its 2,000 elements \(6,003 numbers in the graph\) "
                                          r"would take about 40 minutes to draw"):
        check_draw_budget(big, Path("t.json"))
    monkeypatch.setenv("BACKPROP_ALLOW_LONG", "1")
    check_draw_budget(big, Path("t.json"))


def test_recorded_points_are_capped_and_thinned_evenly():
    cfg = parse_config({"scene": "vanishing", "depth": 3, "width": 2, "steps": 200_000, "record_every": 1,
                        "activations": ["relu"]})
    run = trace_config(cfg)["runs"][0]
    steps = run["steps"]
    assert len(steps) <= 2001 and steps[0] == 0 and steps[-1] == 200_000
    gaps = {b - a for a, b in zip(steps[:-1], steps[1:-1])}
    assert gaps == {101}  # every 101st step (ceil(200000 / 1999)), then the last one
    assert len(run["loss"]) == len(steps) == len(run["grad_norms"])


@pytest.mark.parametrize("command", ["trace", "render", "lecture"])
def test_allow_long_is_a_flag_that_lifts_the_budget_for_the_run(tmp_path, monkeypatch, command):
    import os

    from engine import training
    # a small config the budget is told is huge: refused without the flag, traced with it
    monkeypatch.setattr(training, "estimate_seconds", lambda cfg: 10_000.0)
    monkeypatch.setenv("BACKPROP_ALLOW_LONG", "0")  # and put back as it was afterwards (the CLI sets it)
    cfg = tmp_path / "small.yaml"
    cfg.write_text("scene: vanishing\ndepth: 2\nwidth: 2\nsteps: 20\nrecord_every: 10\nactivations: [relu]\n")
    r = run_cli(["trace", str(cfg)])
    assert r.exit_code == 1 and "--allow-long" in r.output
    help_text = " ".join(run_cli([command, "--help"]).output.split())
    assert "--allow-long" in help_text and "Train or draw even when the estimate exceeds the 10-minute budget." in help_text
    if command == "trace":
        r = run_cli(["trace", str(cfg), "--allow-long"])
        assert r.exit_code == 0, r.output
        assert '"kind": "vanishing"' in r.output
        assert os.environ["BACKPROP_ALLOW_LONG"] == "1"  # for worker processes that trace too


@pytest.mark.parametrize("seconds,said", [(1200.0, "20 minutes"), (3599.0, "60 minutes"), (3600.0, "1.0 hours"),
                                          (12_600.0, "3.5 hours"), (3_600_000.0, "1,000.0 hours")])
def test_the_estimate_is_said_in_minutes_or_hours(seconds, said, monkeypatch):
    import os

    from engine import training
    monkeypatch.setattr(training, "estimate_seconds", lambda cfg: seconds)
    cfg = parse_config({"scene": "vanishing", "depth": 2, "width": 2, "steps": 10})
    with pytest.raises(TooLong) as e:
        check_budget(cfg, allow_long=False)
    assert str(e.value) == (f"training would take about {said} on {os.cpu_count()} cores (the budget is 10 "
                            "minutes): lower steps, depth, width, seeds or activations, or pass --allow-long")


def _special(tmp_path, kind):
    """A path of ``kind``: a regular file, a link to one, a directory, a FIFO, a device, a socket."""
    import socket
    p = tmp_path / kind
    if kind == "file":
        p.write_bytes(b"abc")
    elif kind == "link":
        (tmp_path / "target").write_bytes(b"abc")
        p.symlink_to(tmp_path / "target")
    elif kind == "directory":
        p.mkdir()
    elif kind == "fifo":
        os.mkfifo(p)
    elif kind == "device":
        return "/dev/null"
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
        s.close()
    return str(p)


@pytest.mark.parametrize("kind,follow,said", [
    ("file", True, None), ("file", False, None), ("link", True, None),
    ("link", False, "a link, not a regular file"),  # a cache never reads through a link
    ("directory", True, "a directory, not a regular file"), ("fifo", True, "a FIFO, not a regular file"),
    ("device", True, "a device, not a regular file"), ("socket", True, "not a regular file"),
    ("missing", True, "cannot read: No such file or directory"),
])
def test_an_input_is_read_only_from_a_regular_file_and_the_refusal_names_what_it_is(tmp_path, kind, follow, said):
    from infra.io import InputError, read_input
    path = _special(tmp_path, kind)
    if said is None:
        assert read_input(path, follow_links=follow) == b"abc"
        return
    with pytest.raises(InputError) as e:
        read_input(path, follow_links=follow)
    assert str(e.value) == f"{path}: {said}"


@pytest.mark.parametrize("size,limit,ok", [(0, 0, True), (1, 0, False), (0, 5, True), (5, 5, True), (6, 5, False)])
def test_an_empty_file_is_read_and_a_zero_limit_refuses_one_byte(tmp_path, size, limit, ok):
    from infra.io import InputError, read_input
    p = tmp_path / "f"
    p.write_bytes(b"x" * size)
    if ok:
        assert read_input(p, limit) == b"x" * size
    else:
        with pytest.raises(InputError, match=f"larger than {limit} bytes"):
            read_input(p, limit)


@pytest.mark.parametrize("size,refused", [(1000, False), (1001, True), (1100, True)])
def test_a_file_that_grew_and_arrives_in_short_reads_is_refused_one_byte_past_the_limit(tmp_path, monkeypatch, size,
                                                                                         refused):
    # reads may return less than asked (a network file system): the reader must still look one byte past
    # the limit, not stop at it and hand back a cut-off file
    from infra import io
    p = tmp_path / "grown.yaml"
    p.write_bytes(b"x" * size)
    real_read = os.read
    monkeypatch.setattr(io.os, "read", lambda fd, n: real_read(fd, min(n, 100)))
    monkeypatch.setattr(io, "_check_regular", lambda path, info, limit: None)  # it grew after the check
    if refused:
        with pytest.raises(ConfigError, match="larger than 1000 bytes"):
            io.read_input(p, 1000)
    else:
        assert io.read_input(p, 1000) == b"x" * 1000
