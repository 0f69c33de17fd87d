"""One clip on several cores: cut at its steps, chunks rendered by separate processes, joined unencoded.

A chunk is a run of animations from one step's start to another's. Its worker replays the scene up to
the chunk without drawing (Manim's from/upto animation numbers; manim_patches/speedups.SkipsDrawing draws
nothing for a skipped animation) and encodes the chunk's frames as a stream of its own, which starts on
a keyframe. Every step starts on an IDR keyframe in a whole render too (speedups._KEYFRAMES), so the
chunks' streams are what the whole render's stream is between those keyframes, and their packets are
joined as they are (the concat demuxer), without encoding again.

Where to cut comes from a plan: the scene built once without drawing, which records each animation's
expected cost (frames x objects on screen, the part of a render that grows) and the animation each
step starts at. The cuts are chosen at step starts so that the chunks' costs are as equal as they can be.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from infra.io import atomic_path
from infra.processes import die_with_parent, run_job, stop_pool
from pipeline.render_job import Rendered, RenderOptions, StepTime, render_scene, undrawn

MIN_CHUNK_SECONDS = 2.0  # shorter chunks cost more in their workers' start than they save
# One render keeps about 1.6 cores busy (drawing, RGBA-to-YUV and x264's threads: docs/benchmark.md), so
# a chunk pays for itself only with about two cores of its own.
CORES_PER_CHUNK = 2


def auto_jobs() -> int:
    """How many chunks a clip is cut into by default: one per CORES_PER_CHUNK cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)) // CORES_PER_CHUNK)


@dataclass(frozen=True)
class Plan:
    """A clip as the plan sees it: every animation's cost, and where each step starts."""
    costs: tuple[float, ...]  # per animation (Manim's play), in the order they play
    frames: tuple[int, ...]  # per animation
    step_plays: tuple[int, ...]  # the animation each step starts at

    def cuts(self, chunks: int) -> list[int]:
        """The animations that start each chunk (the first is 0), at step starts, balanced by cost."""
        return balance(self.costs, [p for p in self.step_plays if 0 < p < len(self.costs)], chunks)


def plan(trace_path: Path, options: RenderOptions = RenderOptions()) -> Plan:
    """Build the scene without drawing, recording what each animation will cost to draw and encode."""
    from manim_patches.undrawn import CostingRenderer

    with undrawn(trace_path, options) as scene_cls:  # (the renderer's camera takes the options' size)
        costing = CostingRenderer(options.size.fps)
        scene = scene_cls(renderer=costing)
        scene.render()
    return Plan(tuple(costing.costs), tuple(costing.frames), tuple(getattr(scene, "step_plays", ())))


def balance(costs, candidates: list[int], chunks: int) -> list[int]:
    """Where to cut ``costs`` (one per animation) into at most ``chunks`` runs, at ``candidates``
    (animation indices), so that the costliest run costs as little as it can: the clip takes as long as
    its slowest chunk. Returns each run's first animation, 0 first. Exact, by dynamic programming over
    the candidates (a clip has tens of steps)."""
    before = [0.0]
    for c in costs:
        before.append(before[-1] + c)
    n = len(costs)
    points = [0] + sorted({p for p in candidates if 0 < p < n}) + [n]
    # best[k][j]: (the costliest run, cuts) splitting costs[:points[j]] into k runs
    best = {(1, j): (before[points[j]], [0]) for j in range(1, len(points))}
    for k in range(2, max(1, chunks) + 1):
        for j in range(k, len(points)):
            options = [(max(best[k - 1, i][0], before[points[j]] - before[points[i]]), best[k - 1, i][1] + [points[i]])
                       for i in range(k - 1, j) if (k - 1, i) in best]
            if options:
                best[k, j] = min(options, key=lambda o: (o[0], len(o[1])))
    last = len(points) - 1
    fits = [best[k, last] for k in range(1, max(1, chunks) + 1) if (k, last) in best]
    return min(fits, key=lambda o: (o[0], len(o[1])))[1]


def _warm() -> None:
    """A chunk worker's start: Manim and the scenes imported while the parent plans the cuts."""
    die_with_parent(os.getppid())
    from engine.config import KINDS

    for kind in KINDS.values():
        kind.scene_class()


def chunk_job(trace_path: str, out: str, options: RenderOptions, first: int, end: int | None) -> Rendered:
    """Render animations first..end-1 of the scene into ``out`` (a worker's job)."""
    return render_scene(Path(trace_path), Path(out), dataclasses.replace(options, progress=False, plays=(first, end)))


def join_chunks(chunks: list[Path], rendered: list[Rendered], cuts: list[int], plan_: Plan, output: Path,
                fps: int) -> tuple[list[StepTime], float | None]:
    """Join chunk files into ``output`` (packets copied), with the whole clip's steps as chapters and its
    poster moment; returns both."""
    from pipeline.video import clip_frames, concat_clips, tag_clip

    concat_clips(chunks, output)
    steps, offset, poster = [], 0.0, None
    bounds = zip(cuts, cuts[1:] + [len(plan_.costs) + 1])
    for (first, end), path, result in zip(bounds, chunks, rendered):
        # a chunk's steps are timed from the scene's start, the animations before it counted undrawn
        mine = [s for s, play in zip(result.steps, plan_.step_plays) if first <= play < end]
        zero = mine[0].start if first > 0 else 0.0
        steps += [(s.name, offset + s.start - zero) for s in mine]
        length = clip_frames(path, fps) / fps
        if result.poster is not None and 0 <= result.poster - zero < length:  # marked in this chunk
            poster = offset + result.poster - zero
        offset += length
    whole = [StepTime(name, start, end) for (name, start), end in zip(steps, [s for _, s in steps[1:]] + [offset])]
    tag_clip(output, poster, whole)
    return whole, poster


def render_chunked(trace_path: Path, output: Path, options: RenderOptions, jobs: int) -> Rendered:
    """Render one MP4 clip in up to ``jobs`` chunks at once; falls back to one whole render when the
    clip is too short to be worth cutting or has too few steps. Only the options' quality, language, theme
    and timing apply (a whole MP4 clip, no progress line)."""
    options = RenderOptions(quality=options.quality, theme=options.theme, lang=options.lang, timing=options.timing,
                            progress=False)
    if jobs <= 1:
        return render_scene(trace_path, output, options)
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter each: Manim's config is per process
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_warm)
    try:
        for _ in range(jobs):  # the workers start (and import Manim) while the cuts are planned here
            pool.submit(int)
        p = plan(trace_path, options)
        fps = options.size.fps
        longest = max(1, int(sum(p.frames) / (MIN_CHUNK_SECONDS * fps)))
        cuts = p.cuts(min(jobs, longest))
        with tempfile.TemporaryDirectory(prefix="backprop-chunks-") as tmp, atomic_path(output) as out:
            if len(cuts) == 1:
                pool.shutdown(wait=False, cancel_futures=True)
                rendered = render_scene(trace_path, out, options)
                return Rendered(output, rendered.duration, rendered.animations, steps=rendered.steps,
                                poster=rendered.poster)
            paths = [Path(tmp) / f"chunk{c:03d}.mp4" for c in range(len(cuts))]
            ends = cuts[1:] + [None]
            futures = [pool.submit(run_job, chunk_job, str(trace_path), str(path), options, first, end)
                       for path, first, end in zip(paths, cuts, ends)]
            rendered = [f.result() for f in futures]
            steps, poster = join_chunks(paths, rendered, cuts, p, out, fps)
        pool.shutdown()
    except BaseException:  # an error, Ctrl-C or SIGTERM: no chunk goes on rendering for nobody
        stop_pool(pool)
        raise
    return Rendered(output, steps[-1].end if steps else 0.0, len(p.costs), steps=tuple(steps), poster=poster)
