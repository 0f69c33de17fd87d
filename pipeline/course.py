"""A course: lectures x languages x themes x qualities x formats, rendered through one scheduler.

Every lecture variant is planned first (pipeline/lecture.clips_to_render); the clips they need are keyed
by content (trace, scenes' code, quality, theme, language, timing), so a clip two variants share (a
title card, a scene in two formats) is one task, and a clip already in the cache is none. The tasks
then run on local worker processes or on a Ray cluster (pipeline/cluster.py), and each variant is
joined from the cache as `render.py lecture` would join it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field, ValidationError, field_validator

from engine.config import ConfigError, _Strict, _first_error, read_yaml
from engine.io import check_output_path
from pipeline.narration import LANGS
from pipeline.render_job import QUALITIES

LAYOUT_FIELDS = ("lecture", "lang", "theme", "quality", "format")
MAX_VARIANTS = 400


class CourseSpec(_Strict):
    title: str = Field(max_length=200, description="the course's name, for the summary")
    lectures: list[str] = Field(min_length=1, max_length=100,
                                description="lecture files, relative to the course file (inside its folder tree)")
    langs: list[str] = Field(["en"], min_length=1, description="languages to render: en, ko")
    themes: list[str] = Field(["dark"], min_length=1, description="themes: dark, light")
    qualities: list[str] = Field(["preview"], min_length=1, description="qualities: low, preview, hd, 4k")
    formats: list[str] = Field(["mp4"], min_length=1, description="formats: mp4, webm")
    output: str = Field("{lecture}/{format}/{lang}-{theme}-{quality}.{format}", max_length=300,
                        description="each video's path under the output folder, from {lecture} (the lecture "
                                    "file's name), {lang}, {theme}, {quality} and {format}")

    @field_validator("langs", "themes", "qualities", "formats")
    @classmethod
    def _known(cls, values, info):
        allowed = {"langs": LANGS, "themes": ("dark", "light"), "qualities": tuple(QUALITIES),
                   "formats": ("mp4", "webm")}[info.field_name]
        for v in values:
            if v not in allowed:
                raise ValueError(f"{v!r} is not one of {', '.join(allowed)}")
        if len(set(values)) != len(values):
            raise ValueError("lists a value twice")
        return values

    @field_validator("output")
    @classmethod
    def _layout(cls, output):
        import string
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(output)
                  if name is not None]
        for name, spec, conversion in fields:  # {lecture:>1000000} would pad a path with a megabyte of spaces
            if spec or conversion:
                raise ValueError(f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}: "
                                 "only bare fields such as {lecture} are allowed")
        names = [name for name, _, _ in fields]
        unknown = [n for n in names if n not in LAYOUT_FIELDS]
        if unknown:
            raise ValueError(f"{{{unknown[0]}}} is not one of {{" + "}, {".join(LAYOUT_FIELDS) + "}")
        if Path(output).is_absolute() or ".." in Path(output).parts:
            raise ValueError("must be a relative path inside the output folder")
        return output


@dataclass(frozen=True)
class Variant:
    lecture: Path
    lang: str
    theme: str
    quality: str
    fmt: str
    output: Path


@dataclass
class Summary:
    variants: list[Variant] = field(default_factory=list)
    clips: int = 0  # distinct clips the course needs
    rendered: int = 0
    cached: int = 0
    shared: int = 0  # clip tasks saved because two variants need the same clip
    retried: int = 0
    workers: int = 0  # processes that rendered them

    def lines(self) -> list[str]:
        on = f" on {self.workers} worker processes" if self.workers else ""
        return [f"{len(self.variants)} videos from {self.clips} distinct clips: {self.rendered} rendered{on}, "
                f"{self.cached} already cached, {self.shared} shared between videos, {self.retried} retried"]


def load_course(path: Path, out_dir: Path) -> tuple[CourseSpec, list[Variant]]:
    """The course file, checked, and every video it asks for (a lecture's layout names must not collide)."""
    raw = read_yaml(path)
    try:
        spec = CourseSpec.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{path}: {_first_error(e, CourseSpec)}") from None
    root = path.resolve().parent
    lectures = []
    for i, name in enumerate(spec.lectures):
        file = (root / name).resolve()
        if not file.is_relative_to(root):
            raise ConfigError(f"{path}: key 'lectures.{i}': {name} is outside the course's folder")
        if not file.is_file():
            raise ConfigError(f"{path}: key 'lectures.{i}': no such file {name}")
        lectures.append(file)
    variants = []
    for lecture, lang, theme, quality, fmt in itertools.product(lectures, spec.langs, spec.themes, spec.qualities,
                                                                spec.formats):
        rel = spec.output.format(lecture=lecture.stem, lang=lang, theme=theme, quality=quality, format=fmt)
        variants.append(Variant(lecture, lang, theme, quality, fmt, out_dir / rel))
    if len(variants) > MAX_VARIANTS:
        raise ConfigError(f"{path}: {len(variants)} videos, more than {MAX_VARIANTS} in one course")
    seen: set[Path] = set()
    for v in variants:
        # a video's .srt and .vtt are written beside it: two videos may not share those either
        names = {v.output, v.output.with_suffix(".srt"), v.output.with_suffix(".vtt")}
        if names & seen:
            raise ConfigError(f"{path}: key 'output': {spec.output!r} gives {v.output.with_suffix('')} to two "
                              "videos, or their subtitles (add the fields that tell them apart; {format} as a "
                              "folder keeps an MP4's and a WebM's subtitles apart)")
        seen |= names
        if v.output.suffix.lower() != f".{v.fmt}":
            raise ConfigError(f"{path}: key 'output': {v.output.name} must end in .{v.fmt} (use {{format}})")
    return spec, variants


def render_course(course: Path, out_dir: Path, jobs: int = 2, cluster: str | None = None, progress=None,
                  allow_outside: bool = False) -> Summary:
    """Render every video of the course; clips through one scheduler, each distinct clip once."""
    from pipeline import lecture as lec

    spec, variants = load_course(course, out_dir)
    inputs = [course]
    for file in dict.fromkeys(v.lecture for v in variants):  # every lecture's own inputs too
        inputs += lec.input_files(file, *lec.load_lecture(file, allow_outside))
    outputs = [p for v in variants for p in (v.output, v.output.with_suffix(".srt"), v.output.with_suffix(".vtt"))]
    for i, p in enumerate(outputs):  # before anything renders: no video may overwrite an input or another
        check_output_path(p, inputs, outputs[:i] + outputs[i + 1:])  # (its folders made)
    summary = Summary(variants)
    needed, todo = set(), {}
    for v in variants:
        lecture_spec, configs = lec.load_lecture(v.lecture, allow_outside)
        items, missing = lec.clips_to_render(lecture_spec, configs, v.lecture, v.quality, v.lang, v.theme)
        needed |= {item.path for item in items}
        for job in missing:
            if job[6] in todo:
                summary.shared += 1
            todo.setdefault(job[6], job)
    summary.clips, summary.cached = len(needed), len(needed) - len(todo)
    if progress:
        progress.start(len(needed), cached=summary.cached)
    jobs_list = list(todo.values())
    if jobs_list:
        if cluster is None:
            lec.render_clips(jobs_list, jobs, progress)
        else:
            from pipeline.cluster import render_on_ray
            summary.retried, summary.workers = render_on_ray(jobs_list, cluster, jobs, progress)
    summary.rendered = len(jobs_list)
    for v in variants:  # every clip is cached now: each video is a join
        lec.render_lecture(v.lecture, v.output, v.quality, v.lang, v.theme, jobs=1, allow_outside=allow_outside,
                           fmt=v.fmt)
    return summary
