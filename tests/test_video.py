"""Joining clips and writing subtitles, on tiny clips made here (expected values written out)."""
from pathlib import Path

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


@pytest.mark.parametrize("height,rate", [
    (240, {"crf": "21"}), (719, {"crf": "21"}),  # below 720 lines: preview's measure
    (720, {"crf": "21.1", "x264-params": "bframes=5:rc-lookahead=20:ref=3:keyint=600"}),
    (721, {"crf": "21.1", "x264-params": "bframes=5:rc-lookahead=20:ref=3:keyint=600"}),
])
def test_x264_s_rate_control_either_side_of_720_lines(height, rate):
    from pipeline.video import x264_rate
    assert x264_rate(height) == rate


@pytest.mark.parametrize("text,codec,dialogue", [
    ("plain", "mov_text", "plain"),
    ("one\ntwo\nthree", "mov_text", "one\\Ntwo\\Nthree"),  # ASS's line break
    ("a & b", "mov_text", "a & b"),
    ("a & b", "webvtt", "a &amp; b"),  # WebVTT reads & as markup
    ("{\\i1}<b>", "webvtt", "｛⧵i1｝‹b›"),
])
def test_a_cue_is_an_ass_dialogue_line_with_its_markup_written_as_look_alikes(text, codec, dialogue):
    from pipeline.video import _dialogue
    assert _dialogue(text, codec) == ("0,0,Default,,0,0,0," + "," + dialogue).encode()


def test_each_part_of_a_joined_video_is_timed_in_whole_frames_its_held_frames_included(monkeypatch):
    from pipeline import video

    frames = {"a": 15, "b": 25, "c": 7}
    monkeypatch.setattr(video, "clip_frames", lambda path, fps: frames[str(path)])
    # at 10 fps: a held 0.5 s is 5 frames, 0.26 s rounds to 3 and 0.04 s to none
    parts = [Part(Path("a"), pad=0.5), Part(Path("b"), pad=0.26), Part(Path("c"), pad=0.04)]
    assert video.timeline(parts, 10) == [(0.0, 2.0), (2.0, 4.8), (4.8, 5.5)]
    assert video.timeline([], 10) == []


def test_a_chapter_runs_to_the_next_chapter_s_start_across_parts_without_one_and_the_last_to_the_end(tmp_path):
    a, b, c = (write_clip(tmp_path / f"{n}.mp4", k) for n, k in (("a", 10), ("b", 5), ("c", 8)))
    out = tmp_path / "j.mp4"
    chapters = join_clips([Part(a, "A", pad=0.26), Part(b), Part(c, "C")], out, fps=10)
    assert [(ch.title, ch.start, ch.end) for ch in chapters] == [("A", 0.0, 1.8), ("C", 1.8, 2.6)]
    with av.open(str(out)) as f:
        assert sum(1 for _ in f.decode(video=0)) == 26  # 10 + 3 held (0.26 s) + 5 + 8


@pytest.mark.parametrize("cue,timing", [
    (Cue(59.9996, 61.0006, "x"), "00:01:00.000 --> 00:01:01.001"),  # to the millisecond, rounded
    (Cue(3599.9996, 3600.5, "x"), "01:00:00.000 --> 01:00:00.500"),
    (Cue(0.0004, 0.0016, "x"), "00:00:00.000 --> 00:00:00.002"),
])
def test_a_webvtt_cue_s_times_are_rounded_to_the_millisecond(cue, timing):
    assert subtitles_vtt([cue]) == f"WEBVTT\n\n{timing}\nx\n"


def test_a_subtitle_file_leaves_out_blank_cues_and_strips_the_rest():
    cues = [Cue(0.0, 1.0, "  \n "), Cue(1.0, 2.0, "  said \n")]
    assert subtitles_vtt(cues) == "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nsaid\n"
    assert subtitles_srt(cues) == "1\n00:00:01,000 --> 00:00:02,000\nsaid\n\n"


@pytest.mark.parametrize("comment,poster", [
    ("backprop-anim poster=2.500", 2.5), ("backprop-anim poster=0.000", 0.0), ("backprop-anim poster=soon", None),
    ("made elsewhere", None), ("poster=2.5", None), ("note: backprop-anim poster=2.5", None), ("", None),
])
def test_a_clip_s_poster_moment_is_read_only_from_its_own_tag(tmp_path, comment, poster):
    from fractions import Fraction

    import numpy as np

    from pipeline.video import poster_time

    path = tmp_path / "c.mp4"
    with av.open(str(path), "w") as out:
        if comment:
            out.metadata["comment"] = comment
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
        frame.pts, frame.time_base = 0, Fraction(1, 10)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert poster_time(path) == poster


def test_chapter_marks_are_numbered_from_1_in_milliseconds():
    from fractions import Fraction

    from pipeline.video import _chapter_marks

    assert _chapter_marks([("a", 0.0, 1.2344), ("b", 1.2344, 2.0006)]) == [
        {"id": 1, "start": 0, "end": 1234, "time_base": Fraction(1, 1000), "metadata": {"title": "a"}},
        {"id": 2, "start": 1234, "end": 2001, "time_base": Fraction(1, 1000), "metadata": {"title": "b"}}]


@pytest.mark.parametrize("fmt", ["mp4", "webm"])
def test_each_text_track_is_tagged_with_its_language_and_only_the_first_is_the_default(tmp_path, fmt):
    # (a WebM's first track was not marked: Matroska marks none when none is marked, where MP4 marks the first)
    clip = write_clip(tmp_path / "a.mp4", 5)
    out = tmp_path / f"o.{fmt}"
    join_clips([Part(clip, "A")], out, fps=10, fmt=fmt,
               subtitles={"ko": [Cue(0.0, 0.2, "가")], "en": [Cue(0.0, 0.2, "a")]})
    with av.open(str(out)) as f:
        # (MP4 keeps a track's title as its name, and its chapters as a text track of their own, untitled)
        titled = [(s, s.metadata.get("title") or s.metadata.get("name")) for s in f.streams.subtitles]
        tracks = [(s.metadata.get("language"), title, bool(s.disposition & av.stream.Disposition.default))
                  for s, title in titled if title]
        codec = f.streams.video[0].codec_context.name
    assert tracks == [("kor", "Narration (ko)", True), ("eng", "Narration (en)", False)]
    assert codec == {"mp4": "h264", "webm": "vp9"}[fmt]


@pytest.mark.parametrize("name,codec", [("C.MP4", "h264"), ("C.WebM", "vp9"), ("c.webm", "vp9")])
def test_a_clip_of_any_suffix_case_is_tagged_and_its_frames_counted(tmp_path, name, codec):
    # (a WebM's stream has no frame count: it is its length at its rate)
    from pipeline.render_job import StepTime
    from pipeline.video import clip_frames, poster_time, read_chapters, tag_clip

    path = write_clip(tmp_path / name, 12, ramp=True)
    with av.open(str(path)) as f:
        assert f.streams.video[0].codec_context.name == codec
    tag_clip(path, 0.5, [StepTime("only", 0.0, 1.2)])
    assert poster_time(path) == 0.5 and read_chapters(path) == [("only", 0.0, 1.2)]
    assert clip_frames(path, 10) == 12 and [p.name for p in tmp_path.iterdir()] == [name]  # no temporary left


def test_chunks_in_a_folder_with_a_quote_in_its_name_are_joined_whole(tmp_path):
    from pipeline.video import clip_frames, concat_clips

    folder = tmp_path / "it's here"
    folder.mkdir()
    parts = [write_clip(folder / f"{k}.mp4", n, ramp=True) for k, n in enumerate((5, 7))]
    concat_clips(parts, tmp_path / "joined.mp4")
    assert clip_frames(tmp_path / "joined.mp4", 10) == 12


@pytest.mark.parametrize("fmt,codec", [("mp4", "aac"), ("webm", "opus")])
def test_a_voice_track_is_mono_at_48_khz_titled_and_as_long_as_its_samples(tmp_path, fmt, codec):
    import numpy as np

    from pipeline.voice import RATE, read_audio

    clip = write_clip(tmp_path / "a.mp4", 10)  # 1 s of picture
    t = np.arange(int(0.6 * RATE)) / RATE
    out = tmp_path / f"o.{fmt}"
    join_clips([Part(clip, "A")], out, fps=10, fmt=fmt, audio=(0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
               audio_title="Narration (draft voice)")
    with av.open(str(out)) as f:
        [audio] = f.streams.audio
        assert (audio.codec_context.name, audio.codec_context.sample_rate, audio.codec_context.layout.name) == \
            (codec, 48000, "mono")
        assert "Narration (draft voice)" in (audio.metadata.get("title"), audio.metadata.get("handler_name"))
        first = next(p for p in f.demux(audio) if p.pts is not None)
        assert float(first.pts * first.time_base) < 0.03  # from the video's start (an encoder's priming before it)
    sound = read_audio(out)
    loud = np.flatnonzero(np.abs(sound) > 0.1)
    assert loud[0] / RATE < 0.05 and abs(loud[-1] / RATE - 0.6) < 0.05  # the tone from the start, 0.6 s long
