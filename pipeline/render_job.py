"""Render one scene to a video or a still inside Manim's tempconfig, then move the file into place.

Quality presets come from one table, as in Manim's own QUALITIES; Manim's global config is never
changed at import time.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from infra.cache import CACHE, usable_cache, write_entry
from infra.io import atomic_path
# the render settings and their allowed values, also importable from here
from engine.settings import FORMATS, QUALITIES, SOURCE_ENV, Quality, RenderOptions, Timing, quality_of  # noqa: F401

# x264's "medium" preset (Manim's default) spends most of a render's encoding time; "veryfast" is far
# quicker at a similar size for flat-colour animation (see docs/benchmark.md). BACKPROP_X264_PRESET overrides.
X264_PRESET = os.environ.get("BACKPROP_X264_PRESET", "veryfast")
# Rate control. A clip rendered whole: x264's CRF (pipeline/video.x264_rate, by picture height),
# keyframes where x264 puts them. A chunk of a clip (``RenderOptions.plays``, pipeline/chunks.py): a constant
# quantiser and an IDR keyframe at every step's start (forced-idr, speedups._KEYFRAMES). A frame's encoding
# then depends on its own group of pictures alone, not on a rate control's memory of the frames before, so
# chunks cut at step starts decode to exactly the pictures of the same clip rendered as one chunk. Whole
# renders do not pay for that: at the same PSNR against a lossless encode, sigmoid_neuron's file is 0.39x
# the constant-QP one's at preview and 0.67x at hd, most of the difference being the keyframe at every step
# (docs/rate_control.md).
CHUNK_X264_OPTIONS = {"x264-params": "qp=25", "preset": X264_PRESET, "forced-idr": "1"}


def x264_options(size: Quality, chunk: bool) -> dict:
    """x264's settings for a clip of ``size``: a chunk's (exact at its cuts) or a whole render's (CRF)."""
    from pipeline.video import x264_rate

    return dict(CHUNK_X264_OPTIONS) if chunk else {**x264_rate(size.height), "preset": X264_PRESET}


MAX_DRAWN_NODES = 60  # past this a graph scene is unreadable and its video needlessly long
# Building a graph scene's equations costs about this much per number among its nodes' values (LaTeX, then
# the glyphs): measured 0.45 s over sum(x * x) of 50 to 200 elements at low quality on the 2-core test machine.
DRAW_SECONDS_PER_NUMBER = 0.4


class RenderLimitError(ValueError):
    """A scene that would be too large to draw."""


@dataclass(frozen=True)
class Section:
    name: str  # what the step shows ("backward: × gate q1, x gets −4")
    video: Path
    duration: float


@dataclass(frozen=True)
class StepTime:
    name: str
    start: float  # seconds into the clip
    end: float


@dataclass(frozen=True)
class Rendered:
    path: Path
    duration: float  # seconds of animation the scene played
    animations: int
    sections: tuple[Section, ...] = ()  # with ``sections_dir``: one video per step, in order
    steps: tuple[StepTime, ...] = ()  # every step, when it starts and ends (also the clip's chapters)
    poster: float | None = None  # the second the scene names as its most telling frame


@contextlib.contextmanager
def private_caches(shared_root: Path, names: tuple[str, ...]):
    """Per-render LaTeX/text cache folders, filled from the shared cache on demand and published back file
    by file when done.

    Manim checks for a cached file and then writes it, which races when two renders run at once (a
    lecture's -j): one can read the other's half-written SVG. Each render therefore works in its own
    folders. Just before Manim looks for an entry, the shared cache's entry of that name is verified and
    copied in (manim_patches.cache_seed: a render uses about a hundred entries of thousands); a truncated,
    edited or swapped SVG is removed and LaTeX or Pango makes it again. Afterwards only the render's new
    files are published into the shared cache (infra.cache: a checksum record, then an atomic rename).
    """
    from manim_patches.cache_seed import seeding

    with tempfile.TemporaryDirectory(prefix="backprop-cache-") as private_root:
        dirs, sources = {}, {}
        for name in names:
            shared, private = shared_root / name, Path(private_root) / name
            shared.mkdir(parents=True, exist_ok=True)
            private.mkdir()
            dirs[name], sources[private] = private, shared
        with seeding(sources):
            yield dirs
        for private, shared in sources.items():
            publish_new_entries(private, shared)


def publish_new_entries(private: Path, shared: Path) -> None:
    """The files a render (or a test session) made in its private cache folder, into the shared one."""
    for f in private.iterdir():
        if f.is_file() and not (shared / f.name).exists():
            # copied (maybe another file system); another render may have published it meanwhile
            write_entry(shared / f.name, f.read_bytes(), f.name, replace=False)


@contextlib.contextmanager
def environment(env: dict):
    """os.environ with ``env`` set, and as it was afterwards (scenes read their inputs from it)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def render_scene(trace_path: Path | Future[Path], output: Path,
                 options: RenderOptions = RenderOptions()) -> Rendered:
    """Render the scene that ``trace_path``'s config names into ``output`` (.mp4, or .png for a still).

    ``trace_path`` may be a future (engine.source.trace_path_soon): it is awaited only once Manim is
    imported, so a trace computed in another process costs the render little or nothing.
    """
    from engine.config import KINDS
    from scenes.trace_data import read_trace

    if isinstance(trace_path, Future):
        trace_path = trace_path.result()
    trace = read_trace(trace_path)
    nodes = len(trace.get("nodes", ()))
    if nodes > MAX_DRAWN_NODES:
        raise RenderLimitError(f"{trace_path}: the graph has {nodes} nodes, more than a scene can draw legibly "
                               f"(at most {MAX_DRAWN_NODES}); `trace` and `check` still work on it")
    check_draw_budget(trace, trace_path)
    scene_cls = KINDS[trace["config"]["scene"]].scene_class()  # imports Manim
    return render_class(scene_cls, {SOURCE_ENV: str(trace_path)}, output, options)


def check_draw_budget(trace: dict, trace_path: Path) -> None:
    """Refuse a graph whose numbers would take longer to draw than training's budget (as training is
    refused: with the estimate; --allow-long, i.e. BACKPROP_ALLOW_LONG=1, lifts it). One line naming the
    config (when this process traced it) and its largest input."""
    from infra.errors import ConfigError
    from engine.training import BUDGET_SECONDS, duration_text

    numbers = sum(_count(n.get("value")) for n in trace.get("nodes", ()))
    seconds = DRAW_SECONDS_PER_NUMBER * numbers
    if seconds <= BUDGET_SECONDS or os.environ.get("BACKPROP_ALLOW_LONG") == "1":
        return
    from engine.source import config_of

    config = trace.get("config", {})
    sizes = {f"{group}.{name}": _count(v) for group in ("inputs", "constants")
             for name, v in (config.get(group) or {}).items()}
    key = max(sizes, key=sizes.get, default=None)
    where = f"key '{key}': its {sizes[key]:,} elements" if key else "its values"
    raise ConfigError(f"{config_of(trace_path)}: {where} ({numbers:,} numbers in the graph) would take about "
                      f"{duration_text(seconds)} to draw (the budget is {BUDGET_SECONDS // 60} minutes): use fewer "
                      "elements (`trace` and `check` work on it as it is), or pass --allow-long")


def _count(value) -> int:
    """How many numbers a trace's (nested list) value holds."""
    return sum(_count(v) for v in value) if isinstance(value, list) else int(value is not None)


class _ProgressLine:
    """One line on stderr for a render, rewritten as each animation ends ("chain_rule.mp4: animation 12,
    6.4 s"), on a terminal only: a log gets no progress at all, as from Manim's bars it got hundreds."""

    def __init__(self, name: str):
        import sys
        self.name, self.stream = name, sys.stderr
        self.shown = self.stream.isatty()

    def update(self, animations: int, seconds: float) -> None:
        if self.shown:
            self.stream.write(f"\r{self.name}: animation {animations}, {seconds:.1f} s of video\033[K")
            self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def parse_resolution(text: str) -> tuple[int, int]:
    """"1280x720" -> (1280, 720): even sizes from 16 to 7680 (H.264 halves the colour planes)."""
    import re
    m = re.fullmatch(r"(\d{2,4})[x×](\d{2,4})", text.strip())
    if not m:
        raise ValueError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x720")
    w, h = int(m[1]), int(m[2])
    if not (16 <= w <= 7680 and 16 <= h <= 7680) or w % 2 or h % 2:
        raise ValueError(f"{text}: width and height must be even, from 16 to 7680")
    return w, h


def _sections(writer, into: Path) -> tuple[Section, ...]:
    """Move the section videos Manim wrote out of its temporary media folder, in the order they play."""
    import json

    into.mkdir(parents=True, exist_ok=True)
    index = json.loads(Path(writer.output_plan.section_index).read_text())
    out = []
    for i, entry in enumerate(index):
        video = into / f"{i:03d}{Path(entry['video']).suffix}"
        shutil.move(str(writer.sections_output_dir / entry["video"]), video)
        out.append(Section(entry["name"], video, float(entry.get("duration", 0.0))))
    return tuple(out)


def render_class(scene_cls, env: dict, output: Path, options: RenderOptions = RenderOptions()) -> Rendered:
    """Render a scene class inside Manim's tempconfig, as ``options`` ask, with ``env`` (its inputs: the trace,
    a title card's text) and the options' own bridge variables (RenderOptions.env) set while it is built.

    A video's steps are also written into it as chapters; ``options.sections_dir`` adds one video per step
    (``Rendered.sections``); a chunk (``options.plays``) keeps its steps' times counted from the scene's
    start, and is untagged.
    """
    from manim import tempconfig

    from manim_patches import speedups, svg_cache, tex_batch, tex_colours
    from scenes import style

    fmt, upto, plays, sections_dir = options.fmt, options.upto, options.plays, options.sections_dir
    still = options.still or fmt == "png"
    if options.transparent and fmt == "mp4":
        raise RenderLimitError("MP4 has no alpha channel: use --format webm, mov, gif or png with --transparent")
    q = options.size
    mode = {True: "line", False: "none"}.get(options.progress, options.progress)  # line, none, or manim's bars
    env = {**env, **options.env()}
    usable_cache()
    svg_cache.install(CACHE / "svg")
    tex_colours.install()
    style.PREFETCH_TEX = tex_batch.prefetch  # formulas a scene announces: one LaTeX run
    speedups.install()
    with style.themed(options.theme), environment(env), \
            tempfile.TemporaryDirectory(prefix="backprop-media-") as media, atomic_path(output) as tmp_out, \
            private_caches(CACHE, ("tex", "text")) as caches:
        manim_config = {"media_dir": media, "pixel_width": q.width, "pixel_height": q.height, "frame_rate": q.fps,
                        "save_last_frame": still, "write_to_movie": not still, "disable_caching": True,
                        "background_color": style.BACKGROUND, "transparent": options.transparent,
                        "progress_bar": "display" if mode == "manim" else "none",
                        "verbosity": "INFO" if mode == "manim" else "WARNING",
                        "output_file": output.stem,
                        # LaTeX and Pango outputs survive between renders: the slow part of a re-render.
                        "tex_dir": str(caches["tex"]), "text_dir": str(caches["text"])}
        if not still:
            manim_config["format"] = fmt
            if fmt == "mp4":
                manim_config["video_encoder_options"] = x264_options(q, chunk=plays is not None)
        if upto is not None:
            manim_config["upto_animation_number"] = upto
        if plays is not None:
            first, end = plays
            manim_config["from_animation_number"] = first
            if end is not None:
                manim_config["upto_animation_number"] = end - 1  # Manim's last animation drawn, inclusive
        if sections_dir is not None and not still:
            manim_config["save_sections"] = True
        with tempconfig(manim_config):
            # One encoder for the whole scene, fed the drawn arrays themselves (manim_patches/speedups.py).
            renderer = speedups.RecyclingRenderer()
            renderer.keyframe_steps = plays is not None  # only chunks need a keyframe where each step starts
            line = _ProgressLine(output.name) if mode == "line" else None
            renderer.on_play = line and line.update
            scene = scene_cls(renderer=renderer)
            try:
                scene.render()
            finally:
                if line:
                    line.close()
            played = scene.renderer.num_plays
            if upto is not None and played <= upto:  # Manim would keep the last frame: nothing is written
                raise RenderLimitError(f"--upto {upto}: the scene has {played} animations (0 to {played - 1}); "
                                       "`render.py info` lists them")
            writer = scene.renderer.file_writer
            produced = Path(writer.image_file_path if still else
                            writer.gif_file_path if fmt == "gif" else writer.movie_file_path)
            sections = _sections(writer, sections_dir) if manim_config.get("save_sections") else ()
            marks = getattr(scene, "step_marks", [])
            steps = tuple(StepTime(name, start, end) for (name, start), end in
                          zip(marks, [m[1] for m in marks[1:]] + [scene.time]))
            poster = getattr(scene, "poster_time", None)
            result = Rendered(output, scene.time, scene.renderer.num_plays, sections, steps, poster)
        if not still and fmt in ("mp4", "webm", "mov") and plays is None:
            from pipeline.video import tag_clip
            tag_clip(produced, poster, steps)
        shutil.copyfile(produced, tmp_out)
    return result



@contextlib.contextmanager
def undrawn(trace_path: Path, options: RenderOptions = RenderOptions()):
    """Manim set up to build the scene of ``trace_path`` without writing a file; yields the scene class.
    The screen audit and a scene's timing both build scenes this way, with renderers that skip drawing."""
    from manim import tempconfig

    from manim_patches import speedups, svg_cache, tex_batch, tex_colours
    from engine.config import KINDS
    from scenes import style
    from scenes.trace_data import read_trace

    trace = read_trace(trace_path)
    check_draw_budget(trace, trace_path)
    scene_cls = KINDS[trace["config"]["scene"]].scene_class()
    q = options.size
    env = {SOURCE_ENV: str(trace_path), **options.env()}
    usable_cache()
    svg_cache.install(CACHE / "svg")
    tex_colours.install()
    style.PREFETCH_TEX = tex_batch.prefetch  # formulas a scene announces: one LaTeX run
    speedups.install()  # the audit draws frames too (the colour under each text)
    with style.themed(options.theme), environment(env), \
            tempfile.TemporaryDirectory(prefix="backprop-undrawn-") as media, \
            private_caches(CACHE, ("tex", "text")) as caches:
        manim_config = {"media_dir": media, "pixel_width": q.width, "pixel_height": q.height, "frame_rate": q.fps,
                        "write_to_movie": False, "save_last_frame": False, "disable_caching": True,
                        "background_color": style.BACKGROUND, "progress_bar": "none", "verbosity": "WARNING",
                        "tex_dir": str(caches["tex"]), "text_dir": str(caches["text"])}
        with tempconfig(manim_config):
            yield scene_cls


def scene_duration(trace_path: Path, options: RenderOptions = RenderOptions()) -> float:
    """How long the scene of ``trace_path`` plays with ``options.timing``, found by building it without drawing a
    frame (as a still is: Manim skips the animations, their times still add up)."""
    from manim_patches.speedups import SkipsDrawing

    with undrawn(trace_path, options) as scene_cls:
        scene = scene_cls(renderer=SkipsDrawing(skip_animations=True))
        scene.render()
        return scene.time


def poster_animation(trace_path: Path, options: RenderOptions = RenderOptions()) -> int | None:
    """The animation (numbered as ``--upto`` counts) that ends at the moment the scene marks as its most telling
    (the gallery's poster), found by building the scene without drawing; None if it marks none."""
    from manim.utils.exceptions import EndSceneEarlyException

    from manim_patches.speedups import SkipsDrawing

    ends = []

    class Counting(SkipsDrawing):
        def play(self, scene, *args, **kwargs):
            super().play(scene, *args, **kwargs)
            ends.append(self.time)
            poster = getattr(scene, "poster_time", None)
            if poster is not None and self.time > poster + 1e-6:  # every later animation ends later still
                raise EndSceneEarlyException()  # Manim's own way to stop a scene (as --upto does)

    with undrawn(trace_path, options) as scene_cls:
        scene = scene_cls(renderer=Counting(skip_animations=True))
        scene.render()
        poster = getattr(scene, "poster_time", None)
    return animation_ending_by(ends, poster)


def animation_ending_by(ends: list[float], moment: float | None) -> int | None:
    """The last animation (numbered from 0, as ``--upto`` counts) that ends by ``moment``, given each one's end."""
    if moment is None:
        return None
    return max((i for i, end in enumerate(ends) if end <= moment + 1e-6), default=0)


# What a clip's pixels and file depend on besides its trace and options: the scenes, what they show from
# engine/ (numbers as numfmt writes them, captions, settings), Manim's patches and the rotation matrices that
# stand in for SciPy's (infra/manim_import.py), how a render is set up and
# encoded (this module, pipeline/video.py) and the locked library versions. A change to any of them is a
# new key, so a cached clip made by older code is never joined (the scenes alone missed a new CRF or a new
# number format). Generated narration keys on it too.
RENDER_CODE = ("scenes/*.py", "engine/*.py", "manim_patches/*.py", "infra/manim_import.py", "pipeline/render_job.py",
               "pipeline/video.py", "requirements.lock")


def code_fingerprint() -> bytes:
    """Changes whenever code that makes a clip does (RENDER_CODE): part of every cached clip's key."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for p in sorted(p for pattern in RENDER_CODE for p in root.glob(pattern)):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.digest()
