"""A clip rendered in chunks (pipeline/chunks.py, `render --jobs N`) is the clip rendered whole.

The references are the whole render's own frames and file: the frames handed to the encoder must be the
same arrays, bit for bit, and the joined file must decode to the whole one's pictures (PSNR), with the
same frame count, chapters and poster moment.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline import chunks
from pipeline.render_job import RenderOptions, Timing, render_scene
from engine.source import trace_path_for
from pipeline.video import clip_frames, poster_time, read_chapters
from render import CONFIG_DIR
from helpers import InlinePool, run_cli


def test_balance_minimises_the_costliest_chunk():
    # ten animations of cost 1, steps at 2, 5 and 8: two chunks cut at 5 (5 + 5), not at 2 or 8
    assert chunks.balance([1] * 10, [2, 5, 8], 2) == [0, 5]
    # three chunks cannot beat 5 either (2+3+5, 5+3+2): no third chunk is paid for
    assert chunks.balance([1] * 10, [2, 5, 8], 3) == [0, 5]
    assert chunks.balance([1] * 10, [2, 4, 6, 8], 5) == [0, 2, 4, 6, 8]
    # cost, not count: one heavy animation is a chunk of its own
    assert chunks.balance([9, 1, 1, 1, 1, 1, 1, 1, 1, 1], list(range(1, 10)), 2) == [0, 1]
    assert chunks.balance([1] * 10, [], 4) == [0]  # no step to cut at
    assert chunks.balance([1] * 10, [0, 10, 12], 3) == [0]  # neither the ends nor past them
    assert chunks.balance([1] * 4, [1, 2, 3], 1) == [0]


def _frames_to_encoder(monkeypatch) -> list[str]:
    """SHA-256 of every RGBA frame the renders hand to the encoder, a held frame once per repeat."""
    from manim_patches import speedups

    seen: list[str] = []
    original = speedups.BufferedSegmentEncoder.write_frame

    def write_frame(self, pixels, *, repeat: int = 1):
        seen.extend([hashlib.sha256(np.ascontiguousarray(pixels).data).hexdigest()] * repeat)
        return original(self, pixels, repeat=repeat)

    monkeypatch.setattr(speedups.BufferedSegmentEncoder, "write_frame", write_frame)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("config,count", [("gates.yaml", 3), ("sigmoid_gate.yaml", 2)])
def test_chunks_draw_the_frames_the_whole_render_draws(config, count, tmp_path, monkeypatch):
    trace = trace_path_for(CONFIG_DIR / config)
    seen = _frames_to_encoder(monkeypatch)
    whole = render_scene(trace, tmp_path / "whole.mp4", RenderOptions(quality="low", progress=False))
    drawn_whole = list(seen)
    seen.clear()

    plan = chunks.plan(trace, RenderOptions(quality="low"))
    cuts = plan.cuts(count)
    assert len(cuts) == count and cuts[0] == 0 and set(cuts[1:]) <= set(plan.step_plays)
    assert len(plan.costs) == whole.animations
    parts = []
    for c, (first, end) in enumerate(zip(cuts, cuts[1:] + [None])):  # the workers' job, run here
        parts.append(chunks.chunk_job(str(trace), str(tmp_path / f"c{c}.mp4"), RenderOptions(quality="low"),
                                      first, end))
    assert seen == drawn_whole  # the same pixels, in the same order, as often
    steps, poster = chunks.join_chunks([tmp_path / f"c{c}.mp4" for c in range(count)], parts, cuts, plan,
                                       tmp_path / "joined.mp4", 10)
    assert [s.name for s in steps] == [s.name for s in whole.steps]
    assert [round(s.start * 10) for s in steps] == [round(s.start * 10) for s in whole.steps]
    assert poster == pytest.approx(whole.poster, abs=0.05)


def _pictures(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as f:
        return [frame.to_ndarray(format="rgb24") for frame in f.decode(video=0)]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


def _keyframes(path: Path) -> list[int]:
    with av.open(str(path)) as f:
        return [i for i, frame in enumerate(f.decode(video=0)) if frame.key_frame]


@pytest.mark.slow
def test_render_jobs_writes_the_clip_the_single_render_writes(tmp_path):
    config = CONFIG_DIR / "gates.yaml"
    one, three, single = tmp_path / "one.mp4", tmp_path / "three.mp4", tmp_path / "single.mp4"
    for jobs, out in ((1, one), (3, three)):
        result = run_cli(["render", config, "--quality", "low", "-q", "--jobs", str(jobs), "-o", str(out)])
        assert result.exit_code == 0, result.output
    # the chunks' pictures are those of the clip encoded as one chunk (a constant quantiser, a keyframe per step)
    chunks.chunk_job(str(trace_path_for(config)), str(single), RenderOptions(quality="low"), 0, None)
    assert clip_frames(three, 10) == clip_frames(one, 10) == clip_frames(single, 10)
    pictures = zip(_pictures(single), _pictures(three), strict=True)
    assert min(_psnr(a, b) for a, b in pictures) >= 45.0
    assert abs(three.stat().st_size / single.stat().st_size - 1) < 0.05
    assert [(n, round(s, 3), round(e, 3)) for n, s, e in read_chapters(three)] == \
        [(n, round(s, 3), round(e, 3)) for n, s, e in read_chapters(one)]
    assert poster_time(three) == poster_time(one)
    # every step starts on a keyframe in a chunked clip: where a chunk may start
    starts = [round(start * 10) for _, start, _ in read_chapters(one)]
    assert set(starts) <= set(_keyframes(three)) and set(starts) <= set(_keyframes(single))
    # a clip rendered whole pays for no keyframe per step (x264's CRF places its own): a smaller file
    assert len(_keyframes(one)) < len(starts)
    assert one.stat().st_size < 0.8 * three.stat().st_size


def test_jobs_option_takes_auto_or_a_count(tmp_path):
    result = run_cli(["render", str(CONFIG_DIR / "gates.yaml"), "--jobs", "many",
                                      "-o", str(tmp_path / "x.mp4")])
    assert result.exit_code == 2
    assert "'many' is neither auto nor a count from 1 to 16" in result.output
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("args,chunked", [([], True), (["--upto", "3"], False), (["--format", "webm"], False),
                                          (["--still"], False)])
def test_only_a_whole_mp4_clip_is_rendered_in_chunks(tmp_path, monkeypatch, args, chunked):
    # chunks are whole MP4 clips: `render -j 2` cuts one; with --upto (a clip that stops early), another format
    # or a still, it renders the one way that honours them, with the options given
    from pipeline import render_job

    calls = []
    monkeypatch.setattr(chunks, "render_chunked", lambda trace, out, options, jobs: calls.append(("chunks", jobs)))
    monkeypatch.setattr(render_job, "render_scene", lambda trace, out, options: calls.append(("whole", options.upto)))
    out = tmp_path / ("x.png" if "--still" in args else "x.webm" if "webm" in args else "x.mp4")
    r = run_cli(["render", str(CONFIG_DIR / "gates.yaml"), "-j", "2", "-o", str(out), *args])
    assert r.exit_code == 0, r.output
    assert calls == ([("chunks", 2)] if chunked else [("whole", 3 if "--upto" in args else None)])


def test_auto_jobs_is_one_chunk_per_two_cores(monkeypatch):
    monkeypatch.setattr(chunks.os, "sched_getaffinity", lambda pid: set(range(8)))
    assert chunks.auto_jobs() == 4
    monkeypatch.setattr(chunks.os, "sched_getaffinity", lambda pid: {0})
    assert chunks.auto_jobs() == 1


@pytest.mark.parametrize("jobs", [2, 3, 4])
def test_render_chunked_gives_every_animation_to_exactly_one_chunk(tmp_path, monkeypatch, jobs):
    """The chunks render_chunked asks for, with its own cuts and ends: animations 0..n-1 each drawn by one
    chunk, no gap between one chunk and the next (one animation short of the next cut would drop it), each
    chunk after the first starting at a step's start."""
    from pipeline.render_job import Rendered

    costs = [1.0, 3.0, 1.0, 2.0, 2.0, 1.0, 4.0, 1.0, 1.0, 2.0, 1.0, 1.0]
    step_plays = (0, 2, 3, 5, 6, 9, 11)
    fake = chunks.Plan(tuple(costs), (30,) * len(costs), step_plays)  # 2 s of frames each at 15 fps: worth cutting
    asked = []

    def run_job(job, trace, out, options, first, end):
        assert job is chunks.chunk_job
        asked.append((first, end))
        kept.append((options.quality, options.lang, options.theme, options.timing))
        return Rendered(Path(out), 0.0, 0)

    monkeypatch.setattr(chunks, "ProcessPoolExecutor", InlinePool)
    monkeypatch.setattr(chunks, "plan", lambda trace, options: fake)
    monkeypatch.setattr(chunks, "run_job", run_job)
    monkeypatch.setattr(chunks, "join_chunks", lambda *args: ([], None))
    kept = []
    timing = Timing(2.0, ((3, 1.5),))
    chunks.render_chunked(Path("t.json"), tmp_path / "c.mp4",
                          RenderOptions(quality="low", lang="ko", theme="light", timing=timing), jobs)
    assert len(asked) == len(fake.cuts(jobs)) > 1
    assert set(kept) == {("low", "ko", "light", timing)}  # every chunk in the clip's language, theme and pace
    drawn = [i for first, end in asked for i in range(first, len(costs) if end is None else end)]
    assert drawn == list(range(len(costs)))  # each once, in order
    assert all(first in step_plays for first, _ in asked)


def _growing_scene():
    from manim import RIGHT, FadeIn, Scene, Square

    class Growing(Scene):
        """Five animations of 1, 2, 3, 4 and 5 frames at low quality's 10 fps: a chunk's length tells which it drew."""
        def construct(self):
            for k in range(5):
                self.play(FadeIn(Square(0.5).shift((k - 2) * 1.2 * RIGHT)), run_time=(k + 1) / 10)
    return Growing


def test_a_chunk_job_draws_its_animations_from_its_first_up_to_the_next_cut(tmp_path, monkeypatch):
    """chunk_job(first, end) as the chunks are cut (a tiny scene stands in for a trace's): each chunk has the
    frames of animations first..end-1, the last runs to the end, and together they are the whole clip's."""
    from pipeline.render_job import render_class

    scene = _growing_scene()
    monkeypatch.setattr(chunks, "render_scene", lambda trace, out, options: render_class(scene, {}, out, options))
    options = RenderOptions(quality="low", progress=False)
    whole = render_class(scene, {}, tmp_path / "whole.mp4", options)
    assert whole.animations == 5 and clip_frames(tmp_path / "whole.mp4", 10) == 15
    cuts = [0, 2, 4]
    for first, end in zip(cuts, cuts[1:] + [None]):
        out = tmp_path / f"chunk{first}.mp4"
        chunks.chunk_job("unused.json", str(out), options, first, end)
        assert clip_frames(out, 10) == sum(k + 1 for k in range(first, 5 if end is None else end)), (first, end)


def test_joined_chunks_list_each_step_once_timed_from_the_joined_clip_s_start(tmp_path, monkeypatch):
    """Steps a, b, c start at animations 0, 2 and 4; the clip is cut at 2. Each chunk's render reports every
    step it reached, timed from the scene's start (the step at its end too: it is marked before the chunk
    stops); the joined clip lists each step once, b from the second chunk's start (0.3 s)."""
    from pipeline import video
    from pipeline.render_job import Rendered, StepTime

    plan = chunks.Plan((1.0,) * 6, (1, 2, 3, 4, 5, 6), (0, 2, 4))
    first, second = tmp_path / "c0.mp4", tmp_path / "c1.mp4"
    rendered = [Rendered(first, 0.3, 2, steps=(StepTime("a", 0.0, 0.3), StepTime("b", 0.3, 0.3))),
                Rendered(second, 1.0, 6, steps=(StepTime("a", 0.0, 0.3), StepTime("b", 0.3, 0.7),
                                                 StepTime("c", 0.7, 1.0)))]
    tagged = []
    monkeypatch.setattr(video, "concat_clips", lambda paths, output: None)
    monkeypatch.setattr(video, "clip_frames", lambda path, fps: {first: 3, second: 7}[path])  # 0.3 s and 0.7 s
    monkeypatch.setattr(video, "tag_clip", lambda path, poster, steps: tagged.append(list(steps)))
    steps, poster = chunks.join_chunks([first, second], rendered, [0, 2], plan, tmp_path / "joined.mp4", 10)
    assert [(s.name, round(s.start, 3), round(s.end, 3)) for s in steps] == \
        [("a", 0.0, 0.3), ("b", 0.3, 0.7), ("c", 0.7, 1.0)]
    assert tagged == [list(steps)] and poster is None


def test_the_plan_has_each_animation_s_frames_and_costs_and_the_animation_each_step_starts_at():
    """chunks.plan against the screen audit's own record of the same scene (built apart, at its own frame
    rate): one entry per animation, its frames at the render's rate, and the step starts where the audit saw
    each step begin; a cut is made only at one of them."""
    from audit.run import audit_trace

    trace = trace_path_for(CONFIG_DIR / "chain_rule.yaml")
    p = chunks.plan(trace, RenderOptions(quality="low"))  # 10 fps
    report = audit_trace(trace)
    assert len(p.costs) == len(p.frames) == len(report.plays) == 17
    assert list(p.frames) == [max(1, round((play.end - play.start) * 10)) for play in report.plays]
    starts = [round(play.start, 6) for play in report.plays]
    assert list(p.step_plays) == [starts.index(round(float(start), 6)) for _, start in report.steps]
    # a cost is frames x (1 + objects on screen): a multiple of the frames, larger once the graph is drawn
    per_frame = [c / f for c, f in zip(p.costs, p.frames)]
    assert all(c % f == 0 and c > f for c, f in zip(p.costs, p.frames))
    assert max(per_frame[p.step_plays[-1]:]) > 10 * per_frame[0]
    cuts = p.cuts(2)
    assert cuts[0] == 0 and len(cuts) == 2 and cuts[1] in p.step_plays


@pytest.mark.parametrize("frames,jobs,chunked", [
    (39, 4, 1),  # 3.9 s at low quality's 10 fps: under two chunks of 2 s, rendered whole
    (40, 4, 2),  # 4 s: two chunks of 2 s, however many jobs are asked for
    (60, 4, 3),
    (200, 2, 2),  # as many chunks as jobs, when the clip is long enough
    (200, 1, 1),  # one job: no plan, a whole render
])
def test_a_clip_is_cut_into_chunks_of_two_seconds_at_least_and_no_more_than_the_jobs(tmp_path, monkeypatch, frames,
                                                                                   jobs, chunked):
    from pipeline.render_job import Rendered

    plays = 10
    fake = chunks.Plan((1.0,) * plays, (frames // plays,) * (plays - 1) + (frames - frames // plays * (plays - 1),),
                       tuple(range(plays)))  # a step at every animation: cuts anywhere
    asked, whole = [], []

    def run_job(job, trace, out, options, first, end):
        asked.append((first, end))
        return Rendered(Path(out), 0.0, 0)

    def render_scene(trace, out, options):
        whole.append(options)
        return Rendered(Path(out), 1.0, plays)

    monkeypatch.setattr(chunks, "ProcessPoolExecutor", InlinePool)
    planned = []
    monkeypatch.setattr(chunks, "plan", lambda trace, options: planned.append(trace) or fake)
    monkeypatch.setattr(chunks, "run_job", run_job)
    monkeypatch.setattr(chunks, "render_scene", render_scene)
    monkeypatch.setattr(chunks, "join_chunks", lambda *args: ([], None))
    chunks.render_chunked(Path("t.json"), tmp_path / "c.mp4", RenderOptions(quality="low"), jobs)
    assert (len(asked) or len(whole)) == chunked and not (asked and whole)
    assert len(planned) == (jobs > 1)
    assert all(not o.progress for o in whole)  # a whole render in place of chunks is quiet too


@pytest.mark.parametrize("posters,poster", [
    ((None, None), None),
    ((0.1, 0.1), 0.1),  # marked in the first chunk (the second's render reached it too)
    ((0.3, 0.3), 0.3),  # at the cut: the second chunk's first frame, not past the first's end
    ((None, 0.9), 0.9),  # in the second: its scene time is the joined clip's
    ((None, 1.0), None),  # the second chunk's end: no frame of it
])
def test_the_joined_clip_s_poster_is_the_chunk_s_that_holds_its_frame(tmp_path, monkeypatch, posters, poster):
    from pipeline import video
    from pipeline.render_job import Rendered, StepTime

    plan = chunks.Plan((1.0,) * 6, (1, 2, 3, 4, 5, 6), (0, 2, 4))
    first, second = tmp_path / "c0.mp4", tmp_path / "c1.mp4"
    steps = (StepTime("a", 0.0, 0.3), StepTime("b", 0.3, 0.7), StepTime("c", 0.7, 1.0))
    rendered = [Rendered(first, 0.3, 2, steps=steps[:2], poster=posters[0]),
                Rendered(second, 1.0, 6, steps=steps, poster=posters[1])]
    tagged = []
    monkeypatch.setattr(video, "concat_clips", lambda paths, output: None)
    monkeypatch.setattr(video, "clip_frames", lambda path, fps: {first: 3, second: 7}[path])  # 0.3 s and 0.7 s
    monkeypatch.setattr(video, "tag_clip", lambda path, at, steps: tagged.append(at))
    _, at = chunks.join_chunks([first, second], rendered, [0, 2], plan, tmp_path / "joined.mp4", 10)
    assert at == pytest.approx(poster) and tagged == [at]


@pytest.mark.parametrize("cores,jobs", [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (16, 8)])
def test_auto_jobs_gives_a_chunk_only_two_whole_cores_of_its_own(monkeypatch, cores, jobs):
    monkeypatch.setattr(chunks.os, "sched_getaffinity", lambda pid: set(range(cores)))
    assert chunks.auto_jobs() == jobs
