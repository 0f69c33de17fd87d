"""Joining clips into one MP4 with chapters, and subtitles timed to them (PyAV, no ffmpeg binary)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import srt


@dataclass
class Chapter:
    title: str
    start: float  # seconds
    end: float
    narration: str = ""


POSTER_TAG = "backprop-anim poster="


def tag_poster(path: Path, seconds: float) -> None:
    """Write the scene's most informative moment into the clip's metadata (comment), remuxing in place:
    the gallery takes its poster frame there. The streams are copied, not re-encoded."""
    tmp = path.with_name(f".{path.name}.tagging{path.suffix}")
    try:
        container = {".mp4": "mp4", ".webm": "webm", ".mov": "mov"}[path.suffix.lower()]
        with av.open(str(path)) as src, av.open(str(tmp), "w", format=container) as out:
            out.metadata.update(src.metadata)
            out.metadata["comment"] = f"{POSTER_TAG}{seconds:.3f}"
            streams = {s.index: out.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
            for index, stream in streams.items():  # e.g. a transparent WebM's alpha_mode
                stream.metadata.update(src.streams[index].metadata)
            for packet in src.demux(*(s for s in src.streams if s.index in streams)):
                if packet.dts is None:
                    continue
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def poster_time(path: Path) -> float | None:
    """The moment tag_poster wrote, if any."""
    with av.open(str(path)) as f:
        tags = {k.lower(): v for k, v in f.metadata.items()}  # Matroska writes COMMENT
    comment = tags.get("comment", "")
    if comment.startswith(POSTER_TAG):
        try:
            return float(comment[len(POSTER_TAG):])
        except ValueError:
            return None
    return None


def probe_duration(path: Path) -> float:
    with av.open(str(path)) as f:
        return float(f.duration / av.time_base)


def join_clips(clips: list[Path], titles: list[str], output: Path, fps: int, crf: int = 23) -> list[Chapter]:
    """Re-encode ``clips`` (same size and fps) into ``output`` with one chapter per clip."""
    chapters, frame_index = [], 0
    with av.open(str(output), "w", format="mp4") as out:
        stream = None
        for clip, title in zip(clips, titles):
            start = frame_index / fps
            with av.open(str(clip)) as src:
                for frame in src.decode(video=0):
                    if stream is None:
                        stream = out.add_stream("libx264", rate=fps)
                        stream.width, stream.height = frame.width, frame.height
                        stream.pix_fmt = "yuv420p"
                        stream.options = {"crf": str(crf), "preset": "veryfast"}
                    frame = frame.reformat(format="yuv420p")
                    frame.pts, frame.time_base = frame_index, Fraction(1, fps)
                    out.mux(stream.encode(frame))
                    frame_index += 1
            chapters.append(Chapter(title, start, frame_index / fps))
        out.mux(stream.encode(None))
        out.set_chapters([{"id": i + 1, "start": round(c.start * 1000), "end": round(c.end * 1000),
                           "time_base": Fraction(1, 1000), "metadata": {"title": c.title}}
                          for i, c in enumerate(chapters)])
    return chapters


def subtitles_srt(chapters: list[Chapter]) -> str:
    """SRT cues, one per narrated chapter. SRT has no escapes and players read <...> as formatting, so
    angle brackets are written as ‹ and ›; blank lines (which end a cue) were removed at validation."""
    subs = [srt.Subtitle(i + 1, timedelta(seconds=c.start), timedelta(seconds=c.end),
                         c.narration.strip().replace("<", "‹").replace(">", "›"))
            for i, c in enumerate(chapters) if c.narration.strip()]
    return srt.compose(subs, reindex=True)


def subtitles_vtt(chapters: list[Chapter]) -> str:
    def ts(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"

    def escape(text: str) -> str:  # WebVTT's cue text escapes
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    cues = [f"{ts(c.start)} --> {ts(c.end)}\n{escape(c.narration.strip())}\n"
            for c in chapters if c.narration.strip()]
    return "WEBVTT\n\n" + "\n".join(cues)
