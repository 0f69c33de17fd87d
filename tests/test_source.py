"""Where a render's trace comes from: the trace cache, and a trace computed in a child while Manim loads."""
import os
import subprocess
import sys
import threading

import pytest
from tqdm import tqdm

import engine.run
from infra.errors import ConfigError
from render import CONFIG_DIR, ROOT
from engine import source


@pytest.fixture
def trace_cache(tmp_path, monkeypatch):
    """An empty trace cache, and a record of the process that computed each trace."""
    monkeypatch.setattr(source, "CACHE", tmp_path / "traces")
    pids = tmp_path / "pids"
    real = engine.run.trace_config

    def recording(cfg, *args):
        with open(pids, "a") as f:  # appended by whichever process computes (a forked child inherits this)
            f.write(f"{os.getpid()}\n")
        return real(cfg, *args)

    monkeypatch.setattr(engine.run, "trace_config", recording)
    return lambda: [int(p) for p in pids.read_text().split()] if pids.exists() else []


@pytest.fixture
def single_threaded():
    """This process without the tqdm monitor that in-process renders of earlier tests leave, as the CLI is
    when it asks for a trace (it forks only then)."""
    if tqdm.monitor is not None:
        tqdm.monitor.exit()
        tqdm.monitor = None
    for t in threading.enumerate():  # an earlier test's pool, shut down without waiting, may still be closing
        if t is not threading.main_thread() and type(t).__name__ == "_ExecutorManagerThread":
            t.join(timeout=30)
    assert threading.active_count() == 1, threading.enumerate()


def test_an_uncached_trace_is_computed_in_another_process(trace_cache, single_threaded):
    config = CONFIG_DIR / "chain_rule.yaml"
    future = source.trace_path_soon(config)
    path = future.result(timeout=60)
    assert trace_cache() and os.getpid() not in trace_cache()
    # the same bytes as the trace computed here, and cached where trace_path_for looks
    first = path.read_bytes()
    path.unlink()
    assert source.trace_path_for(config) == path and path.read_bytes() == first
    assert trace_cache()[-1] == os.getpid()


def test_a_cached_trace_is_answered_at_once(trace_cache):
    config = CONFIG_DIR / "chain_rule.yaml"
    path = source.trace_path_for(config)
    future = source.trace_path_soon(config)
    assert future.done() and future.result() == path and len(trace_cache()) == 1


def test_with_other_threads_running_the_trace_is_computed_here(trace_cache):
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        future = source.trace_path_soon(CONFIG_DIR / "chain_rule.yaml")
    finally:
        stop.set()
        other.join()
    assert future.done() and trace_cache() == [os.getpid()]


def test_a_bad_config_raises_the_same_error_from_the_child(trace_cache, single_threaded, tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("scene: graph\nexpression: x + xx\ninputs: {x: 1}\n")
    future = source.trace_path_soon(cfg)
    with pytest.raises(ConfigError) as remote:
        future.result(timeout=60)
    with pytest.raises(ConfigError) as local:
        source.trace_path_for(cfg)
    assert str(remote.value) == str(local.value) and "undefined variable 'xx'" in str(local.value)
    assert os.getpid() not in trace_cache()[:1]
    assert not (tmp_path / "traces").exists() or not any((tmp_path / "traces").iterdir())


def test_a_missing_config_fails_at_once(trace_cache, tmp_path):
    from infra.errors import ConfigError
    with pytest.raises(ConfigError, match="no-such.yaml: cannot read: No such file"):  # one line, as every input
        source.trace_path_soon(tmp_path / "no-such.yaml")
    assert trace_cache() == []


def test_caches_follow_backprop_cache_dir(tmp_path):
    code = "from engine import source; from pipeline import lecture; print(source.CACHE); print(lecture.CLIP_CACHE)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**os.environ, "BACKPROP_CACHE_DIR": str(tmp_path)}).stdout.split()
    assert out == [str(tmp_path / "traces"), str(tmp_path / "clips")]


@pytest.mark.parametrize("name", ["not-yet.json", "NOT-YET.JSON", "not-yet.Json"])
def test_a_trace_file_is_read_as_is_never_traced(trace_cache, tmp_path, name):
    # the suffix in any case, as render's -o reads .MP4 (a T.JSON was read as a config: "key 'scene' is missing")
    missing = tmp_path / name
    assert source.trace_path_for(missing) == missing
    future = source.trace_path_soon(missing)
    assert future.done() and future.result() == missing and trace_cache() == []
