#!/usr/bin/env python3
"""Render benchmark: seconds of rendering per second of video, against the encoder's own floor.

For each fixed scene and quality it runs `render.py render` in a fresh process, as a user does, three ways:
  cold    empty caches (every MathTex is typeset, the trace is computed),
  warm    the same caches kept (LaTeX already done, the trace read from its cache),
  cached  a lecture re-render of an unchanged clip (the clip cache answers).
It also times the render up to its first frame with the trace cached and not: what computing it costs.
The floor is PyAV encoding the same number of blank frames at the same size and x264 settings, alone.
Results go to docs/benchmark.md and docs/benchmark.json. Usage:
    .venv/bin/python scripts/benchmark.py [--quality preview --quality hd] [--scene zigzag ...] [--preset medium]
Every run at preview, hd or 4k also renders a scene with stock Manim's CLI beside ours (--vs-stock-only: that alone).
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import click
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.render_job import QUALITIES, Quality, RenderOptions, x264_options  # noqa: E402

SCENES = {"sigmoid_neuron": "sigmoid_neuron.yaml", "zigzag": "zigzag.yaml", "vanishing": "vanishing.yaml",
          "histograms": "histograms.yaml"}

# A fresh process, so what a trace loads on demand (numba, for the vanishing runs) is counted whichever
# scene the benchmark happens to trace first; the engine's own imports are not (a render has them too).
TRACER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from engine.config import load_config
from engine.run import trace_config
cfg = load_config(Path({config!r}))
t0 = time.perf_counter()
trace_config(cfg)
print(time.perf_counter() - t0)
"""

# A render up to its first frame, in a fresh process: the CLI's own calls (the trace, maybe computed in a
# child, and the scene's imports, Manim among them), stopped where drawing would begin. Run with the trace
# cached and not, back to back, the difference is what computing the trace costs a render: everything
# after this point is the same in both. (Timing whole renders instead buries a few tenths of a second
# under the noise of the frames' several seconds.)
STARTUP = """
import sys, time
from pathlib import Path
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from pipeline import render_job
from engine.source import trace_path_soon
render_job.render_class = lambda *args, **kwargs: None
render_job.render_scene(trace_path_soon(Path({config!r})), Path("unused.mp4"))
print(time.perf_counter() - t0)
"""
STARTUP_PAIRS = 5


# Shared machines are noisy (10-20% between identical runs here, from other guests' load): warm renders,
# floors and traces are each timed REPEATS times and the fastest kept, as timeit does; noise only adds.
REPEATS = 5


def fastest(*runs: dict) -> dict:
    return min(runs, key=lambda m: m["wall"])


def run_measured(args: list[str], env: dict) -> dict:
    """Run python with ``args`` in a child; wall and CPU seconds, peak RSS of that child alone."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    if status != 0:
        raise RuntimeError(f"render failed: {err[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
            "stdout": out.strip()}


def video_seconds(video: Path) -> float:
    with av.open(str(video)) as f:
        s = f.streams.video[0]
        return s.frames / float(s.average_rate)


def encoder_floor(frames: int, width: int, height: int, fps: int, preset: str) -> float:
    """Seconds PyAV takes to encode ``frames`` blank frames with the renders' codec settings.

    Frames are handed over as the renders hand them (manim_patches/speedups.py): RGBA buffers wrapped without a
    copy, so the floor holds only conversion and encoding. (A render converts on a thread of its own, so
    on an idle machine it could in principle come in just under this one-thread loop.)
    """
    with tempfile.TemporaryDirectory() as d:
        start = time.perf_counter()
        with av.open(str(Path(d) / "floor.mp4"), "w") as out:
            s = out.add_stream("libx264", rate=Fraction(fps))
            s.width, s.height, s.pix_fmt = width, height, "yuv420p"
            s.options = {**x264_options(Quality(width, height, fps), chunk=False),
                         "preset": preset}
            blank = np.zeros((height, width, 4), dtype=np.uint8)
            for i in range(frames):
                frame = av.VideoFrame.from_numpy_buffer(blank, format="rgba")
                frame.pts = i
                out.mux(s.encode(frame))
            out.mux(s.encode(None))
        return time.perf_counter() - start


def size_with_manim_default(video: Path) -> int:
    """Bytes the same frames take with Manim's own x264 settings (crf 23, x264's default preset medium)."""
    with tempfile.TemporaryDirectory() as d, av.open(str(video)) as src:
        vin = src.streams.video[0]
        target = Path(d) / "default.mp4"
        with av.open(str(target), "w") as out:
            s = out.add_stream("libx264", rate=vin.average_rate)
            s.width, s.height, s.pix_fmt = vin.codec_context.width, vin.codec_context.height, "yuv420p"
            s.options = {"crf": "23"}
            step = Fraction(1, 1) / vin.average_rate
            for i, frame in enumerate(src.decode(vin)):
                frame.pts, frame.time_base = i, step  # one tick per frame, as the renders write them
                out.mux(s.encode(frame))
            out.mux(s.encode(None))
        return target.stat().st_size


def cached_probe(config: Path, quality: str, out: Path) -> str:
    """Python code doing what a lecture does for a clip it rendered before: hash the trace and the options,
    find the clip in the clip cache (storing ``out`` there on the first run). Prints whether it was there."""
    return (f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
            "import shutil\nfrom pathlib import Path\nfrom pipeline import lecture\n"
            "from engine.source import trace_path_for\nfrom pipeline.render_job import RenderOptions\n"
            f"t = trace_path_for(Path({str(config)!r}))\n"
            f"options = RenderOptions(quality={quality!r}, lang='en', theme='dark')\n"
            "key = lecture._key(lecture.code_fingerprint(), lecture.Item('scene', str(t)), options)\n"
            "p = lecture.CLIP_CACHE / f'{key}.mp4'\n"
            f"hit = p.exists()\nshutil.copyfile({str(out)!r}, p) if not hit else None\nprint(hit)\n")


def bench_scene(name: str, quality: str, preset: str, work: Path) -> dict:
    config = ROOT / "assets" / "configs" / SCENES[name]
    tracer = ["-c", TRACER.format(root=str(ROOT), config=str(config))]
    trace_seconds = min(float(run_measured(tracer, dict(os.environ))["stdout"]) for _ in range(REPEATS))
    cache = work / f"cache-{name}-{quality}"
    env = {**os.environ, "BACKPROP_CACHE_DIR": str(cache), "BACKPROP_X264_PRESET": preset}
    out = work / f"{name}-{quality}.mp4"
    # exactly what a user runs
    code = [str(ROOT / "render.py"), "render", str(config), "--quality", quality, "-o", str(out)]
    tex_before = len(list((cache / "tex").glob("*.tex"))) if (cache / "tex").exists() else 0
    states = {"cold": run_measured(code, env)}
    states["cold"]["latex_runs"] = len(list((cache / "tex").glob("*.tex"))) - tex_before
    duration = video_seconds(out)
    q = QUALITIES[quality]
    frames = round(duration * q.fps)
    # Each warm render is followed by its floor, so a slow spell of the machine touches both alike.
    warm, floors = [], []
    for _ in range(REPEATS):
        warm.append(run_measured(code, env))
        floors.append(encoder_floor(frames, q.width, q.height, q.fps, preset))
    states["warm"], floor = fastest(*warm), min(floors)
    startup = ["-c", STARTUP.format(root=str(ROOT), config=str(config))]
    trace_costs = []
    for _ in range(STARTUP_PAIRS):
        cached_start = float(run_measured(startup, env)["stdout"])
        shutil.rmtree(cache / "traces")
        trace_costs.append(float(run_measured(startup, env)["stdout"]) - cached_start)
    # cached: what a lecture re-render of this unchanged clip costs (hash the trace, find the clip).
    (cache / "clips").mkdir(parents=True, exist_ok=True)  # lecture.CLIP_CACHE, as BACKPROP_CACHE_DIR sets it
    cached_code = cached_probe(config, quality, out)
    run_measured(["-c", cached_code], env)  # first pass stores the clip
    states["cached"] = fastest(*(run_measured(["-c", cached_code], env) for _ in range(REPEATS)))
    assert states["cached"]["stdout"].endswith("True")
    size = out.stat().st_size
    default_size = size_with_manim_default(out)
    row = {"scene": name, "quality": quality, "preset": preset, "video_seconds": duration, "frames": frames,
           "floor_seconds": floor, "floor_rtf": floor / duration, "bytes_per_video_second": size / duration,
           "size_vs_manim_default": size / default_size, "trace_seconds": trace_seconds}
    for state, m in states.items():
        row[state] = {"rtf": m["wall"] / duration, "cpu_per_video_second": m["cpu"] / duration,
                      "peak_mb": m["peak_mb"], "vs_floor": m["wall"] / floor, "latex_runs": m.get("latex_runs", 0)}
    row["trace_share_of_warm_render"] = trace_seconds / states["warm"]["wall"]
    # What computing the trace costs the render that does it, where it runs beside Manim's import: the
    # median of the paired differences (within noise of zero it can come out slightly negative).
    row["trace_in_render_seconds"] = float(np.median(trace_costs))
    row["trace_share_of_render"] = row["trace_in_render_seconds"] / (states["warm"]["wall"]
                                                                      + row["trace_in_render_seconds"])
    return row


# Issue 30's targets for speed (preview, cached, hd), issue 6's for the trace's cost and the file size.
TARGETS = {"preview_warm_rtf": 0.15, "cached_rtf": 0.05, "hd_vs_floor": 1.2, "trace_share": 0.10, "size_vs_default": 1.5}


def verdicts(rows: list[dict]) -> list[str]:
    """Each target, met or not, with the worst row's number."""
    def check(label, values, limit):
        if not values:
            return f"- {label}: not measured"
        worst = max(values, key=lambda v: v[1])
        mark = "met" if worst[1] <= limit else "NOT met"
        return f"- {label} <= {limit:g}: **{mark}** (worst {worst[1]:.2f}, {worst[0]})"
    def reference(label, values):
        worst = max(values, key=lambda v: v[1])
        return f"- {label}: worst {worst[1]:.2f}, {worst[0]}"
    preview = [r for r in rows if r["quality"] == "preview"]
    hd = [r for r in rows if r["quality"] == "hd"]
    return [
        check("preview warm RTF", [(r["scene"], r["warm"]["rtf"]) for r in preview], TARGETS["preview_warm_rtf"]),
        check("fully cached re-render RTF", [(f"{r['scene']} {r['quality']}", r["cached"]["rtf"]) for r in rows],
              TARGETS["cached_rtf"]),
        check("hd warm render / encoder floor", [(r["scene"], r["warm"]["vs_floor"]) for r in hd], TARGETS["hd_vs_floor"]),
        check("time computing the trace adds to a render / that render", [
            (f"{r['scene']} {r['quality']}", r["trace_share_of_render"]) for r in rows], TARGETS["trace_share"]),
        reference("trace computed alone / warm render (no target: the render overlaps it with Manim's import)",
                  [(f"{r['scene']} {r['quality']}", r["trace_share_of_warm_render"]) for r in rows]),
        check("bytes / Manim's default encode", [(f"{r['scene']} {r['quality']}", r["size_vs_manim_default"])
                                                 for r in rows], TARGETS["size_vs_default"]),
    ]


# The seed experiments' training alone (no render): the classic XOR setup, the same in float64, and the
# two engines side by side on a tenth of the steps (torch's per-op overhead would make the full run minutes).
TRAINING = {"xor_seeds (float32, naive loss)": {},
            "xor_seeds (float64, stable loss)": {"dtype": "float64", "loss_form": "stable"},
            "xor_seeds (float64, stable loss), 2,000 steps, engine numpy": {
                "dtype": "float64", "loss_form": "stable", "steps": 2000},
            "xor_seeds (float64, stable loss), 2,000 steps, engine torch": {
                "dtype": "float64", "loss_form": "stable", "steps": 2000, "engine": "torch"}}


def bench_training() -> list[dict]:
    """Seconds to trace the XOR seed experiment (10 seeds x 4 activations x 20,000 steps), numba's load
    included (its machine code cached), fastest of REPEATS fresh processes."""
    rows = []
    for label, override in TRAINING.items():
        code = TRACER.replace("cfg = load_config(Path({config!r}))",
                              "cfg = load_config(Path({config!r})).model_copy(update={override!r})")
        code = code.format(root=str(ROOT), config=str(ROOT / "assets/configs/xor_seeds.yaml"), override=override)
        repeats = 2 if override.get("engine") == "torch" else REPEATS
        seconds = min(float(run_measured(["-c", code], dict(os.environ))["stdout"]) for _ in range(repeats))
        steps = override.get("steps", 20_000)
        rows.append({"setup": label, "runs": 40, "steps_per_run": steps, "seconds": seconds,
                     "steps_per_second": 40 * (steps + 1) / seconds, "date": time.strftime("%Y-%m-%d")})
    return rows


# Every shipped config at preview: warm renders only (the table above has the four scenes in depth), with
# the fixed cost of a render (a fresh process up to its first frame) beside it, since on a short clip that
# start-up is most of the RTF.
EVERY_REPEATS = 3


def bench_every_config(work: Path) -> list[dict]:
    """Preview warm RTF of every config in assets/configs (run once to warm the caches, then the fastest of
    EVERY_REPEATS), and the fastest of EVERY_REPEATS start-ups (the render up to its first frame)."""
    env = {**os.environ, "BACKPROP_CACHE_DIR": str(work / "cache-every")}
    rows = []
    for config in sorted((ROOT / "assets" / "configs").glob("*.yaml")):
        out = work / f"every-{config.stem}.mp4"
        # a `torch:` config runs our own shipped model code: trusted, as --trust says (BACKPROP_TRUST)
        trusted = {**env, "BACKPROP_TRUST": "1"} if "torch:" in config.read_text(encoding="utf-8") else env
        code = [str(ROOT / "render.py"), "render", str(config), "--quality", "preview", "-q", "-o", str(out)]
        run_measured(code, trusted)
        warm = fastest(*(run_measured(code, trusted) for _ in range(EVERY_REPEATS)))
        startup = ["-c", STARTUP.format(root=str(ROOT), config=str(config))]
        start = min(float(run_measured(startup, trusted)["stdout"]) for _ in range(EVERY_REPEATS))
        seconds = video_seconds(out)
        rows.append({"config": config.name, "video_seconds": seconds, "wall": warm["wall"], "rtf": warm["wall"] / seconds,
                     "cpu_per_video_second": warm["cpu"] / seconds, "startup_seconds": start,
                     "date": time.strftime("%Y-%m-%d")})
        click.echo(f"{config.name}: warm RTF {rows[-1]['rtf']:.2f}", err=True)
    return rows


def every_config_markdown(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = ["", "## Every shipped config at preview", "",
             f"`render.py render CONFIG --quality preview` for each file in assets/configs, measured {rows[0]['date']}: "
             f"warmed once, then the fastest of {EVERY_REPEATS} (wall); start-up is the same render stopped where "
             "drawing would begin (a fresh Python, the imports, the trace read, the scene class), fastest of "
             f"{EVERY_REPEATS}. RTF without start-up is (wall - start-up) / video s: what each further second of "
             "video costs.", "",
             "| config | video s | warm s | warm RTF | start-up s | RTF without start-up | CPU s / video s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['config']} | {r['video_seconds']:.1f} | {r['wall']:.2f} | {r['rtf']:.2f} | "
                     f"{r['startup_seconds']:.2f} | {(r['wall'] - r['startup_seconds']) / r['video_seconds']:.2f} | "
                     f"{r['cpu_per_video_second']:.2f} |")
    worst = max(rows, key=lambda r: r["rtf"])
    mark = "met" if worst["rtf"] <= TARGETS["preview_warm_rtf"] else "NOT met"
    lines += ["", f"- preview warm RTF <= {TARGETS['preview_warm_rtf']:g} on every shipped config: **{mark}** "
                  f"(worst {worst['rtf']:.2f}, {worst['config']}; "
                  f"{sum(r['rtf'] <= TARGETS['preview_warm_rtf'] for r in rows)} of {len(rows)} within)"]
    return lines


# Chunked renders (`render --jobs N`, pipeline/chunks.py) against one whole render, in the same run.
PARALLEL_SCENES = {"gates": "gates.yaml", "sigmoid_neuron": "sigmoid_neuron.yaml"}
PARALLEL_REPEATS = 3
PROJECTED_WORKERS = (1, 2, 4, 8, 16)


def bench_parallel(work: Path, quality: str = "hd") -> list[dict]:
    """For each scene: wall and CPU time with --jobs 1 and --jobs 2 (alternated, fastest of
    PARALLEL_REPEATS), the serial plan's time, and what the measured chunk costs project for more workers."""
    from pipeline import chunks
    from engine.source import trace_path_for

    rows = []
    for name, config_name in PARALLEL_SCENES.items():
        config = ROOT / "assets" / "configs" / config_name
        env = {**os.environ, "BACKPROP_CACHE_DIR": str(work / "cache-parallel")}
        runs = {1: [], 2: []}
        for _ in range(PARALLEL_REPEATS):
            for jobs in runs:
                out = work / f"{name}-j{jobs}.mp4"
                runs[jobs].append(run_measured([str(ROOT / "render.py"), "render", str(config), "--quality", quality,
                                                "-q", "--jobs", str(jobs), "-o", str(out)], env))
        one, two = fastest(*runs[1]), fastest(*runs[2])
        trace = trace_path_for(config)
        chunks.plan(trace, RenderOptions(quality=quality))  # Manim imported, LaTeX cached: the plan as a render's parent runs it
        start = time.perf_counter()
        plan = chunks.plan(trace, RenderOptions(quality=quality))
        plan_seconds = time.perf_counter() - start
        total = sum(plan.costs)
        # on paper, with cores enough for every chunk (CORES_PER_CHUNK each): the plan and a worker's start
        # run before the chunks, and the clip takes as long as its costliest chunk
        start_seconds = 1.5  # Python and Manim imported in a worker (measured: the render up to its first frame)
        work_seconds = one["wall"] - start_seconds
        projected = {}
        for n in PROJECTED_WORKERS:
            cuts = plan.cuts(n)
            bounds = list(zip(cuts, cuts[1:] + [len(plan.costs)]))
            share = max(sum(plan.costs[a:b]) for a, b in bounds) / total
            projected[n] = {"chunks": len(cuts), "costliest_share": share,
                            "seconds": (plan_seconds + start_seconds + work_seconds * share) if n > 1 else one["wall"]}
        rows.append({"scene": name, "quality": quality, "video_seconds": video_seconds(work / f"{name}-j1.mp4"),
                     "steps": len(plan.step_plays), "animations": len(plan.costs),
                     "jobs1": one, "jobs2": two, "ratio": two["wall"] / one["wall"],
                     "cores_busy_jobs1": one["cpu"] / one["wall"], "cores_busy_jobs2": two["cpu"] / two["wall"],
                     "plan_seconds": plan_seconds, "projected": projected,
                     "size_ratio": (work / f"{name}-j2.mp4").stat().st_size / (work / f"{name}-j1.mp4").stat().st_size})
    return rows


def parallel_markdown(rows: list[dict], cores: int) -> list[str]:
    if not rows:
        return []
    lines = ["", "## Chunked renders (`render --jobs N`)", "",
             f"Measured on this machine ({cores} cores), fastest of {PARALLEL_REPEATS} alternated runs of each. "
             "Target: `--jobs 2` in <= 0.6x the time of `--jobs 1` on two cores.", "",
             "| scene | quality | video s | steps | --jobs 1 s | --jobs 2 s | ratio | cores busy (1 / 2) | plan s | "
             "size ratio |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scene']} | {r['quality']} | {r['video_seconds']:.1f} | {r['steps']} | "
                     f"{r['jobs1']['wall']:.1f} | {r['jobs2']['wall']:.1f} | **{r['ratio']:.2f}x** | "
                     f"{r['cores_busy_jobs1']:.2f} / {r['cores_busy_jobs2']:.2f} | {r['plan_seconds']:.1f} | "
                     f"{r['size_ratio']:.3f} |")
    worst = max(r["ratio"] for r in rows)
    lines += ["", f"- `--jobs 2` / `--jobs 1` <= 0.6 on two cores: **{'met' if worst <= 0.6 else 'NOT met'}** "
                  f"(worst {worst:.2f}). One render already keeps {rows[0]['cores_busy_jobs1']:.1f} cores busy "
                  "(drawing, RGBA-to-YUV conversion and x264's threads), so two cores leave a second chunk "
                  "almost nothing to run on, and each chunk pays a worker's start and its replay up to the cut. "
                  "`--jobs auto` therefore cuts a clip only with four cores or more.",
              "", "On paper, with two cores per chunk (the clip takes its plan, one worker's start and its "
                  "costliest chunk; the chunks' costs are the measured plan's, cut only at step starts):", "",
              "| scene | " + " | ".join(f"{n} worker{'s' if n > 1 else ''}" for n in PROJECTED_WORKERS) + " |",
              "|---|" + "---|" * len(PROJECTED_WORKERS)]
    for r in rows:
        cells = [f"{p['seconds']:.1f} s ({p['seconds'] / r['jobs1']['wall']:.2f}x, {p['chunks']} "
                 f"chunk{'s' if p['chunks'] > 1 else ''})"
                 for p in (r["projected"][str(n)] if str(n) in r["projected"] else r["projected"][n]
                           for n in PROJECTED_WORKERS)]
        lines.append(f"| {r['scene']} | " + " | ".join(cells) + " |")
    lines += ["", "The speed-up stops growing where the costliest step is a chunk of its own: a clip cannot be "
                  "cut inside a step, and a longer clip has more steps to share out (compare the two rows)."]
    return lines


# Stock Manim side by side: the same scene class and trace, rendered by Manim's own CLI as the README shows
# (`BACKPROP_SOURCE=TRACE manim -ql scenes/graph_scenes.py ComputationalGraphScene`) and by our renderer.
STOCK_FLAGS = {"preview": "-ql", "hd": "-qh", "4k": "-qk"}  # Manim's presets of the same size and rate
STOCK_SCENES = {"sigmoid_neuron": "sigmoid_neuron.yaml"}
STOCK_PAIRS = 2
# The clip rendered by us as one chunk with x264 lossless (QP 0): the reference both files' PSNR is taken against.
LOSSLESS = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from pipeline import render_job
render_job.CHUNK_X264_OPTIONS = {{"x264-params": "qp=0", "preset": "ultrafast"}}
render_job.render_scene(Path({trace!r}), Path({out!r}),
                        render_job.RenderOptions(quality={quality!r}, progress=False, plays=(0, None)))
"""


def psnr_against(reference: Path, video: Path) -> tuple[float, int]:
    """PSNR (dB, over all YUV 4:2:0 planes and frames) of ``video`` against ``reference``, and how many
    frames the two have in common (a stock render whose frame count differs is compared over the shorter)."""
    squared, count, frames = 0.0, 0, 0
    with av.open(str(reference)) as ref, av.open(str(video)) as vid:
        for a, b in zip(ref.decode(video=0), vid.decode(video=0)):
            d = b.reformat(format="yuv420p").to_ndarray().astype(np.float64) - a.to_ndarray()
            squared, count, frames = squared + float((d * d).sum()), count + d.size, frames + 1
    return (float("inf") if squared == 0 else float(10 * np.log10(255 ** 2 * count / squared))), frames


def bench_vs_stock(name: str, quality: str, work: Path, pairs: int = STOCK_PAIRS) -> dict:
    """Stock Manim (`manim -ql/-qh --disable_caching`) against `render.py render`, the same scene class and
    trace, each warmed once (LaTeX cached) and then run in ``pairs`` alternated pairs; the fastest of each kept."""
    from engine.config import KINDS, load_config
    from engine.source import trace_path_for

    config = ROOT / "assets" / "configs" / STOCK_SCENES[name]
    trace = trace_path_for(config)
    module, _, scene_class = KINDS[load_config(config).scene].scene.partition(":")
    scene_file = ROOT / (module.replace(".", "/") + ".py")
    media = work / f"stock-media-{name}-{quality}"
    stock_env = {**os.environ, "BACKPROP_SOURCE": str(trace), "PYTHONPATH": str(ROOT)}
    stock = ["-m", "manim", STOCK_FLAGS[quality], "--disable_caching", "--progress_bar", "none", "-v", "WARNING",
             "--media_dir", str(media), "-o", "stock", str(scene_file), scene_class]
    ours_env = {**os.environ, "BACKPROP_CACHE_DIR": str(work / f"cache-stock-{name}")}
    ours_out = work / f"ours-{name}-{quality}.mp4"
    ours = [str(ROOT / "render.py"), "render", str(config), "--quality", quality, "-q", "-o", str(ours_out)]
    run_measured(stock, stock_env)  # warm: LaTeX compiled into the media folder's cache
    run_measured(ours, ours_env)
    times = {"stock": [], "ours": []}
    for _ in range(pairs):
        times["stock"].append(run_measured(stock, stock_env)["wall"])
        times["ours"].append(run_measured(ours, ours_env)["wall"])
    stock_out = next(media.glob("videos/**/stock.mp4"))
    reference = work / f"lossless-{name}-{quality}.mp4"
    run_measured(["-c", LOSSLESS.format(root=str(ROOT), trace=str(trace), out=str(reference), quality=quality)],
                 ours_env)
    row = {"scene": name, "quality": quality, "pairs": pairs, "class": scene_class,
           "stock_times": times["stock"], "ours_times": times["ours"]}
    for side, video in (("stock", stock_out), ("ours", ours_out)):
        seconds = video_seconds(video)
        psnr, compared = psnr_against(reference, video)
        row[side] = {"video_seconds": seconds, "seconds_per_video_second": min(times[side]) / seconds,
                     "bytes_per_video_second": video.stat().st_size / seconds, "psnr": psnr,
                     "frames": round(seconds * QUALITIES[quality].fps), "frames_compared": compared}
    row["time_ratio"] = row["ours"]["seconds_per_video_second"] / row["stock"]["seconds_per_video_second"]
    row["bytes_ratio"] = row["ours"]["bytes_per_video_second"] / row["stock"]["bytes_per_video_second"]
    return row


STOCK_TARGETS = {"time_ratio": 0.30, "bytes_ratio": 0.5}


def stock_markdown(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = ["", "## Side by side with stock Manim", "",
             "The same scene class and trace rendered by stock Manim 0.22's CLI (`BACKPROP_SOURCE=TRACE manim -ql`",
             "or `-qh --disable_caching` on the scene file, crf 23, preset medium, a file per animation joined) and by",
             "`render.py render CONFIG --quality Q`, each in a fresh process, warmed once (LaTeX cached), then in "
             f"{rows[0]['pairs']} alternated", "pairs; the fastest run of each side is kept (each pair's own ratio is shown too: the machine is shared and noisy). PSNR of each file "
             "against a lossless encode of our frames (the clip as one chunk at x264 QP 0), over all YUV 4:2:0 "
             "planes and frames.", "",
             "| scene | quality | video s (ours / stock) | s / video s (ours / stock) | time ratio | each pair's | "
             "KB / video s (ours / stock) | bytes ratio | PSNR dB (ours / stock) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        o, s = r["ours"], r["stock"]
        lines.append(f"| {r['scene']} ({r['class']}) | {r['quality']} | {o['video_seconds']:.1f} / {s['video_seconds']:.1f} | "
                     f"{o['seconds_per_video_second']:.2f} / {s['seconds_per_video_second']:.2f} | "
                     f"**{r['time_ratio']:.2f}x** | "
                     + ", ".join(f"{a / b:.2f}x" for a, b in zip(r["ours_times"], r["stock_times"]))
                     + f" | {o['bytes_per_video_second'] / 1024:.1f} / "
                     f"{s['bytes_per_video_second'] / 1024:.1f} | **{r['bytes_ratio']:.2f}x** | "
                     f"{o['psnr']:.2f} / {s['psnr']:.2f} |")
    lines.append("")
    for key, label in (("time_ratio", "time per video second / stock Manim's"),
                       ("bytes_ratio", "bytes per video second / stock Manim's (at the PSNR shown)")):
        worst = max(r[key] for r in rows)
        mark = "met" if worst <= STOCK_TARGETS[key] else "NOT met"
        lines.append(f"- {label} <= {STOCK_TARGETS[key]:g}: **{mark}** (worst {worst:.2f})")
    return lines


def markdown(rows: list[dict], meta: dict, training: list[dict] = (), parallel: list[dict] = (),
             stock: list[dict] = (), every: list[dict] = ()) -> str:
    lines = ["# Render benchmark", "",
             f"Machine: {meta['machine']}, {meta['cores']} cores; x264 preset `{meta['preset']}`; {meta['date']}.",
             "Written by `scripts/benchmark.py`. Every render runs in a fresh process, so its time includes",
             "starting Python and importing Manim (0.4-0.5 s here in the machine's faster hours, infra/manim_import.py). Warm renders, floors, traces and cached",
             f"re-renders are the fastest of {REPEATS} runs, each warm render followed by its floor.",
             "RTF is render seconds per video second; vs floor divides the render's wall time by the time PyAV",
             "takes to encode as many blank frames at the same size and settings, handed over as the renders hand",
             "theirs (RGBA buffers, no copy). A render whose trace is not cached computes it in a child process",
             ("while it imports Manim: \"trace adds\" is what that costs it, the median of "
              f"{STARTUP_PAIRS} paired runs of the"),
             "render up to its first frame with the trace removed and cached (within noise of zero it can be",
             "negative), as a share of the warm render plus that. \"Trace alone\" is the time to compute the trace",
             "in a fresh process (anything it loads on demand, such as numba, included), as a share of the warm",
             "render. Size vs default re-encodes the rendered frames with Manim's own x264 settings (crf 23,",
             "preset medium).", "",
             "## Targets", "", *verdicts(rows), "",
             "## Results", "",
             ("| scene | quality | video s | cold RTF | warm RTF | cached RTF | warm vs floor | CPU s / video s |"
              " peak MB | KB / video s | size vs default | formulas typeset (cold) | trace alone | trace adds |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scene']} | {r['quality']} | {r['video_seconds']:.1f} | {r['cold']['rtf']:.2f} | "
                     f"{r['warm']['rtf']:.2f} | {r['cached']['rtf']:.3f} | {r['warm']['vs_floor']:.2f}x | "
                     f"{r['warm']['cpu_per_video_second']:.2f} | {r['warm']['peak_mb']:.0f} | "
                     f"{r['bytes_per_video_second'] / 1024:.1f} | {r['size_vs_manim_default']:.2f}x | "
                     f"{r['cold']['latex_runs']} | {r['trace_seconds']:.2f} s, "
                     f"{100 * r['trace_share_of_warm_render']:.1f}% | {r['trace_in_render_seconds']:+.2f} s, "
                     f"{100 * r['trace_share_of_render']:+.1f}% |")
    lines += every_config_markdown(list(every))
    if training:
        lines += ["", "## Training (the seed experiment, no render)", "",
                  "`assets/configs/xor_seeds.yaml`: 10 seeds x 4 activations x 20,000 steps of a 10 x 5 network on",
                  "XOR, on threads (two cores), numba's cached machine code loaded in the time; measured "
                  f"{training[0].get('date', meta['date'])}.", "",
                  "| setup | runs | steps per run | seconds | steps / s |", "|---|---|---|---|---|"]
        lines += [f"| {t['setup']} | {t['runs']} | {t['steps_per_run']:,} | {t['seconds']:.2f} | "
                  f"{t.get('steps_per_second', 40 * (t['steps_per_run'] + 1) / t['seconds']):,.0f} |" for t in training]
        engines = {t["setup"].rsplit(" ", 1)[-1]: t["seconds"] for t in training if "engine" in t["setup"]}
        if {"numpy", "torch"} <= engines.keys():
            lines += ["", f"The same training on torch (nn.Sequential, torch.optim.SGD, hooks) takes "
                          f"{engines['torch'] / engines['numpy']:.0f}x the compiled loop's time: each step of a 10 x 5 "
                          "network is dozens of tiny tensor ops, each costing microseconds of dispatch."]
    lines += parallel_markdown(list(parallel), meta["cores"])
    lines += stock_markdown(list(stock))
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--quality", "qualities", multiple=True, default=["preview"], type=click.Choice(list(QUALITIES)))
@click.option("--scene", "scenes", multiple=True, default=list(SCENES), type=click.Choice(list(SCENES)))
@click.option("--preset", default="veryfast", show_default=True, help="x264 preset for renders and floor alike.")
@click.option("--out", "out_dir", default=str(ROOT / "docs"), show_default=True, type=click.Path(file_okay=False))
@click.option("--training-only", is_flag=True, help="Measure the training alone; keep the render rows already written.")
@click.option("--parallel-only", is_flag=True, help="Measure the chunked renders alone; keep the other rows.")
@click.option("--keep-training", is_flag=True, help="Keep the training rows already written instead of measuring them.")
@click.option("--vs-stock-only", is_flag=True,
              help="Measure the side by side with stock Manim alone (at each --quality); keep the other rows.")
@click.option("--every-config-only", is_flag=True,
              help="Measure every shipped config's preview warm render alone; keep the other rows.")
@click.option("--renders-only", is_flag=True,
              help="Measure the fixed scenes' renders alone (at each --quality); keep the other rows.")
@click.option("--stock-pairs", default=STOCK_PAIRS, show_default=True, help="Alternated runs of stock Manim and ours.")
def main(qualities, scenes, preset, out_dir, training_only, parallel_only, keep_training, vs_stock_only,
         every_config_only, renders_only, stock_pairs):
    """Benchmark the fixed scenes and write benchmark.md / benchmark.json."""
    rows, training, parallel, stock, every = [], [], [], [], []
    earlier = Path(out_dir) / "benchmark.json"
    stock_qualities = [q for q in qualities if q in STOCK_FLAGS]
    partial = training_only or parallel_only or vs_stock_only or every_config_only or renders_only
    if partial:
        qualities = qualities if renders_only else ()
        rows = json.loads(earlier.read_text())["rows"]
    with tempfile.TemporaryDirectory(prefix="backprop-bench-") as work:
        for quality in qualities:
            for name in scenes:
                row = bench_scene(name, quality, preset, Path(work))
                # a re-measured row takes the earlier one's place in the table
                at = next((i for i, r in enumerate(rows) if (r["scene"], r["quality"]) == (name, quality)), len(rows))
                rows[at:at + 1] = [row]
                click.echo(f"{name} {quality}: warm RTF {row['warm']['rtf']:.2f}, "
                           f"{row['warm']['vs_floor']:.1f}x floor", err=True)
        if every_config_only or not partial:
            every = bench_every_config(Path(work))
        if not (training_only or parallel_only or every_config_only or renders_only):
            for quality in stock_qualities:
                for name in STOCK_SCENES:
                    stock.append(bench_vs_stock(name, quality, Path(work), stock_pairs))
                    click.echo(f"vs stock Manim, {name} {quality}: time {stock[-1]['time_ratio']:.2f}x, "
                               f"bytes {stock[-1]['bytes_ratio']:.2f}x", err=True)
        if not (training_only or vs_stock_only or every_config_only or renders_only):
            parallel = bench_parallel(Path(work))
            for r in parallel:
                click.echo(f"parallel {r['scene']}: --jobs 2 / --jobs 1 = {r['ratio']:.2f}", err=True)
    if parallel_only or keep_training or vs_stock_only or every_config_only or renders_only:
        training = json.loads(earlier.read_text()).get("training", [])
    else:
        training = bench_training()
    for t in training:
        click.echo(f"training {t['setup']}: {t['seconds']:.2f} s", err=True)
    meta = {"machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "cores": os.cpu_count(),
            "preset": preset, "date": time.strftime("%Y-%m-%d")}
    if partial:  # the render rows keep the date and settings they were measured with
        old = json.loads(earlier.read_text())
        meta = meta if renders_only else {**old["meta"], "cores": meta["cores"]}
        parallel = parallel or old.get("parallel", [])
        stock = stock or old.get("stock", [])
        every = every or old.get("every_config", [])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps({"meta": meta, "rows": rows, "training": training,
                                                    "parallel": parallel, "stock": stock, "every_config": every},
                                                   indent=1) + "\n")
    kept = ""  # a hand-written "## Profile" section at the end (a cProfile before and after a change) is kept
    if (out / "benchmark.md").exists() and "\n## Profile" in (out / "benchmark.md").read_text():
        kept = "\n## Profile" + (out / "benchmark.md").read_text().split("\n## Profile", 1)[1]
    (out / "benchmark.md").write_text(markdown(rows, meta, training, parallel, stock, every) + kept)
    click.echo(f"wrote {out / 'benchmark.md'}", err=True)


if __name__ == "__main__":
    main()
