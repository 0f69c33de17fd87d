"""A lecture: a YAML list of scene configs with titles and narration, rendered and joined into one MP4.

Each clip is cached under .cache/clips by what determines its pixels (its trace, the scenes' code,
quality and language), so changing one config re-renders only that clip. Clips render in parallel
processes with ``jobs`` > 1.
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
import unicodedata
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator

from engine.config import ConfigError, _Strict, _first_error, load_config, read_yaml
from engine.cache import publish, verified
from engine.io import atomic_path, check_output_path, write_text_atomic
from engine.processes import die_with_parent, run_job, stop_pool
from pipeline.render_job import CACHE, QUALITIES, render_class, render_scene
from pipeline.source import trace_path_for
from pipeline.video import Chapter, join_clips, subtitles_srt, subtitles_vtt

ROOT = Path(__file__).resolve().parent.parent
CLIP_CACHE = CACHE / "clips"
MAX_CLIPS = 50


class ClipSpec(_Strict):
    config: str = Field(description="path of a scene config, relative to the lecture file")
    title: str | None = Field(None, max_length=200, description="chapter title (default: the config's title)")
    narration: str | dict[Literal["en", "ko"], str] = Field(
        "", description="subtitle text for this clip, or one per language: {en: ..., ko: ...}")

    @field_validator("narration")
    @classmethod
    def _plain_text(cls, narration):
        # Written into subtitle files: no timing lines, no control characters, one paragraph of lines.
        texts = narration.values() if isinstance(narration, dict) else [narration]
        for text in texts:
            if "-->" in text:
                raise ValueError("must not contain '-->' (it would start a subtitle cue of its own)")
            bad = sorted({f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t"})
            if bad:
                raise ValueError(f"must not contain control characters ({', '.join(bad[:3])})")
        def tidy(text):
            return "\n".join(line.strip() for line in text.replace("\t", " ").splitlines() if line.strip())
        return {k: tidy(v) for k, v in narration.items()} if isinstance(narration, dict) else tidy(narration)

    def narration_in(self, lang: str) -> str:
        if isinstance(self.narration, str):
            return self.narration
        return self.narration.get(lang) or self.narration.get("en", "")


class LectureSpec(_Strict):
    title: str = Field(max_length=200, description="shown on the opening title card")
    subtitle: str | None = Field(None, max_length=200, description="second line of the title card")
    clips: list[ClipSpec] = Field(min_length=1, max_length=MAX_CLIPS, description="the scenes, in order")


SHIPPED_CONFIGS = ROOT / "assets" / "configs"


def load_lecture(path: str | Path, allow_outside: bool = False) -> tuple[LectureSpec, list[Path]]:
    """Validate a lecture file and every config it lists; return it with the configs' paths.

    A clip's config is resolved relative to the lecture file and must lie in the lecture's folder tree
    (or be one of the shipped configs) unless ``allow_outside``: a lecture from elsewhere cannot make
    the CLI read, and quote in its errors, any file on the machine.
    """
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a lecture must be a mapping with 'title' and 'clips'")
    try:
        spec = LectureSpec.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{path}: {_first_error(e, LectureSpec)}") from None
    configs = []
    for i, clip in enumerate(spec.clips):
        cfg = (path.parent / clip.config).resolve()
        roots = (path.parent.resolve(), SHIPPED_CONFIGS)
        if not allow_outside and not any(cfg.is_relative_to(root) for root in roots):
            raise ConfigError(f"{path}: key 'clips.{i}.config': {clip.config} is outside the lecture's folder "
                              "(use --allow-outside to permit it)")
        if not cfg.is_file():
            raise ConfigError(f"{path}: key 'clips.{i}.config': no such file {clip.config}")
        load_config(cfg)  # a bad clip config fails here, before anything renders
        configs.append(cfg)
    return spec, configs


def _scenes_fingerprint() -> bytes:
    h = hashlib.sha256()
    for p in sorted((ROOT / "scenes").glob("*.py")):
        h.update(p.read_bytes())
    return h.digest()


def _clip_job(kind: str, arg: str, subtitle: str | None, quality: str, lang: str, theme: str,
              out: str) -> str:
    """Render one clip in a worker process (a title card or a traced scene) into the clip cache.

    The file is rendered under a temporary name and published with its checksum only when complete, so
    an interrupted clip is never cached.
    """
    out = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".mp4", dir=out.parent)
    os.close(fd)
    try:
        if kind == "title":
            from scenes.title_card import TitleCard
            env = {"BACKPROP_TITLE": arg, **({"BACKPROP_SUBTITLE": subtitle} if subtitle else {})}
            render_class(TitleCard, env, Path(tmp), quality, lang=lang, progress=False, theme=theme)
        else:
            render_scene(Path(arg), Path(tmp), quality, lang=lang, progress=False, theme=theme)
        publish(Path(tmp), out, out.stem)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return str(out)


def render_clips(todo: list[tuple], jobs: int, progress=None) -> None:
    """Render the clips not cached yet, ``jobs`` at a time, each in a fresh worker process."""
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: Manim's config is per process
    pool = ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=ctx, initializer=die_with_parent,
                               initargs=(os.getpid(),))
    try:
        futures = [pool.submit(run_job, _clip_job, *job) for job in todo]
        for f in as_completed(futures):
            f.result()
            if progress:
                progress.advance()
    except BaseException:  # an error, Ctrl-C or SIGTERM: no clip goes on rendering for nobody
        stop_pool(pool)
        raise
    pool.shutdown()


def render_lecture(lecture: Path, output: Path, quality: str = "preview", lang: str = "en", theme: str = "dark",
                   jobs: int = 1, progress=None, allow_outside: bool = False) -> list[Chapter]:
    """Render every clip (cached), join them with chapters, and write .srt and .vtt beside ``output``."""
    spec, configs = load_lecture(lecture, allow_outside)
    # The MP4 and its subtitles: none may be an input, nor each other (-o x.srt would be both), checked
    # before anything renders.
    inputs = [lecture, *configs]
    outputs = [output, output.with_suffix(".srt"), output.with_suffix(".vtt")]
    for i, path in enumerate(outputs):
        check_output_path(path, inputs, outputs[:i] + outputs[i + 1:])
    fingerprint = _scenes_fingerprint()
    CLIP_CACHE.mkdir(parents=True, exist_ok=True)

    # (kind, input, subtitle, chapter title, narration)
    items = [("title", spec.title, spec.subtitle, spec.title, "")]
    for clip, cfg in zip(spec.clips, configs):
        trace = trace_path_for(cfg)
        title = clip.title or getattr(load_config(cfg), "title", None) or cfg.stem
        items.append(("scene", str(trace), None, title, clip.narration_in(lang)))

    paths, todo = [], []
    for kind, arg, sub, _, _ in items:
        content = Path(arg).read_bytes() if kind == "scene" else f"{arg}\n{sub}".encode()
        key = hashlib.sha256(fingerprint + content + f"{kind}|{quality}|{lang}|{theme}".encode()).hexdigest()[:24]
        path = CLIP_CACHE / f"{key}.mp4"
        paths.append(path)
        if not verified(path, key, "clip cache"):
            todo.append((kind, arg, sub, quality, lang, theme, str(path)))

    if progress:
        progress.start(len(items), cached=len(items) - len(todo))
    if todo:
        render_clips(todo, jobs, progress)

    with atomic_path(output, inputs) as tmp:
        chapters = join_clips(paths, [it[3] for it in items], tmp, QUALITIES[quality].fps)
    for c, it in zip(chapters, items):
        c.narration = it[4]
    write_text_atomic(outputs[1], subtitles_srt(chapters), inputs)
    write_text_atomic(outputs[2], subtitles_vtt(chapters), inputs)
    return chapters
