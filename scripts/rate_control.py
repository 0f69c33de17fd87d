#!/usr/bin/env python3
"""x264 settings against a lossless encode of the same frames: KB per video second and PSNR.

Renders CONFIG once losslessly (x264 QP 0, a keyframe at every step as a chunk has them), then re-encodes
its YUV 4:2:0 frames with each setting given as JSON and compares the decoded pictures with the lossless
ones (PSNR over all planes and frames). ``"keyframes": "steps"`` keeps the reference's keyframes (a chunk's
encoding), anything else lets x264 place its own (a whole render's). docs/rate_control.md holds the results.
    .venv/bin/python scripts/rate_control.py assets/configs/zigzag.yaml --quality preview \\
        '{"x264-params": "qp=25", "forced-idr": "1", "keyframes": "steps"}' '{"crf": "21"}'
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import av
import click
import numpy as np
from av.video.frame import PictureType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def reference_frames(path: Path):
    with av.open(str(path)) as f:
        for frame in f.decode(video=0):
            yield frame.to_ndarray(), frame.key_frame


def encode(reference: Path, options: dict, target: Path) -> float:
    """Encode the reference's frames with ``options``; the video's seconds."""
    options = dict(options)
    step_keys = options.pop("keyframes", None) == "steps"
    with av.open(str(reference)) as f:
        v = f.streams.video[0]
        rate, width, height = v.average_rate, v.codec_context.width, v.codec_context.height
    frames = 0
    with av.open(str(target), "w") as out:
        s = out.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"preset": "veryfast", **options}
        for i, (pixels, key) in enumerate(reference_frames(reference)):
            frame = av.VideoFrame.from_ndarray(pixels, format="yuv420p")
            frame.pts, frame.time_base = i, 1 / rate
            frame.pict_type = PictureType.I if key and step_keys else PictureType.NONE
            out.mux(s.encode(frame))
            frames += 1
        out.mux(s.encode(None))
    return frames / float(rate)


def psnr(reference: Path, encoded: Path) -> float:
    squared, count = 0.0, 0
    with av.open(str(encoded)) as f:
        for (ref, _), frame in zip(reference_frames(reference), f.decode(video=0), strict=True):
            d = frame.to_ndarray().astype(np.float64) - ref
            squared, count = squared + float((d * d).sum()), count + d.size
    return float("inf") if squared == 0 else float(10 * np.log10(255 ** 2 * count / squared))


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.argument("settings", nargs=-1, required=True)
@click.option("--quality", default="preview", show_default=True)
def main(config, settings, quality):
    from engine.source import trace_path_for
    from pipeline import render_job

    with tempfile.TemporaryDirectory(prefix="rate-control-") as work:
        lossless = Path(work) / "lossless.mp4"
        # the clip as one chunk (a keyframe at every step), encoded losslessly
        render_job.CHUNK_X264_OPTIONS = {"x264-params": "qp=0", "preset": "ultrafast", "forced-idr": "1"}
        render_job.render_scene(trace_path_for(Path(config)), lossless,
                                render_job.RenderOptions(quality=quality, progress=False, plays=(0, None)))
        for spec in settings:
            target = Path(work) / "encoded.mp4"
            start = time.perf_counter()
            seconds = encode(lossless, json.loads(spec), target)
            took = time.perf_counter() - start
            click.echo(f"{spec}: {target.stat().st_size / 1024 / seconds:.1f} KB/s, PSNR {psnr(lossless, target):.2f} dB,"
                       f" encoded in {took:.1f} s")


if __name__ == "__main__":
    main()
