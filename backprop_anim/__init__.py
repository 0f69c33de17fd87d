"""The Python API, for notebooks and scripts: the same pipeline as the CLI, config -> trace -> clip.

    import backprop_anim as bp
    t = bp.trace({"scene": "graph", "expression": "f = (x + y) * z", "inputs": {"x": -2, "y": 5, "z": -4}})
    t = bp.trace_torch(lambda x, w: torch.sigmoid(w * x), inputs={"x": 1.0, "w": 0.5})
    clip = bp.render(t, quality="low")   # a Clip: its path, and an inline video in Jupyter

Every error a user can make is a ``BackpropError`` whose message is the CLI's one line.
"""
from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping

from infra.errors import ConfigError
from engine.languages import DEFAULT_LANG

__all__ = ["BackpropError", "Clip", "trace", "trace_torch", "render", "check_trace"]


class BackpropError(Exception):
    """A config, trace or output that cannot be used; str() is the same one line the CLI prints."""


class Clip:
    """A rendered file: ``path`` (os.PathLike too); in Jupyter it shows as an inline video or image, with
    ``alt`` as its text alternative (what is said over the step it shows, or its poster shows)."""

    def __init__(self, path: Path, duration: float, alt: str = ""):
        self.path = Path(path)
        self.duration = duration
        self.alt = alt

    def __fspath__(self) -> str:
        return str(self.path)

    def __repr__(self) -> str:
        return f"Clip({str(self.path)!r}, {self.duration:.1f} s)"

    def _repr_html_(self) -> str:
        import html

        data = base64.b64encode(self.path.read_bytes()).decode("ascii")
        kind = self.path.suffix.lstrip(".").lower()
        alt = html.escape(self.alt or self.path.name, quote=True)  # text from a config: never markup
        if kind in ("png", "gif"):
            return f'<img src="data:image/{kind};base64,{data}" alt="{alt}" style="max-width:100%">'
        mime = {"mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime"}[kind]
        return (f'<video controls aria-label="{alt}" style="max-width:100%">'
                f'<source src="data:{mime};base64,{data}" type="{mime}"></video>')


def trace(config: str | os.PathLike | Mapping[str, Any], trust: bool = False) -> dict:
    """The trace of a config: a YAML file's path or the same keys as a dict. ``trust``: run the Python
    code a `torch:` config names (as the CLI's --trust; a dict's `torch:` file is relative to the
    working directory)."""
    from engine.config import load_config, parse_config
    from engine.run import trace_config

    with _trusted(trust):
        try:
            if isinstance(config, Mapping):
                return trace_config(parse_config(dict(config), "<config>"), "<config>")  # relative to the cwd
            return trace_config(load_config(config), str(config))
        except ConfigError as e:
            raise BackpropError(str(e)) from None


def trace_torch(fn: Callable, inputs: Mapping[str, Any], constants: Mapping[str, Any] | None = None,
                scene: str = "graph", title: str | None = None, names: Mapping[int, str] | None = None) -> dict:
    """The trace of your own torch function, ``fn(**inputs, **constants)`` returning a scalar: inputs become
    float64 leaves that get gradients, constants do not. ``names``: labels for other leaves by ``id``, e.g.
    ``{id(p): n for n, p in model.named_parameters()}``. Your code runs here, so no --trust is asked."""
    from engine.config import KINDS
    from engine.torch_trace import trace_torch as _trace_torch

    graph_scenes = [k.name for k in KINDS.values() if k.trace_kind == "graph"]
    if scene not in graph_scenes:
        raise BackpropError(f"scene {scene!r}: a torch trace is drawn by a graph scene: {', '.join(graph_scenes)}")
    config = {"scene": scene, "title": title or f"{getattr(fn, '__name__', 'f')} in PyTorch"}
    if not config["title"].isprintable() or "<" in config["title"]:
        config["title"] = "PyTorch"
    try:
        return _trace_torch(fn, dict(inputs), dict(constants or {}), names=dict(names or {}), config=config)
    except ConfigError as e:
        raise BackpropError(str(e)) from None


def check_trace(t: dict) -> None:
    """Raise BackpropError unless ``t`` is a trace the scenes can draw (the check every trace file gets)."""
    from scenes.trace_data import InvalidTrace, validate

    try:
        validate(t)
    except InvalidTrace as e:
        raise BackpropError(f"not a valid trace: {e}") from None


def render(source: dict | str | os.PathLike, output: str | os.PathLike | None = None, quality: str = "low",
           theme: str = "dark", lang: str = DEFAULT_LANG, still: bool = False, upto: int | None = None,
           trust: bool = False, progress: bool = False) -> Clip:
    """Render a trace (a dict from ``trace``), a trace JSON file or a config file into ``output`` (default:
    out/<name>.mp4, or .png with ``still``); returns the Clip written."""
    from infra.io import OutputError, check_output_path
    from engine.trace import dumps
    from engine.settings import RenderOptions
    from pipeline.render_job import RenderLimitError, render_scene
    from engine.source import trace_path_for
    from scenes.trace_data import TraceError

    fmt = "png" if still else Path(output).suffix.lstrip(".").lower() if output else "mp4"
    with tempfile.TemporaryDirectory() as tmp, _trusted(trust):
        try:
            if isinstance(source, Mapping):
                check_trace(dict(source))
                path = Path(tmp) / "trace.json"
                path.write_text(dumps(dict(source)))
                name = _slug(source.get("config", {}).get("title") or "trace")
            else:
                path, name = Path(source), Path(source).stem
            out = Path(output) if output else Path("out") / f"{name}.{fmt}"
            out.parent.mkdir(parents=True, exist_ok=True)
            check_output_path(str(out), inputs=[str(path)])
            done = render_scene(trace_path_for(path), out, RenderOptions(quality=quality, still=still, upto=upto,
                                                                         lang=lang, progress=progress, fmt=fmt,
                                                                         theme=theme))
            alt = _shown_text(trace_path_for(path), done, still or fmt == "png", lang)
        except (ConfigError, TraceError, RenderLimitError, OutputError) as e:
            raise BackpropError(str(e)) from None
        except FileNotFoundError as e:
            raise BackpropError(f"{source}: cannot read: {e.strerror}") from None
    return Clip(out, done.duration, alt)


def _shown_text(trace_path: Path, done, still: bool, lang: str) -> str:
    """What is said over the step a still shows (the last one it reached), or a clip's poster shows: its
    text alternative."""
    from pipeline.auto_narration import step_texts

    at = done.duration if still or done.poster is None else done.poster
    shown = [i for i, step in enumerate(done.steps) if step.start < at - 5e-4] or [0]
    said = step_texts(trace_path, lang)
    return said[shown[-1]] if done.steps and shown[-1] < len(said) else ""


def _trusted(on: bool):
    """BACKPROP_TRUST=1 while the block runs, when asked for; as it was afterwards."""
    from pipeline.render_job import environment

    return environment({"BACKPROP_TRUST": "1"} if on else {})


def _slug(text: str) -> str:
    slug = "".join(c if c.isascii() and c.isalnum() else "_" for c in text).strip("_").lower()
    return slug[:40] or "trace"
