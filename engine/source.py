"""Where a scene gets its trace: a trace file, or a config that the engine traces (cached on disk).

The scene never computes anything itself: for a config it asks the engine for the trace, exactly as
`render.py trace` would, and keeps the result under .cache/traces keyed by the config's contents. It lives
below the scenes (they read their trace through it), so that nothing they import imports them back.
"""
from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from . import __version__
from infra.cache import CACHE as CACHE_ROOT, usable_cache, verified, write_entry
from infra.io import read_input
from infra.processes import die_with_parent, manager_thread, run_job, stop_pool, workers
from infra.places import ASSETS
from .settings import SOURCE_ENV

ROOT = Path(__file__).resolve().parent.parent
CACHE = CACHE_ROOT / "traces"


_configs: dict[Path, Path] = {}  # a cached trace -> the config it was traced from, in this process


def config_of(trace_path: str | Path) -> Path:
    """The config ``trace_path`` was traced from here (to name it in a message), else the trace itself."""
    return _configs.get(Path(trace_path), Path(trace_path))


def trace_path_for(source: str | Path) -> Path:
    """A trace file for ``source`` (.json is used as is; a YAML config is traced once and cached)."""
    source = Path(source)
    return _traced(source, _cached_trace(source))


def trace_path_soon(source: str | Path) -> Future[Path]:
    """``trace_path_for(source)`` as a future, for a caller with other work to do before it reads the trace.

    A config not traced yet is traced in a forked child: a render imports Manim (about a second) on one
    core while the engine trains on the other, instead of one after the other. Errors, a ConfigError
    among them, are raised by ``result()`` as they would be here.
    """
    source = Path(source)
    cached = _cached_trace(source)  # reads the config: a missing file fails here, at once
    # fork only a single-threaded process (a thread holding a lock at the fork would leave it held)
    done: Future[Path] = Future()
    if cached == source or _is_cached(cached):
        done.set_result(cached)
        return done
    if threading.active_count() > 1:
        done.set_result(_traced(source, cached))
        return done
    # fork, not spawn: the child starts with the engine already imported, and re-runs no __main__
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                               initializer=die_with_parent, initargs=(os.getpid(),))
    future = pool.submit(run_job, _traced, source, cached)
    # for a caller interrupted before the result is in: the worker is stopped, not waited for at exit
    future.stop = functools.partial(stop_pool, pool, workers(pool), manager_thread(pool))
    pool.shutdown(wait=False)  # the worker exits after its one job
    return future


def is_trace_file(source: Path) -> bool:
    """Whether ``source`` names a trace rather than a config: a .json file, the suffix in any case (T.JSON)."""
    return source.suffix.lower() == ".json"


def _cached_trace(source: Path) -> Path:
    """Where ``source``'s trace is (a .json is its own trace), keyed by the config and the engine's code."""
    if is_trace_file(source):
        return source
    from .torch_config import code_fingerprint  # a torch config's trace also depends on its code

    data = read_input(source)  # a FIFO or /dev/zero is refused here, before anything else reads it
    usable_cache()
    key = hashlib.sha256(data + _engine_fingerprint() + code_fingerprint(source, data)).hexdigest()[:20]
    cached = CACHE / f"{source.stem}-{key}.json"
    _configs[cached] = source
    return cached


def _traced(source: Path, cached: Path) -> Path:
    """``cached``, first written with ``source``'s trace unless it is there (verified) or is the trace file."""
    if cached != source and not _is_cached(cached):
        from .config import load_config  # the schemas load only when there is a config to trace
        from infra.errors import ConfigError
        from .run import trace_config
        from .trace import dumps
        from .trace_check import InvalidTrace, validate

        trace = trace_config(load_config(source), str(source))
        try:  # checked here too, so that what the config gives that cannot be drawn is said of the config
            validate(trace)
        except InvalidTrace as e:
            raise ConfigError(f"{source}: its trace cannot be drawn: {e}") from None
        write_entry(cached, dumps(trace).encode(), cached.stem)
    return cached


def _is_cached(cached: Path) -> bool:
    # The file's name is its key: a trace copied, edited or truncated in the cache does not verify.
    return verified(cached, cached.stem, "trace cache")


def _engine_fingerprint() -> bytes:
    """Changes whenever the engine's code does, so a cached trace is never stale."""
    h = hashlib.sha256(__version__.encode())
    for path in sorted((ROOT / "engine").glob("*.py")):
        h.update(path.read_bytes())
    return h.digest()


def scene_source(default: str | None) -> Path:
    """The config or trace a scene renders: $BACKPROP_SOURCE (set by the CLI), else its default."""
    named = os.environ.get(SOURCE_ENV)
    if not named and default is None:
        from infra.errors import ConfigError
        raise ConfigError("BACKPROP_SOURCE is not set, and this scene has no config of its own: "
                          "name a config or trace")
    return Path(named or ASSETS.parent / default)  # default: "assets/configs/..."
