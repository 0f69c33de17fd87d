"""Nothing half-written: a render interrupted mid-way leaves no output and no temporary file."""
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import alive, default_sigint, drawing_frames, run_cli, seeded_cache
from render import CONFIG_DIR, ROOT


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("previous", [None, b"previous clip"])
def test_interrupt_mid_render_leaves_no_partial_file(tmp_path, previous, sig):
    out = tmp_path / "clip.mp4"
    if previous is not None:
        out.write_bytes(previous)
    tmpdir = tmp_path.parent / f"{tmp_path.name}-tmp"
    tmpdir.mkdir()
    proc = subprocess.Popen(preexec_fn=default_sigint, args=[sys.executable, str(ROOT / "render.py"), "render", str(CONFIG_DIR / "sigmoid_neuron.yaml"),
                             "--quality", "hd", "-o", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmpdir)})
    # hd: long enough (half a minute here) to be surely mid-render when interrupted.
    # Wait until the render is drawing frames (it holds Manim's movie file open), then press Ctrl-C.
    _wait_until_drawing(proc)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ([] if previous is None else ["clip.mp4"])
    if previous is not None:
        assert out.read_bytes() == previous
    assert list(tmpdir.iterdir()) == []  # no backprop-media-* or backprop-cache-* folders left


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _wait_until_drawing(proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the command ``proc`` or one of its worker processes is drawing a clip's frames: mid-render."""
    deadline = time.monotonic() + timeout
    while not any(map(drawing_frames, [proc.pid, *_children(proc.pid)])):
        assert proc.poll() is None, "the render finished before it could be interrupted"
        assert time.monotonic() < deadline, "no frame was drawn in time"
        time.sleep(0.05)


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_the_trace_child_dies_with_the_render(tmp_path, sig):
    cfg = tmp_path / "long.yaml"  # a trace that takes far longer than the test
    cfg.write_text("scene: vanishing\ndataset: circles\ndepth: 30\nwidth: 64\nsteps: 50000\nseeds: 4\n")
    # numba's cache cold, as on a fresh machine: the interrupt comes while a thread compiles the training
    # loop (seconds), which the interrupted worker must not wait for
    env = {**os.environ, "BACKPROP_CACHE_DIR": str(tmp_path / "cache"), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    proc = subprocess.Popen(preexec_fn=default_sigint, args=[sys.executable, str(ROOT / "render.py"), "render", str(cfg), "-o", str(tmp_path / "x.mp4"),
                             "--allow-long"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 30
    while time.time() < deadline and not _children(proc.pid):
        time.sleep(0.1)
    kids = _children(proc.pid)
    assert kids, "the render forked no child to trace in"
    # compiling: numba has made its cache folder for the training loop (compiled_mlp imported) and the child
    # runs its training threads, whose first call compiles the loop (seconds on the cold cache)
    deadline = time.time() + 30
    while time.time() < deadline and not (any((tmp_path / "numba").glob("*")) and _threads(kids[0]) > 1):
        time.sleep(0.02)
    assert _threads(kids[0]) > 1, "the trace child started no training thread"
    proc.send_signal(sig)
    proc.wait(timeout=10)
    deadline = time.time() + 5
    while time.time() < deadline and any(map(alive, kids)):
        time.sleep(0.1)
    assert not any(map(alive, kids))
    assert not (tmp_path / "x.mp4").exists()


def test_render_refuses_a_graph_too_large_to_draw(tmp_path):
    cfg = tmp_path / "big.yaml"
    cfg.write_text("scene: graph\nexpression: " + " + ".join(["x * y"] * 30) + "\ninputs: {x: 1, y: 2}\n")
    r = run_cli(["render", str(cfg), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code != 0 and "more than a scene can draw legibly (at most 60)" in r.output
    assert not (tmp_path / "o.mp4").exists()


def test_output_into_unwritable_directory_is_refused(tmp_path):
    # root can write into any directory, so an unwritable place that holds for root too: under a file
    blocker = tmp_path / "file"
    blocker.write_text("")
    r = run_cli(["trace", str(CONFIG_DIR / "chain_rule.yaml"), "-o", str(blocker / "t.json")])
    assert r.exit_code == 1 and "cannot be written: Not a directory" in r.output


@pytest.mark.slow
def test_sigterm_to_a_lecture_stops_its_workers(tmp_path):
    for name in ("sigmoid_neuron", "gates"):
        (tmp_path / f"{name}.yaml").write_bytes((CONFIG_DIR / f"{name}.yaml").read_bytes())
    lec = tmp_path / "l.yaml"
    lec.write_text("title: T\nclips:\n  - config: sigmoid_neuron.yaml\n  - config: gates.yaml\n")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "BACKPROP_CACHE_DIR": str(seeded_cache(tmp_path / "cache"))}
    proc = subprocess.Popen(preexec_fn=default_sigint, args=[sys.executable, str(ROOT / "render.py"), "lecture", str(lec), "--quality", "hd",
                             "-j", "2", "-o", str(tmp_path / "out.mp4")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    _wait_until_drawing(proc, timeout=60)  # a worker is rendering frames (in its own temporary folder)
    workers = _children(proc.pid)
    assert workers and proc.poll() is None
    start = time.time()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    deadline = time.time() + 15
    while time.time() < deadline and any(map(alive, workers)):
        time.sleep(0.1)
    assert not any(map(alive, workers)) and time.time() - start < 15
    assert proc.returncode != 0
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "out.srt").exists()
    assert list(tmpdir.iterdir()) == []
    clips = tmp_path / "cache" / "clips"
    for f in clips.iterdir() if clips.exists() else []:  # only whole, recorded clips (the title card, maybe)
        assert not f.name.startswith(".") and (f.suffix == ".sha256" or f.with_name(f.name + ".sha256").exists())


@pytest.mark.slow
def test_ctrl_c_to_a_lecture_leaves_no_folder_and_no_warning(tmp_path):
    """Ctrl-C reaches the lecture and its workers at once (the terminal's process group); three times, as
    the folders were left in one run of three and the "leaked semaphore" warning printed in every one."""
    for name in ("sigmoid_neuron", "gates"):
        (tmp_path / f"{name}.yaml").write_bytes((CONFIG_DIR / f"{name}.yaml").read_bytes())
    lec = tmp_path / "l.yaml"
    lec.write_text("title: T\nclips:\n  - config: sigmoid_neuron.yaml\n  - config: gates.yaml\n")
    for run in range(3):
        tmpdir = tmp_path / f"tmp{run}"
        tmpdir.mkdir()
        # each run a cache of its own, seeded with the checkout's LaTeX and text (no run waits for LaTeX)
        env = {**os.environ, "TMPDIR": str(tmpdir), "BACKPROP_CACHE_DIR": str(seeded_cache(tmp_path / f"cache{run}"))}
        proc = subprocess.Popen([sys.executable, str(ROOT / "render.py"), "lecture", str(lec), "--quality", "low",
                                 "-j", "2", "-o", str(tmp_path / "out.mp4")], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, text=True, start_new_session=True,
                                preexec_fn=default_sigint)
        _wait_until_drawing(proc, timeout=90)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert "leaked semaphore" not in err and "Traceback" not in err and "race condition" not in err, err
        assert list(tmpdir.iterdir()) == []


def test_a_killed_worker_s_partial_clip_is_removed_and_no_one_else_s(tmp_path):
    # a worker killed while cleaning up leaves its clip's temporary file beside the cache entries (seen after a
    # SIGTERM'd hd lecture on a loaded machine): the lecture removes its stopped workers' files, not another
    # lecture's (its worker's pid is not among them), nor any entry
    from pipeline.lecture import remove_partial_clips
    names = [".1427d195ea947891.4242.gcruw701.mp4", ".1427d195ea947891.42420.abc_1234.mp4",
             ".9f3a.77.xyz.mp4", "1427d195ea947891.mp4", "1427d195ea947891.mp4.sha256"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    remove_partial_clips({tmp_path}, [4242, 77, None])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".1427d195ea947891.42420.abc_1234.mp4", "1427d195ea947891.mp4", "1427d195ea947891.mp4.sha256"])
