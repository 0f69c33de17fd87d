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

from engine.config import ConfigError, Strict, first_error, read_yaml
from infra.io import check_output_path
from engine.languages import DEFAULT_LANG, LANGS
from engine.settings import LECTURE_FORMATS, QUALITIES, THEMES, RenderOptions

LAYOUT_FIELDS = ("lecture", "lang", "theme", "quality", "format")
MAX_VARIANTS = 400


class CourseSpec(Strict):
    title: str = Field(max_length=200, description="the course's name, for the summary")
    lectures: list[str] = Field(min_length=1, max_length=100,
                                description="lecture files, relative to the course file (inside its folder tree)")
    langs: list[str] = Field([DEFAULT_LANG], min_length=1, description=f"languages to render: {', '.join(LANGS)}")
    themes: list[str] = Field(["dark"], min_length=1, description="themes: dark, light")
    qualities: list[str] = Field(["preview"], min_length=1, description="qualities: low, preview, hd, 4k")
    formats: list[str] = Field(["mp4"], min_length=1, description="formats: mp4, webm")
    output: str = Field("{lecture}/{format}/{lang}-{theme}-{quality}.{format}", max_length=300,
                        description="each video's path under the output folder, from {lecture} (the lecture "
                                    "file's name), {lang}, {theme}, {quality} and {format}")

    @field_validator("langs", "themes", "qualities", "formats")
    @classmethod
    def _known(cls, values, info):
        allowed = {"langs": LANGS, "themes": THEMES, "qualities": tuple(QUALITIES),
                   "formats": LECTURE_FORMATS}[info.field_name]
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
        raise ConfigError(f"{path}: {first_error(e, CourseSpec)}") from None
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


# What a course costs, estimated before it starts from docs/benchmark.md's measures: a scene clip's video
# seconds (the benchmark's scenes last 9 to 34 s; a title card's are known exactly), render seconds per
# video second for a cold clip and for a video's join, and bytes per video second.
SCENE_SECONDS = 30.0
RENDER_RTF = {"low": 0.3, "preview": 0.45, "hd": 1.0, "4k": 4.0}
JOIN_RTF = {"low": 0.02, "preview": 0.03, "hd": 0.45, "4k": 1.8}
BYTES_PER_SECOND = {"low": 10e3, "preview": 25e3, "hd": 95e3, "4k": 380e3}
BUDGET_SECONDS = 2 * 3600  # more is refused unless asked for (--allow-large)
BUDGET_BYTES = 10e9


@dataclass
class Plan:
    """What a course will do, known before any clip renders."""
    videos: int
    clips: int
    to_render: int
    seconds: float  # estimated wall time
    bytes: float  # estimated disk: the videos and the clips added to the cache

    def line(self) -> str:
        hours, rest = divmod(round(self.seconds), 3600)
        took = f"{hours} h {rest // 60} min" if hours else f"{max(1, round(rest / 60))} min"
        return (f"plan: {self.videos} videos from {self.clips} distinct clips ({self.to_render} to render, "
                f"{self.clips - self.to_render} cached); estimated {took} and {self.bytes / 1e9:.1f} GB")

    def over_budget(self) -> str | None:
        if self.seconds > BUDGET_SECONDS or self.bytes > BUDGET_BYTES:
            return (f"the plan is over the budget of {BUDGET_SECONDS // 3600} hours and {BUDGET_BYTES / 1e9:.0f} GB "
                    "(pass --allow-large to render it anyway, or render fewer variants)")
        return None


def _estimate(variants: list[Variant], planned: list[list], todo: dict, jobs: int) -> Plan:
    """The plan's cost: the clips to render spread over the workers, then every video joined."""
    from scenes.title_card import TitleCard

    def seconds(item) -> float:
        return TitleCard.seconds(item.timing) if item.kind == "title" else SCENE_SECONDS

    length = {item.path: seconds(item) for items in planned for item in items}
    rendering = sum(length[Path(job.out)] * RENDER_RTF[job.options.quality] for job in todo.values()) / \
        max(1, min(jobs, len(todo)))
    videos = [(v.quality, sum(length[item.path] for item in items)) for v, items in zip(variants, planned)]
    joining = sum(video_seconds * JOIN_RTF[quality] for quality, video_seconds in videos)
    disk = sum(video_seconds * BYTES_PER_SECOND[quality] for quality, video_seconds in videos) + \
        sum(length[Path(job.out)] * BYTES_PER_SECOND[job.options.quality] for job in todo.values())
    return Plan(len(variants), len(length), len(todo), rendering + joining, disk)


def render_course(course: Path, out_dir: Path, jobs: int = 2, cluster: str | None = None, progress=None,
                  allow_outside: bool = False, say=lambda line: None, allow_large: bool = False) -> Summary:
    """Render every video of the course; clips through one scheduler, each distinct clip once. ``say`` gets
    the plan before any work; a plan over the budget is refused unless ``allow_large``."""
    from pipeline import lecture as lec

    spec, variants = load_course(course, out_dir)
    say(f"{course}: planning {len(variants)} videos")
    inputs = [course]
    for file in dict.fromkeys(v.lecture for v in variants):  # every lecture's own inputs too
        inputs += lec.input_files(file, *lec.load_lecture(file, allow_outside))
    outputs = [p for v in variants for p in (v.output, v.output.with_suffix(".srt"), v.output.with_suffix(".vtt"))]
    for i, p in enumerate(outputs):  # before anything is read: no video may overwrite an input or another
        check_output_path(p, inputs, outputs[:i] + outputs[i + 1:], make_folders=False)
    summary = Summary(variants)
    planned, todo = [], {}
    for v in variants:
        lecture_spec, configs = lec.load_lecture(v.lecture, allow_outside)
        options = RenderOptions(quality=v.quality, theme=v.theme, lang=v.lang, progress=False)
        items, missing = lec.clips_to_render(lecture_spec, configs, v.lecture, options)
        planned.append(items)
        for job in missing:
            if job.out in todo:
                summary.shared += 1
            todo.setdefault(job.out, job)
    plan = _estimate(variants, planned, todo, jobs)
    say(plan.line())
    if plan.over_budget() and not allow_large:
        raise ConfigError(f"{course}: {plan.over_budget()}")
    for i, p in enumerate(outputs):  # and now that it goes ahead, each is writable (its folders made)
        check_output_path(p, inputs, outputs[:i] + outputs[i + 1:])
    needed = {item.path for items in planned for item in items}
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
