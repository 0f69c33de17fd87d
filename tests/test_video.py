"""Joining clips and writing subtitles, on tiny clips made here (expected values written out)."""
import av
import pytest

from helpers import write_clip
from pipeline.narration import Cue
from pipeline.video import Part, join_clips, probe_duration, subtitles_srt, subtitles_vtt


def test_clips_join_with_a_chapter_each_at_the_right_times(tmp_path):
    a, b = write_clip(tmp_path / "a.mp4", 15), write_clip(tmp_path / "b.mp4", 25, shade=200)
    assert probe_duration(a) == pytest.approx(1.5, abs=0.11)
    out = tmp_path / "joined.mp4"
    chapters = join_clips([Part(a, "Chain rule"), Part(b, "Gates")], out, fps=10)
    assert [(c.title, c.start, c.end) for c in chapters] == [("Chain rule", 0.0, 1.5), ("Gates", 1.5, 4.0)]
    with av.open(str(out)) as f:
        assert f.format.name.startswith("mov,mp4")
        stream = f.streams.video[0]
        assert stream.average_rate == 10 and (stream.width, stream.height) == (64, 48)
        assert sum(1 for _ in f.decode(video=0)) == 40
        marks = f.chapters()
    # (the MP4 muxer numbers chapters itself, whatever ids they are given)
    assert [m["metadata"]["title"] for m in marks] == ["Chain rule", "Gates"]
    assert [(m["start"] * m["time_base"], m["end"] * m["time_base"]) for m in marks] == [(0, 1.5), (1.5, 4)]
    assert probe_duration(out) == pytest.approx(4.0, abs=0.11)


def test_subtitle_files_number_and_time_their_cues():
    cues = [Cue(0.0, 2.5, "first <b>"), Cue(2.5, 3725.25, ""), Cue(3725.25, 3730.0, "third & last")]
    assert subtitles_srt(cues) == ("1\n00:00:00,000 --> 00:00:02,500\nfirst ‹b›\n\n"
                                       "2\n01:02:05,250 --> 01:02:10,000\nthird & last\n\n")
    assert subtitles_vtt(cues) == ("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nfirst &lt;b&gt;\n\n"
                                       "01:02:05.250 --> 01:02:10.000\nthird &amp; last\n")


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_embedded_text_tracks_keep_backslashes_braces_and_tags_as_text(tmp_path, fmt):
    """A narration's \\N, \\h, {\\an8}, <b> and &amp; are words to read, not markup: the stored cue (mov_text:
    plain text after a 2-byte length; WebVTT: text whose & and < are markup, read as html.unescape does)
    shows every character, the markup ones as their look-alikes (as the .srt writes them)."""
    import html

    clip = write_clip(tmp_path / "a.mp4", 5)
    narration = "a \\ b {\\an8}{\\i1}c} \\N \\h d\nx < <b>y</b> & &amp; z"
    shown = "a ⧵ b ｛⧵an8｝｛⧵i1｝c｝ ⧵N ⧵h d\nx ‹ ‹b›y‹/b› & &amp; z"
    out = tmp_path / f"o.{fmt}"
    join_clips([Part(clip, "A")], out, fps=10, fmt=fmt, subtitles={"en": [Cue(0.0, 0.4, narration)]})
    with av.open(str(out)) as f:
        [packet] = [p for p in f.demux(f.streams.subtitles[0]) if p.size]
        stored = bytes(packet)
    if fmt == "mp4":
        assert int.from_bytes(stored[:2], "big") == len(stored) - 2
        assert stored[2:].decode() == shown
    else:
        assert "<" not in stored.decode()
        assert html.unescape(stored.decode()) == shown


@pytest.mark.parametrize("suffix,codec", [(".mp4", "libx264"), (".mov", "libx264"), (".webm", "libvpx-vp9")])
def test_a_clip_s_poster_moment_and_steps_are_read_back_from_each_container(tmp_path, suffix, codec):
    # tag_clip writes the poster moment as the container's comment (Matroska, WebM's container, keeps it as
    # COMMENT) and the steps as chapters; the gallery and the lecture read both back from any of the three
    from fractions import Fraction

    import numpy as np

    from pipeline.render_job import StepTime
    from pipeline.video import poster_time, read_chapters, tag_clip

    path = tmp_path / f"c{suffix}"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert poster_time(path) is None
    tag_clip(path, 1.25, [StepTime("a", 0.0, 0.8), StepTime("b", 0.8, 2.0)])
    assert poster_time(path) == 1.25
    assert read_chapters(path) == [("a", 0.0, 0.8), ("b", 0.8, 2.0)]


def test_a_clip_of_720_lines_or_more_is_encoded_as_hd_and_a_smaller_one_as_preview():
    # `--resolution 1280x720` is encoded as hd is (more B-frames, a longer lookahead), 718 lines as preview is
    from pipeline.video import x264_rate

    assert x264_rate(720) == x264_rate(1080) == x264_rate(2160) != x264_rate(718) == x264_rate(480)
    assert "bframes" in x264_rate(720)["x264-params"]
