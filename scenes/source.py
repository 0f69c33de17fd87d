"""Where a scene gets its trace: a trace file, or a config that the engine traces (cached on disk).

The scene never computes anything itself: for a config it asks the engine for the trace, exactly as
`render.py trace` would, and keeps the result under .cache/traces keyed by the config's contents.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from engine import __version__
from engine.io import write_text_atomic

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "traces"


def trace_path_for(source: str | Path) -> Path:
    """A trace file for ``source`` (.json is used as is; a YAML config is traced once and cached)."""
    source = Path(source)
    if source.suffix == ".json":
        return source
    key = hashlib.sha256(source.read_bytes() + _engine_fingerprint()).hexdigest()[:20]
    cached = CACHE / f"{source.stem}-{key}.json"
    if not cached.exists():
        from engine.config import load_config  # the schemas load only when there is a config to trace
        from engine.run import trace_config
        from engine.trace import dumps

        cached.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(cached, dumps(trace_config(load_config(source), str(source))))
    return cached


def _engine_fingerprint() -> bytes:
    """Changes whenever the engine's code does, so a cached trace is never stale."""
    h = hashlib.sha256(__version__.encode())
    for path in sorted((ROOT / "engine").glob("*.py")):
        h.update(path.read_bytes())
    return h.digest()


def scene_source(default: str) -> Path:
    """The config or trace a scene renders: $BACKPROP_SOURCE (set by the CLI), else its default."""
    return Path(os.environ.get("BACKPROP_SOURCE") or ROOT / default)
