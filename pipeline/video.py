"""Joining clips into one MP4 with chapters, and subtitles timed to them (PyAV, no ffmpeg binary)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import srt

from engine.languages import LANGUAGES  # a text track's language tag


@dataclass
class Chapter:
    title: str
    start: float  # seconds
    end: float


POSTER_TAG = "backprop-anim poster="


def tag_clip(path: Path, poster: float | None, steps=()) -> None:
    """Write the scene's most informative moment into the clip's metadata (comment; the gallery takes
    its poster frame there) and its steps as chapters (players list them; a lecture cuts its subtitles
    there), remuxing in place. The streams are copied, not re-encoded."""
    tmp = path.with_name(f".{path.name}.tagging{path.suffix}")
    try:
        container = {".mp4": "mp4", ".webm": "webm", ".mov": "mov"}[path.suffix.lower()]
        with av.open(str(path)) as src, av.open(str(tmp), "w", format=container) as out:
            out.metadata.update(src.metadata)
            if poster is not None:
                out.metadata["comment"] = f"{POSTER_TAG}{poster:.3f}"
            streams = {s.index: out.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
            for index, stream in streams.items():  # e.g. a transparent WebM's alpha_mode
                stream.metadata.update(src.streams[index].metadata)
            for packet in src.demux(*(s for s in src.streams if s.index in streams)):
                if packet.dts is None:
                    continue
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
            out.set_chapters(_chapter_marks([(s.name, s.start, s.end) for s in steps]))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _chapter_marks(spans: list[tuple[str, float, float]]) -> list[dict]:
    return [{"id": i + 1, "start": round(start * 1000), "end": round(end * 1000), "time_base": Fraction(1, 1000),
             "metadata": {"title": title}} for i, (title, start, end) in enumerate(spans)]


def read_chapters(path: Path) -> list[tuple[str, float, float]]:
    """A video's chapters as (title, start, end) in seconds: a clip's steps."""
    with av.open(str(path)) as f:
        return [(c["metadata"].get("title", ""), float(c["start"] * c["time_base"]), float(c["end"] * c["time_base"]))
                for c in f.chapters()]


def poster_time(path: Path) -> float | None:
    """The moment tag_clip wrote, if any."""
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


@dataclass
class Part:
    """One clip of a joined video: a chapter may start at it, and its last frame may be held after it."""
    path: Path
    chapter: str | None = None
    pad: float = 0.0  # seconds


CODECS = {"mp4": ("libx264", "aac", "mov_text"), "webm": ("libvpx-vp9", "libopus", "webvtt")}
VIDEO_OPTIONS = {
    # x264's rate control as a whole clip is encoded (x264_rate; x264 is deterministic with its default threads and
    # without VBV: the same frames give the same bytes)
    "libx264": {"preset": "veryfast"},
    # VP9's realtime mode: a few times slower than x264 veryfast instead of fifty
    "libvpx-vp9": {"crf": "23", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}}


def x264_rate(height: int) -> dict[str, str]:
    """x264's rate control for a whole clip this many pixels tall: the fewest bytes at which sigmoid_neuron and
    zigzag stay at least as close to a lossless encode of the same frames as stock Manim's own file of the clip
    (47.9 dB PSNR at preview and at hd; docs/rate_control.md: preview measured for below 720 lines, hd for
    the rest). From 720 lines up, x264 may put up to 5 B-frames in a row, looks 20 frames ahead (an
    animation's frames between moves are nearly all alike), predicts from 3 earlier frames (a formula
    fading out and back in) and places a keyframe at most every 600 frames (10 s at 60 fps; a scene cut
    still gets one): sigmoid_neuron's hd file is 0.49x stock Manim's at 48.1 dB, in the same encoding time.
    A player seeking decodes from the keyframe before (a lecture's chapters each start on one). Its psy-rd
    and adaptive quantisation stay on: tuned for PSNR without them, a fade left a ghost of the old formula on
    the dark background (0.84x the bytes, a higher PSNR, and a picture worse to look at)."""
    if height < 720:
        return {"crf": "21"}
    return {"crf": "21.1", "x264-params": "bframes=5:rc-lookahead=20:ref=3:keyint=600"}


# The style a text track's cues are written in (mov_text and WebVTT encoders take ASS dialogue)
ASS_HEADER = """[Script Info]
ScriptType: v4.00+
PlayResX: 384
PlayResY: 288

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,Sans,16,&Hffffff,&Hffffff,&H0,&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def concat_clips(paths: list[Path], output: Path) -> None:
    """Join clips encoded alike (a chunked render's chunks, each starting on a keyframe) into one MP4 by
    copying their packets: FFmpeg's concat demuxer carries the timestamps on across them."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="backprop-concat-") as listing:
        for path in paths:
            quoted = str(Path(path).resolve()).replace("'", "'\\''")
            listing.write(f"file '{quoted}'\n")
        listing.flush()
        with av.open(listing.name, format="concat", options={"safe": "0"}) as src, \
                av.open(str(output), "w", format="mp4") as out:
            video = src.streams.video[0]
            stream = out.add_stream_from_template(video)
            for packet in src.demux(video):
                if packet.dts is None:
                    continue
                packet.stream = stream
                out.mux(packet)


def clip_frames(path: Path, fps: int) -> int:
    with av.open(str(path)) as f:
        stream = f.streams.video[0]
        return stream.frames or round(float(f.duration / av.time_base) * fps)


def timeline(parts: list[Part], fps: int) -> list[tuple[float, float]]:
    """Each part's start and end in the joined video (its held frames included), in whole frames."""
    spans, frame = [], 0
    for part in parts:
        start = frame
        frame += clip_frames(part.path, fps) + round(part.pad * fps)
        spans.append((start / fps, frame / fps))
    return spans


# Characters players read as markup in a cue, each written as a look-alike: braces and backslashes are ASS
# override codes ({\an8} moves a cue; libass obeys them in .srt too), angle brackets are tags.
_LOOK_ALIKES = str.maketrans({"\\": "⧵", "{": "｛", "}": "｝", "<": "‹", ">": "›"})


def _dialogue(text: str, codec: str = "mov_text") -> bytes:
    """A cue as the ASS dialogue line the text encoders take, its markup characters as look-alikes."""
    text = text.translate(_LOOK_ALIKES)
    if codec == "webvtt":  # FFmpeg's WebVTT encoder passes & through, where a player reads "&amp;" as "&"
        text = text.replace("&", "&amp;")
    return ("0,0,Default,,0,0,0,," + "\\N".join(text.splitlines())).encode()


class _TextTrack:
    def __init__(self, out, codec: str, lang: str, cues: list, default: bool):
        self.stream, self.codec = out.add_stream(codec), codec
        self.stream.time_base = self.stream.codec_context.time_base = Fraction(1, 1000)
        self.stream.codec_context.subtitle_header = ASS_HEADER.encode()
        self.stream.metadata["language"] = LANGUAGES[lang].track_tag if lang in LANGUAGES else "und"
        self.stream.metadata["title"] = f"Narration ({lang})"
        # the first track is the default one, marked: MP4's muxer would infer it, WebM's marks none unless told
        self.stream.disposition = av.stream.Disposition.default if default else av.stream.Disposition(0)
        self.cues = sorted(cues, key=lambda c: c.start)

    def mux_until(self, out, t: float) -> None:
        while self.cues and self.cues[0].start <= t:
            cue = self.cues.pop(0)
            start, length = round(cue.start * 1000), max(1, round((cue.end - cue.start) * 1000))
            packet = self.stream.codec_context.encode_subtitle(
                av.subtitles.subtitle.SubtitleSet.create(_dialogue(cue.text, self.codec), 0, length))
            packet.stream, packet.time_base = self.stream, Fraction(1, 1000)
            packet.pts = packet.dts = start
            packet.duration = length
            out.mux(packet)


class _AudioTrack:
    def __init__(self, out, codec: str, samples, rate: int, title: str):
        self.stream = out.add_stream(codec, rate=rate)
        self.stream.layout = "mono"
        self.stream.metadata["title"] = title
        self.stream.metadata["handler_name"] = title
        self.samples, self.rate, self.done = samples, rate, 0

    def mux_until(self, out, t: float | None) -> None:
        import numpy as np

        end = self.samples.size if t is None else min(self.samples.size, int(t * self.rate))
        step = 4800
        while self.done < end:
            chunk = np.ascontiguousarray(self.samples[self.done:min(end, self.done + step)], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = self.rate, self.done, Fraction(1, self.rate)
            self.done += chunk.size
            out.mux(self.stream.encode(frame))
        if t is None:
            out.mux(self.stream.encode(None))


def join_clips(parts: list[Part], output: Path, fps: int, fmt: str = "mp4", subtitles: dict | None = None,
               audio=None, burner=None, metadata: dict | None = None, audio_title: str = "Narration",
               spans: list[tuple[float, float]] | None = None) -> list[Chapter]:
    """Re-encode ``parts`` (same size and fps) into ``output`` (mp4: H.264, AAC and mov_text; webm: VP9,
    Opus and WebVTT), with a chapter wherever a part starts one.

    ``subtitles``: {language: cues}, a text track each, the first the default one; ``audio``: mono
    samples at pipeline.voice.RATE from the start; ``burner``: draws the cues into the picture
    (pipeline/burn.py); ``metadata``: the file's tags; ``spans``: the parts' ``timeline``, when the caller
    has it already (it opens every clip).
    """
    from pipeline.voice import RATE

    video_codec, audio_codec, text_codec = CODECS[fmt]
    spans = spans or timeline(parts, fps)
    starts = [(part.chapter, start) for part, (start, _) in zip(parts, spans) if part.chapter is not None]
    total = spans[-1][1] if spans else 0.0
    chapters = [Chapter(title, start, starts[i + 1][1] if i + 1 < len(starts) else total)
                for i, (title, start) in enumerate(starts)]
    frame_index = 0
    with av.open(str(parts[0].path)) as first:
        width, height = first.streams.video[0].codec_context.width, first.streams.video[0].codec_context.height
    # bitexact: Matroska's segment, track and chapter UIDs from the content, not at random (same bytes each time)
    container_options = {"fflags": "+bitexact"} if fmt == "webm" else {}
    with av.open(str(output), "w", format=fmt, container_options=container_options) as out:
        out.metadata.update(metadata or {})
        stream = out.add_stream(video_codec, rate=fps)  # first: the track players take as the main one
        stream.width, stream.height = (burner.width, burner.height) if burner is not None else (width, height)
        stream.pix_fmt = "yuv420p"
        options = dict(VIDEO_OPTIONS[video_codec])
        if video_codec == "libx264":
            options.update(x264_rate(stream.height))
        stream.options = options
        tracks = [_TextTrack(out, text_codec, lang, cues, i == 0) for i, (lang, cues) in enumerate((subtitles or {}).items())]
        voice = _AudioTrack(out, audio_codec, audio, RATE, audio_title) if audio is not None else None

        def put(frame):
            nonlocal frame_index
            t = frame_index / fps
            if burner is not None:
                frame = av.VideoFrame.from_ndarray(burner.frame(frame.to_ndarray(format="rgb24"), t), format="rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base = frame_index, Fraction(1, fps)
            out.mux(stream.encode(frame))
            frame_index += 1
            for track in tracks:
                track.mux_until(out, t)
            if voice is not None:
                voice.mux_until(out, t + 1 / fps)

        for part in parts:
            last = None
            with av.open(str(part.path)) as src:
                for frame in src.decode(video=0):
                    last = frame
                    put(frame)
            for _ in range(round(part.pad * fps)):
                put(last)
        out.mux(stream.encode(None))
        for track in tracks:
            track.mux_until(out, float("inf"))
        if voice is not None:
            voice.mux_until(out, None)
        out.set_chapters(_chapter_marks([(c.title, c.start, c.end) for c in chapters]))
    return chapters


def subtitles_srt(cues: list) -> str:
    """SRT cues (pipeline.narration.Cue). SRT has no escapes and players read <...> and {\\...} as
    formatting, so those characters are written as look-alikes, as in the embedded track; blank lines
    (which end a cue) were removed at validation."""
    subs = [srt.Subtitle(i + 1, timedelta(seconds=c.start), timedelta(seconds=c.end),
                         c.text.strip().translate(_LOOK_ALIKES))
            for i, c in enumerate(cues) if c.text.strip()]
    return srt.compose(subs, reindex=True)


def subtitles_vtt(cues: list) -> str:
    def ts(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"

    def escape(text: str) -> str:  # WebVTT's cue text escapes
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    lines = [f"{ts(c.start)} --> {ts(c.end)}\n{escape(c.text.strip())}\n" for c in cues if c.text.strip()]
    return "WEBVTT\n\n" + "\n".join(lines)
