"""scripts/benchmark.py's pieces that call into the project (it is not run by the suite: it takes minutes)."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_script", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cached_clip_probe_stores_then_finds_the_clip(tmp_path):
    """The "cached" column's probe goes through the lecture's own clip key (it broke once when the key's
    arguments became one RenderOptions, and only a benchmark run would have said so)."""
    out = tmp_path / "clip.mp4"
    out.write_bytes(b"a rendered clip")
    (tmp_path / "cache" / "clips").mkdir(parents=True)
    env = {**os.environ, "BACKPROP_CACHE_DIR": str(tmp_path / "cache")}
    code = _benchmark().cached_probe(ROOT / "assets" / "configs" / "gates.yaml", "preview", out)
    runs = [subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
            for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    assert [r.stdout.split()[-1] for r in runs] == ["False", "True"]
    stored = list((tmp_path / "cache" / "clips").glob("*.mp4"))
    assert len(stored) == 1 and stored[0].read_bytes() == b"a rendered clip"


def test_the_mistake_sample_names_the_failing_test_from_pytest_s_summary_whole():
    # a parametrized test's id may hold spaces and brackets; a log line that starts with ERROR is not a test
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from mistake_sample import FAILED
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    summary = ("ERROR: Manim could not find a file\n"
               "FAILED tests/test_screen_audit.py::test_card[en-a long title-chapter 2 of 5] - assert False\n"
               "ERROR tests/test_x.py::test_y\n"
               "FAILED tests/test_c.py::test_relu[ko-x\\uc758 [+1, 0, +1]\\uc785\\ub2c8\\ub2e4.]\n")
    assert FAILED.findall(summary) == ["tests/test_screen_audit.py::test_card[en-a long title-chapter 2 of 5]",
                                       "tests/test_x.py::test_y",
                                       "tests/test_c.py::test_relu[ko-x\\uc758 [+1, 0, +1]\\uc785\\ub2c8\\ub2e4.]"]
