"""Nothing half-written: a render interrupted mid-way leaves no output and no temporary file."""
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from render import CONFIG_DIR, ROOT, cli


@pytest.mark.slow
@pytest.mark.parametrize("previous", [None, b"previous clip"])
def test_ctrl_c_mid_render_leaves_no_partial_file(tmp_path, previous):
    out = tmp_path / "clip.mp4"
    if previous is not None:
        out.write_bytes(previous)
    proc = subprocess.Popen([sys.executable, str(ROOT / "render.py"), "render", str(CONFIG_DIR / "sigmoid_neuron.yaml"),
                             "--quality", "hd", "-o", str(out)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # hd: long enough (half a minute here) to be surely mid-render when interrupted.
    # Wait until manim is writing frames (its temporary media folder exists), then press Ctrl-C.
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if any(p.name.startswith(".clip.") for p in tmp_path.iterdir()):
            break
        time.sleep(0.2)
    time.sleep(2)
    assert proc.poll() is None, "the render finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ([] if previous is None else ["clip.mp4"])
    if previous is not None:
        assert out.read_bytes() == previous


def test_render_refuses_a_graph_too_large_to_draw(tmp_path):
    cfg = tmp_path / "big.yaml"
    cfg.write_text("scene: graph\nexpression: " + " + ".join(["x * y"] * 30) + "\ninputs: {x: 1, y: 2}\n")
    r = CliRunner().invoke(cli, ["render", str(cfg), "-o", str(tmp_path / "o.mp4")])
    assert r.exit_code != 0 and "more than a scene can draw legibly (at most 60)" in r.output
    assert not (tmp_path / "o.mp4").exists()


def test_output_into_unwritable_directory_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        r = CliRunner().invoke(cli, ["trace", str(CONFIG_DIR / "chain_rule.yaml"), "-o", str(ro / "t.json")])
        assert r.exit_code != 0 and "not writable" in r.output
    finally:
        ro.chmod(0o700)
