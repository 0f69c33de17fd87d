"""Narration written from the trace: every step of a scene, with when it starts and what is said over it.

The scene is built without drawing (as ``render.py info`` does) so that its steps are exactly the ones a
render marks, each with what of the trace it shows; scenes/narration_text.py writes the sentences.
Authored narration may name numbers of the trace as placeholders, {grad.x}, filled in here.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from engine.config import ConfigError
from engine.io import read_input


@dataclass(frozen=True)
class SpokenStep:
    name: str
    start: float  # seconds into the clip
    narration: str


_BUILT: dict[tuple[str, str], list[SpokenStep]] = {}  # (trace's digest, lang) -> its steps, for one process


def spoken_steps(trace_path: Path, lang: str = "en") -> list[SpokenStep]:
    """Every step of the scene of ``trace_path`` (the title first), with its generated narration in ``lang``."""
    from pipeline.render_job import undrawn
    from pipeline.speedups import SkipsDrawing
    from scenes.narration_text import narrate
    from scenes.trace_data import read_trace

    key = (hashlib.sha256(read_input(trace_path)).hexdigest(), lang)
    if key not in _BUILT:
        trace = read_trace(trace_path)
        with undrawn(Path(trace_path), lang=lang) as scene_cls:
            scene = scene_cls(renderer=SkipsDrawing(skip_animations=True))
            scene.render()
        marks, about = scene.step_marks, scene.step_about
        texts = narrate(trace, [(name, a) for (name, _), a in zip(marks, about)], lang)
        _BUILT[key] = [SpokenStep(name, round(start, 3), text) for (name, start), text in zip(marks, texts)]
    return list(_BUILT[key])


def fields_of(trace_path: Path) -> dict[str, str]:
    """The placeholders an authored narration over this trace may use, with their text."""
    from scenes.narration_text import trace_fields
    from scenes.trace_data import read_trace

    return trace_fields(read_trace(trace_path))


# {name} or {name.key}: a placeholder; {{ and }} are braces, once a text has a placeholder
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[^{}\s]+)?)\}")


def has_placeholders(text: str) -> bool:
    return any(m.group(1) for m in PLACEHOLDER.finditer(text))


def fill(text: str, fields: dict[str, str], where: str) -> str:
    """``text`` with its placeholders replaced by the trace's numbers; a text without any is returned as
    written (its braces too). An unknown placeholder is a ConfigError naming ``where`` (file and key)."""
    if not has_placeholders(text):
        return text

    def one(m: re.Match) -> str:
        if m.group(1) is None:
            return m.group(0)[0]
        if m.group(1) not in fields:
            near = sorted(k for k in fields if k.split(".")[0] == m.group(1).split(".")[0])[:6] or sorted(fields)[:6]
            raise ConfigError(f"{where}: unknown placeholder {{{m.group(1)}}} (this trace has "
                              f"{', '.join('{' + k + '}' for k in near)}{', ...' if len(fields) > len(near) else ''};"
                              " write {{ and }} for braces)")
        return fields[m.group(1)]
    return PLACEHOLDER.sub(one, text)
