"""Narration written from the trace: every step of a scene, with when it starts and what is said over it.

The scene is built without drawing (as ``render.py info`` does) so that its steps are exactly the ones a
render marks, each with what of the trace it shows; pipeline/narration_text.py writes the sentences.
Authored narration may name numbers of the trace as placeholders, {grad.x}, filled in here.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from engine.config import ConfigError
from infra.io import read_input
from engine.languages import DEFAULT_LANG


@dataclass(frozen=True)
class SpokenStep:
    name: str
    start: float  # seconds into the clip
    narration: str


def spoken_steps(trace_path: Path, lang: str = DEFAULT_LANG) -> list[SpokenStep]:
    """Every step of the scene of ``trace_path`` (the title first), with its generated narration in ``lang``.

    Kept in the cache (.cache/narration) by the trace, the scenes' code, the sentences' and the language: a
    lecture rendered again does not build its scenes again to know what they say."""
    from infra.cache import verified, write_entry
    from pipeline.render_job import CACHE, code_fingerprint

    # the steps are the scene's (code_fingerprint: scenes and the numbers' format), their sentences this
    # module's and narration_text's
    sayers = b"".join((Path(__file__).parent / name).read_bytes() for name in ("auto_narration.py", "narration_text.py"))
    key = hashlib.sha256(read_input(trace_path) + code_fingerprint() + sayers + lang.encode()).hexdigest()[:24]
    path = CACHE / "narration" / f"{key}.json"
    if verified(path, key, "narration cache"):
        steps = _read_steps(path.read_bytes())
        if steps is not None:
            return steps
    steps = _build(trace_path, lang)
    write_entry(path, json.dumps([[s.name, s.start, s.narration] for s in steps], ensure_ascii=False).encode(), key)
    return steps


def step_texts(trace_path: Path, lang: str = DEFAULT_LANG) -> list[str]:
    """What is said over each step of the scene of ``trace_path``, in ``lang``: a graph scene's steps are read
    from its trace at once; a training scene, whose steps are its captions, is built (and cached)."""
    from pipeline.narration_text import graph_story, narrate
    from scenes.trace_data import read_trace

    trace = read_trace(trace_path)
    if trace["kind"] == "graph":
        return narrate(trace, [("", about) for about in graph_story(trace, lang)], lang)
    return [s.narration for s in spoken_steps(trace_path, lang)]


def _read_steps(data: bytes) -> list[SpokenStep] | None:
    """A cached entry, if it is what _build writes (a verified entry is still read as untrusted)."""
    try:
        rows = json.loads(data)
        if isinstance(rows, list) and all(isinstance(r, list) and len(r) == 3 and isinstance(r[0], str) and
                                          isinstance(r[1], (int, float)) and isinstance(r[2], str) for r in rows):
            return [SpokenStep(name, float(start), text) for name, start, text in rows]
    except ValueError:
        pass
    return None


def _build(trace_path: Path, lang: str) -> list[SpokenStep]:
    """Build the scene without drawing, and say each step it marked."""
    from pipeline.render_job import RenderOptions, undrawn
    from manim_patches.speedups import SkipsDrawing
    from pipeline.narration_text import narrate
    from scenes.trace_data import read_trace

    trace = read_trace(trace_path)
    with undrawn(Path(trace_path), RenderOptions(lang=lang)) as scene_cls:
        scene = scene_cls(renderer=SkipsDrawing(skip_animations=True))
        scene.render()
    marks, about = scene.step_marks, scene.step_about
    texts = narrate(trace, [(name, a) for (name, _), a in zip(marks, about)], lang)
    return [SpokenStep(name, round(start, 3), text) for (name, start), text in zip(marks, texts)]


def fields_of(trace_path: Path) -> dict[str, str]:
    """The placeholders an authored narration over this trace may use, with their text."""
    from pipeline.narration_text import trace_fields
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


def clip_narration(clip, index: int, config: Path, lecture: Path, lang: str):
    """What a lecture's clip says: (over its chapter card, [per step]), authored text with its placeholders
    filled from the trace, or with ``narration: auto`` (a clip with no narration at all) every step's
    generated narration in every language, a step with authored narration keeping it.

    Steps are StepNarration; with ``auto`` (the third value) every step's, keyed by its index."""
    from engine.languages import LANGS
    from pipeline.narration import StepNarration
    from engine.source import trace_path_for
    from scenes.pacing import match_steps

    trace_path = trace_path_for(config)
    fields: dict | None = None

    def filled(narration, key: str):
        nonlocal fields
        texts = narration.items() if isinstance(narration, dict) else [(None, narration)]
        if not any(has_placeholders(text) for _, text in texts):
            return narration
        if fields is None:
            fields = fields_of(trace_path)
        out = {lang: fill(text, fields, f"{lecture}: key '{key}.{lang}'") for lang, text in texts if lang}
        return out or fill(narration, fields, f"{lecture}: key '{key}'")

    card = "" if clip.narration == "auto" else filled(clip.narration, f"clips.{index}.narration")
    steps = [StepNarration(step=st.step, narration=filled(st.narration, f"clips.{index}.steps.{i}.narration"))
             for i, st in enumerate(clip.steps)]
    if not clip.auto_narrated:
        return card, steps, False
    said = {other: step_texts(trace_path, other) for other in LANGS}
    if steps:  # authored steps among generated ones: matched to the scene's steps by name, as a render does
        names = [s.name for s in spoken_steps(trace_path, lang)]
        found = match_steps([st.step for st in steps], names)
    else:
        names, found = said[lang], []
    for i, (st, at) in enumerate(zip(steps, found)):
        if at is None:
            raise ConfigError(f"{lecture}: key 'clips.{index}.steps.{i}.step': no step of {config.name} matches "
                              f"{st.step!r} after the steps before it (`render.py info {config.name}` lists its steps)")
    authored = dict(zip(found, steps))
    out = []
    for i in range(len(names)):
        if i in authored:
            out.append(StepNarration(step=i, narration=authored[i].narration))
            continue
        text = {other: said[other][i] for other in LANGS if len(said[other]) == len(names)}
        out.append(generated_step(i, text, config))
    return card, out, True


def generated_step(index: int, narration, config: Path):
    """A generated narration as a lecture's step narration, held to the same rules as authored text (a
    config's title is in it: one that could not be a subtitle is one line naming the config)."""
    from pydantic import ValidationError

    from pipeline.narration import StepNarration

    try:
        return StepNarration.model_validate({"step": index, "narration": narration})
    except ValidationError as e:
        raise ConfigError(f"{config}: the narration written for its step {index} "
                          f"{e.errors()[0]['msg'].removeprefix('Value error, ')}") from None
