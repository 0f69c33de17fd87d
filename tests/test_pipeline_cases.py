"""The pipeline's small functions at their boundaries and over each option value (language, theme,
quality, pace), called directly: each case's expected value is worked by hand from what a user should get."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from engine.config import ConfigError
from pipeline.narration import Cue, StepNarration


# ---- pipeline/render_job.py ----

@pytest.mark.parametrize("moment,index", [
    (None, None),  # the scene marks no poster
    (0.5, 0),  # before the first animation ends: the first one (--upto 0 still draws it)
    (1.0, 0),  # exactly when the first ends
    (2.0 - 5e-7, 1),  # a float a hair short of the second's end still counts it
    (2.5, 1),
    (3.0, 2),  # the last one's end
    (9.0, 2),  # past the end: the last
])
def test_the_poster_animation_is_the_last_one_ending_by_the_moment(moment, index):
    from pipeline.render_job import animation_ending_by
    assert animation_ending_by([1.0, 2.0, 3.0], moment) == index


@pytest.mark.parametrize("quality,chunk,expected", [
    ("low", False, {"crf": "21"}),  # 240 lines: preview's rate control
    ("preview", False, {"crf": "21"}),
    ("hd", False, {"crf": "21.1", "x264-params": "bframes=5:rc-lookahead=20:ref=3:keyint=600"}),
    ("4k", False, {"crf": "21.1", "x264-params": "bframes=5:rc-lookahead=20:ref=3:keyint=600"}),
    ("preview", True, {"x264-params": "qp=25", "forced-idr": "1"}),  # a chunk: constant quantiser, IDR at steps
    ("hd", True, {"x264-params": "qp=25", "forced-idr": "1"}),
])
def test_x264_settings_follow_the_quality_and_whether_the_clip_is_a_chunk(quality, chunk, expected):
    from pipeline.render_job import QUALITIES, X264_PRESET, x264_options
    assert x264_options(QUALITIES[quality], chunk) == {**expected, "preset": X264_PRESET}


@pytest.mark.parametrize("text,size", [("16x7680", (16, 7680)), ("7680x7680", (7680, 7680)), ("18x16", (18, 16)),
                                       ("7678x16", (7678, 16))])
def test_a_resolution_at_either_end_of_the_range_is_taken_for_width_and_height(text, size):
    from pipeline.render_job import parse_resolution
    assert parse_resolution(text) == size


@pytest.mark.parametrize("text", ["16x14", "7680x7682", "10000x720", "1280x720x2", "16x17"])
def test_a_resolution_just_outside_the_range_is_refused(text):
    from pipeline.render_job import parse_resolution
    with pytest.raises(ValueError):
        parse_resolution(text)


@pytest.mark.parametrize("numbers,refused", [(1, False), (1499, False), (1500, False), (1501, True), (3000, True)])
def test_a_graph_drawing_in_ten_minutes_or_less_is_drawn_and_one_number_more_is_refused(numbers, refused, monkeypatch):
    # 0.4 s a number: 1,500 numbers take exactly the 10-minute budget
    from engine.config import ConfigError
    from pipeline.render_job import check_draw_budget

    monkeypatch.setenv("BACKPROP_ALLOW_LONG", "0")
    trace = {"nodes": [{"value": [1.0] * (numbers - 1)}, {"value": 2.0}], "config": {"inputs": {"x": [1.0] * 3}}}
    if refused:
        with pytest.raises(ConfigError, match=r"key 'inputs.x': its 3 elements"):
            check_draw_budget(trace, Path("t.json"))
        monkeypatch.setenv("BACKPROP_ALLOW_LONG", "1")
    check_draw_budget(trace, Path("t.json"))


@pytest.mark.parametrize("value,count", [(None, 0), (3.0, 1), (0.0, 1), ([], 0), ([1.0, None], 1),
                                         ([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], 6), ([[[1.0]]], 1)])
def test_a_trace_value_counts_every_number_at_any_depth(value, count):
    from pipeline.render_job import _count
    assert _count(value) == count


def test_a_render_s_environment_is_as_it_was_afterwards_set_unset_and_changed(monkeypatch):
    import os

    from pipeline.render_job import environment

    monkeypatch.setenv("BPA_TEST_KEPT", "before")
    monkeypatch.delenv("BPA_TEST_NEW", raising=False)
    with pytest.raises(RuntimeError):
        with environment({"BPA_TEST_KEPT": "during", "BPA_TEST_NEW": "x"}):
            assert (os.environ["BPA_TEST_KEPT"], os.environ["BPA_TEST_NEW"]) == ("during", "x")
            raise RuntimeError  # restored on an error too
    assert os.environ["BPA_TEST_KEPT"] == "before" and "BPA_TEST_NEW" not in os.environ


# ---- pipeline/burn.py ----

class _MonoFont:
    """Every character 10 pixels wide: wrap's widths worked by hand."""
    def getlength(self, text):
        return 10 * len(text)


@pytest.mark.parametrize("text,lines", [
    ("ab cd ef", ["ab cd", "ef"]),  # "ab cd" is exactly the 50 pixels: it fits
    ("ab cde f", ["ab", "cde f"]),  # "ab cde" is 60: cut before cde
    ("abcdefghijk", ["abcdefghijk"]),  # one word wider than the band stays whole
    ("a abcdefghijk b", ["a", "abcdefghijk", "b"]),
    ("ab\ncd", ["ab", "cd"]),  # a line break in the narration stays one
    ("ab\n\n  \ncd", ["ab", "cd"]),  # blank lines give no empty line
    ("", []),
    ("   ", []),
])
def test_a_burnt_in_subtitle_wraps_at_words_to_the_band_s_width(text, lines):
    from pipeline.burn import wrap
    assert wrap(text, _MonoFont(), 50) == lines


@pytest.mark.parametrize("colour,rgb", [("#1e1e1e", (30, 30, 30)), ("#FFFFFF", (255, 255, 255)),
                                        ("102030", (16, 32, 48)), ("#00ff80", (0, 255, 128))])
def test_a_theme_colour_is_read_as_red_green_blue(colour, rgb):
    from pipeline.burn import _hex
    assert _hex(colour) == rgb


@pytest.mark.parametrize("size,picture,x0", [
    # the band is 18% of the height (rounded); the picture, scaled alike both ways into the rest, even-sized
    ((1280, 720), (1048, 590), 116),  # band 130: 1280 x 590/720 = 1048.9 -> 1048
    ((854, 480), (700, 394), 77),  # band 86: 854 x 394/480 = 701.0 -> 700 (even)
    ((1920, 1080), (1576, 886), 172),  # band 194: 1920 x 886/1080 = 1575.1 -> 1576
    ((200, 100), (164, 82), 18),  # band 18
])
def test_the_picture_is_scaled_above_the_subtitle_band_and_centred(size, picture, x0):
    from pipeline.burn import Burner
    burner = Burner(*size, [], "#000000", "#ffffff", "DejaVu Sans")
    assert (burner.pic_w, burner.pic_h, burner.x0) == (*picture, x0)


@pytest.mark.parametrize("background", ["#000000", "#fafafa"])
def test_a_burnt_frame_without_a_cue_is_the_picture_framed_in_the_theme_background(background):
    from pipeline.burn import Burner

    burner = Burner(200, 100, [Cue(5.0, 6.0, "later")], background, "#808080", "DejaVu Sans")
    out = burner.frame(np.full((100, 200, 3), 90, np.uint8), 1.0)
    bg = int(background[1:3], 16)
    assert out.shape == (100, 200, 3)
    assert np.all(out[:82, 18:182] == 90)  # the picture, whole
    assert np.all(out[:, :18] == bg) and np.all(out[:, 182:] == bg) and np.all(out[82:] == bg)


# ---- pipeline/voice.py ----

@pytest.mark.parametrize("segments,total,expected", [
    ([], 1.5, [(0.0, 1.5, 0)]),  # silence, 1.5 s long
    ([(0.5, 1.0)], 1.0, [(0.0, 0.5, 0), (0.5, 1.0, 1)]),  # longer than the track: cut at its end
    ([(0.0, 0.25)], 1.0, [(0.0, 0.25, 1), (0.25, 1.0, 0)]),  # the last segment ends in silence
    ([(1.0, 1.0)], 1.0, [(0.0, 1.0, 0)]),  # starting at the end: nothing of it
    ([(2.0, 1.0)], 1.0, [(0.0, 1.0, 0)]),  # starting past it
    ([(0.0, 1.0), (0.5, 0.25)], 1.0, [(0.0, 0.5, 1), (0.5, 0.75, 2), (0.75, 1.0, 0)]),  # cut where the next starts
])
def test_the_voice_track_has_each_segment_from_its_start_up_to_the_next_or_the_end(segments, total, expected):
    # segment k (from 1) is k throughout: which one plays where is read from the samples
    from pipeline.voice import RATE, mix

    track = mix([(start, np.full(int(length * RATE), k + 1, np.float32)) for k, (start, length) in enumerate(segments)],
                total)
    assert track.size == int(total * RATE) and track.dtype == np.float32
    for a, b, value in expected:
        assert np.all(track[int(a * RATE):int(b * RATE)] == value), (a, b, value)


# ---- pipeline/narration.py ----

@pytest.mark.parametrize("narration,lang,fallback,text", [
    ("said in all", "ko", True, "said in all"),  # one text: every language's
    ("said in all", "ko", False, "said in all"),
    ({"en": "hello", "ko": "안녕"}, "ko", True, "안녕"),
    ({"en": "hello", "ko": "안녕"}, "en", False, "hello"),
    ({"en": "hello"}, "ko", True, "hello"),  # no Korean: the default language's, when asked for
    ({"en": "hello"}, "ko", False, ""),  # a Korean track leaves it out
    ({"en": "hello", "ko": ""}, "ko", True, "hello"),  # an empty text is none
    ({"ko": "안녕"}, "en", True, ""),  # English is the default: nothing to fall back on
])
def test_a_narration_in_a_language_falls_back_to_english_only_when_asked(narration, lang, fallback, text):
    from pipeline.narration import text_in
    assert text_in(narration, lang, fallback) == text


@pytest.mark.parametrize("text,lang,seconds", [
    ("x" * 22, "en", 1.5),  # 1.47 s of reading: the least a cue stays up
    ("x" * 23, "en", 23 / 15),
    ("가" * 18, "ko", 1.5),  # exactly 1.5 s at 12 a second
    ("가" * 19, "ko", 19 / 12),
    ("가" * 23, "ko", 23 / 12),  # Korean read slower than English
    ("a\n\t" + " " * 40 + "b", "en", 1.5),  # a run of whitespace counts as one space: "a b"
])
def test_reading_time_is_the_language_s_speed_and_never_under_a_second_and_a_half(text, lang, seconds):
    from pipeline.narration import reading_seconds
    assert reading_seconds(text, lang) == pytest.approx(seconds)


@pytest.mark.parametrize("narration,tidied", [
    ("  one\n\n\ttwo  \n", "one\ntwo"),  # blank lines would end a subtitle cue
    ("a\tb", "a b"),
    ({"en": " x ", "ko": "가\n\n나"}, {"en": "x", "ko": "가\n나"}),
    ("👩\u200d💻 and \u200c", "👩\u200d💻 and \u200c"),  # joiners are kept
    ("a" * 2000, "a" * 2000),  # the longest text
])
def test_narration_is_tidied_into_one_paragraph_of_lines(narration, tidied):
    from pipeline.narration import tidy_text
    assert tidy_text(narration) == tidied


@pytest.mark.parametrize("narration,message", [
    ("a" * 2001, "is 2,001 characters; a narration text is at most 2,000"),
    ({"en": "fine", "ko": "a" * 2001}, "is 2,001 characters"),  # every language's text is checked
    ("x --> y", "must not contain '-->'"),
    ("bell\x07", r"control characters \(U\+0007\)"),
    ("rtl\u202e", r"control characters \(U\+202E\)"),
])
def test_narration_too_long_or_with_a_cue_arrow_or_control_characters_is_refused(narration, message):
    from pipeline.narration import tidy_text
    with pytest.raises(ValueError, match=message):
        tidy_text(narration)


@pytest.mark.parametrize("step,ok", [(0, True), (3, True), (-1, False), ("back", True), ("", False), ("  ", False)])
def test_a_step_is_an_index_from_0_or_a_name_that_is_not_blank(step, ok):
    from pydantic import ValidationError
    if ok:
        assert StepNarration(step=step, narration="n").step == step
    else:
        with pytest.raises(ValidationError):
            StepNarration(step=step, narration="n")


def test_a_step_s_narration_in_an_unknown_language_is_refused():
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="unknown language 'fr' \\(use en, ko\\)"):
        StepNarration(step=0, narration={"en": "a", "fr": "b"})


# ---- pipeline/lecture.py ----

def _key_of(tmp_path, kind="title", arg="Intro", sub="1 / 2", pace=1.0, holds=(), quality="preview", lang="en",
            theme="dark", fingerprint=b"code", trace="{}"):
    from pipeline.lecture import Item, _key
    from pipeline.render_job import RenderOptions, Timing

    if kind == "scene":
        (tmp_path / "t.json").write_text(trace)
        arg = str(tmp_path / "t.json")
    item = Item(kind, arg, sub, Timing(pace, holds))
    return _key(fingerprint, item, RenderOptions(quality=quality, lang=lang, theme=theme))


@pytest.mark.parametrize("change", [
    {"lang": "ko"}, {"theme": "light"}, {"quality": "hd"}, {"quality": "low"}, {"pace": 1.5}, {"holds": ((0, 2.0),)},
    {"arg": "Intro!"}, {"sub": "2 / 2"}, {"sub": None}, {"fingerprint": b"code2"}, {"kind": "scene"},
])
def test_a_cached_clip_s_key_changes_with_everything_that_changes_its_pixels(tmp_path, change):
    assert _key_of(tmp_path, **change) != _key_of(tmp_path)
    assert _key_of(tmp_path, **change) == _key_of(tmp_path, **change)  # and only with that


def test_a_cached_scene_clip_s_key_follows_its_trace_and_its_holds_per_step(tmp_path):
    base = _key_of(tmp_path, kind="scene", trace='{"a": 1}')
    assert _key_of(tmp_path, kind="scene", trace='{"a": 2}') != base
    assert _key_of(tmp_path, kind="scene", trace='{"a": 1}', holds=((1, 2.0),)) != \
        _key_of(tmp_path, kind="scene", trace='{"a": 1}', holds=((2, 2.0),))
    assert _key_of(tmp_path, kind="scene", trace='{"a": 1}', holds=(("back", 2.0),)) != \
        _key_of(tmp_path, kind="scene", trace='{"a": 1}', holds=(("back", 2.5),))


@pytest.mark.parametrize("narration,by_lang", [
    ("", {}), ("Hi", {"en": "Hi", "ko": "Hi"}), ({"ko": "안녕"}, {"ko": "안녕"}),
    ({"en": "a", "ko": "b"}, {"en": "a", "ko": "b"}),
])
def test_a_card_s_narration_is_kept_per_language(narration, by_lang):
    from pipeline.lecture import _by_lang
    assert _by_lang(narration) == by_lang


def _cue_items(first_step_at: float = 1.0):
    from pipeline.lecture import Item

    card = Item("title", "T", narration_by_lang={"en": "Welcome", "ko": "환영"})
    scene = Item("scene", "x", narration_by_lang={"en": "Card"},
                 steps=[StepNarration(step=1, narration={"en": "one"}), StepNarration(step=2, narration="two"),
                        StepNarration(step=3, narration="empty")],
                 step_spans=[(first_step_at, 2.0), (2.0, 3.0), (3.0, 3.0)])  # the last step takes no time
    return [card, scene], [(0.0, 5.0), (5.0, 10.0)]


@pytest.mark.parametrize("lang,fallback,cues", [
    # the lecture's own language, English filling in what has no translation
    ("en", True, [(0, 5, "Welcome"), (5, 6, "Card"), (6, 7, "one"), (7, 8, "two")]),
    ("ko", True, [(0, 5, "환영"), (5, 6, "Card"), (6, 7, "one"), (7, 8, "two")]),
    # another language's track: only what is said in it (a text for every language included)
    ("ko", False, [(0, 5, "환영"), (7, 8, "two")]),
])
def test_a_text_track_has_each_item_s_narration_up_to_its_first_step_then_each_step_s(lang, fallback, cues):
    from pipeline.lecture import _cues
    items, spans = _cue_items()
    assert _cues(items, spans, lang, fallback) == [Cue(float(a), float(b), t) for a, b, t in cues]


def test_a_scene_s_narration_is_left_out_when_its_first_step_starts_with_the_scene():
    from pipeline.lecture import _cues
    items, spans = _cue_items(first_step_at=0.0)
    assert _cues(items, spans, "en", True) == [Cue(0.0, 5.0, "Welcome"), Cue(5.0, 7.0, "one"), Cue(7.0, 8.0, "two")]


@pytest.mark.parametrize("pace,natural,recorded,card,fitted", [
    (1.0, 10.0, 10.0, 0.0, 1.0),  # the voice as long as the scene: as it is
    (1.0, 10.0, 5.0, 0.0, 2.0),  # half as long: twice as fast
    (1.0, 10.0, 4.0, 0.0, 2.0),  # faster than twice: no faster than PACE_RANGE allows
    (1.0, 10.0, 20.0, 0.0, 0.5),  # twice as long: half as fast
    (1.0, 10.0, 40.0, 0.0, 0.5),  # slower than half: held at 0.5
    (1.5, 10.0, 10.0, 0.0, 1.5),  # the lecture's own pace, as the scene lasts 10 s at it
    (1.0, 10.0, 12.0, 2.0, 1.0),  # the chapter's card keeps its 2 s of the voice's 12
    (1.0, 10.0, 0.0, 0.0, 2.0),  # a voice of no length
])
def test_a_chapter_is_paced_to_its_recorded_voice_within_half_to_twice(monkeypatch, pace, natural, recorded, card,
                                                                     fitted):
    import sys
    import types

    from pipeline import lecture
    from pipeline.render_job import RenderOptions, Timing
    from pipeline.voice import RATE

    asked = []
    monkeypatch.setattr(lecture, "_natural_seconds", lambda item, options, fp: asked.append(options.timing) or natural)
    monkeypatch.setitem(sys.modules, "scenes.title_card",
                        types.SimpleNamespace(TitleCard=types.SimpleNamespace(seconds=lambda timing: card)))
    item = lecture.Item("scene", "t.json", timing=Timing(pace, ((1, 3.0),)), recorded=np.zeros(int(recorded * RATE)),
                        card=lecture.Item("title", "T") if card else None)
    assert lecture._fit_pace(item, RenderOptions(timing=Timing(pace)), b"") == pytest.approx(fitted)
    assert asked == [Timing(pace, ((1, 3.0),))]  # the scene timed at the lecture's pace, with its holds


@pytest.mark.parametrize("clip,auto", [
    ({}, True),  # nothing of its own: every step says what it shows
    ({"narration": "auto"}, True),
    ({"narration": ""}, False),  # silent, as asked
    ({"narration": "Hello"}, False),
    ({"steps": [{"step": 0, "narration": "a"}]}, False),
    ({"narration_audio": "v.wav"}, False),
])
def test_a_clip_is_narrated_from_its_trace_unless_it_says_something_or_asks_for_silence(clip, auto):
    from pipeline.lecture import ClipSpec
    assert ClipSpec.model_validate({"config": "c.yaml", **clip}).auto_narrated is auto


@pytest.mark.parametrize("audio,files", [
    (None, []), ("v.wav", ["v.wav"]), ({"en": "e.wav", "ko": "k.mp3"}, ["e.wav", "k.mp3"]),
])
def test_every_recorded_voice_in_every_language_is_an_input_of_the_lecture(tmp_path, audio, files):
    from pipeline.lecture import LectureSpec, audio_files, input_files

    clips = [{"config": "a.yaml", "narration_audio": audio}, {"config": "sub/b.yaml"}]
    spec = LectureSpec.model_validate({"title": "L", "clips": clips})
    lecture = tmp_path / "l.yaml"
    assert audio_files(lecture, spec) == [tmp_path / f for f in files]
    configs = [tmp_path / "a.yaml", tmp_path / "sub/b.yaml"]
    assert input_files(lecture, spec, configs) == [lecture, *configs, *(tmp_path / f for f in files)]


# ---- pipeline/course.py ----

@pytest.mark.parametrize("seconds,size,over", [
    (7200, 10e9, False),  # exactly two hours and 10 GB: within the budget
    (7201, 0, True), (0, 10e9 + 1, True), (0, 0, False),
])
def test_a_course_over_two_hours_or_ten_gigabytes_is_over_its_budget(seconds, size, over):
    from pipeline.course import Plan

    said = Plan(videos=1, clips=1, to_render=1, seconds=seconds, bytes=size).over_budget()
    assert said == ("the plan is over the budget of 2 hours and 10 GB (pass --allow-large to render it anyway, or "
                    "render fewer variants)" if over else None)


@pytest.mark.parametrize("jobs,spread", [(1, 1), (2, 2), (8, 2)])  # two clips to render: at most two at once
def test_a_course_s_estimate_spreads_its_renders_over_the_workers_and_counts_every_byte(jobs, spread):
    from types import SimpleNamespace

    from engine.settings import RenderOptions
    from pipeline.course import Variant, _estimate
    from pipeline.lecture import ClipJob

    a, b = SimpleNamespace(kind="scene", path=Path("/c/a.mp4")), SimpleNamespace(kind="scene", path=Path("/c/b.mp4"))
    variants = [Variant(Path("l.yaml"), "en", "dark", "preview", "mp4", Path("p.mp4")),
                Variant(Path("l.yaml"), "en", "dark", "low", "mp4", Path("l.mp4"))]
    todo = {"/c/a.mp4": ClipJob("scene", "t", None, RenderOptions(quality="preview"), "/c/a.mp4"),
            "/c/b.mp4": ClipJob("scene", "t", None, RenderOptions(quality="low"), "/c/b.mp4")}
    plan = _estimate(variants, [[a], [b]], todo, jobs=jobs)
    # 30 s scenes: renders 30 x 0.45 + 30 x 0.3, joins 30 x 0.03 + 30 x 0.02; bytes 25 kB/s and 10 kB/s, each twice
    # (the video and its cached clip)
    assert plan.seconds == pytest.approx((30 * 0.45 + 30 * 0.3) / spread + 30 * 0.03 + 30 * 0.02)
    assert plan.bytes == pytest.approx(2 * (30 * 25e3 + 30 * 10e3))


def test_a_course_with_every_clip_cached_is_estimated_at_its_joins_alone():
    from types import SimpleNamespace

    from pipeline.course import Variant, _estimate

    scene = SimpleNamespace(kind="scene", path=Path("/c/a.mp4"))
    plan = _estimate([Variant(Path("l.yaml"), "en", "dark", "hd", "mp4", Path("o.mp4"))], [[scene]], {}, jobs=4)
    assert (plan.to_render, plan.seconds, plan.bytes) == (0, pytest.approx(30 * 0.45), pytest.approx(30 * 95e3))


@pytest.mark.parametrize("workers,said", [
    (0, "4 videos from 3 distinct clips: 2 rendered, 1 already cached, 1 shared between videos, 0 retried"),
    (2, "4 videos from 3 distinct clips: 2 rendered on 2 worker processes, 1 already cached, 1 shared between videos, "
        "0 retried"),
])
def test_a_course_s_summary_says_what_was_rendered_and_where(workers, said):
    from pipeline.course import Summary, Variant

    variant = Variant(Path("l.yaml"), "en", "dark", "low", "mp4", Path("o.mp4"))
    summary = Summary([variant] * 4, clips=3, rendered=2, cached=1, shared=1, workers=workers)
    assert summary.lines() == [said]


def _course_file(tmp_path, lectures: int, extra: str = "") -> Path:
    for i in range(lectures):
        (tmp_path / f"l{i}.yaml").write_text("title: x\n")
    names = ", ".join(f"l{i}.yaml" for i in range(lectures))
    (tmp_path / "course.yaml").write_text(f"title: C\nlectures: [{names}]\n{extra}")
    return tmp_path / "course.yaml"


@pytest.mark.parametrize("lectures,refused", [(25, False), (26, True)])
def test_a_course_of_400_videos_is_planned_and_one_of_more_is_refused(tmp_path, lectures, refused):
    # each lecture in 2 languages x 2 themes x 4 qualities: 16 videos
    from pipeline.course import load_course

    course = _course_file(tmp_path, lectures, "langs: [en, ko]\nthemes: [dark, light]\nqualities: [low, preview, hd, 4k]\n")
    if refused:
        with pytest.raises(ConfigError, match=r"course.yaml: 416 videos, more than 400 in one course$"):
            load_course(course, tmp_path / "out")
    else:
        assert len(load_course(course, tmp_path / "out")[1]) == 400


@pytest.mark.parametrize("extra,message", [
    ("themes: [dark, blue]", "key 'themes': 'blue' is not one of dark, light"),
    ("qualities: [8k]", "key 'qualities': '8k' is not one of low, preview, hd, 4k"),
    ("formats: [gif]", "key 'formats': 'gif' is not one of mp4, webm"),
    ("langs: []", "key 'langs'"),
    ("qualities: [low, low]", "key 'qualities': lists a value twice"),
    ("output: '/abs/{lecture}-{lang}.{format}'", "must be a relative path inside the output folder"),
])
def test_a_course_s_lists_take_only_known_values_once_each(tmp_path, extra, message):
    from pipeline.course import load_course
    with pytest.raises(ConfigError, match=message):
        load_course(_course_file(tmp_path, 1, extra + "\n"), tmp_path / "out")


@pytest.mark.parametrize("output,fmt", [("{lecture}-{lang}.MP4", "mp4"), ("{lecture}-{lang}.WebM", "webm"),
                                        ("{lecture}-{lang}.{format}", "webm")])
def test_a_course_s_video_may_end_in_its_format_in_any_case(tmp_path, output, fmt):
    from pipeline.course import load_course

    [variant] = load_course(_course_file(tmp_path, 1, f"formats: [{fmt}]\noutput: '{output}'\n"), tmp_path / "out")[1]
    assert (variant.fmt, variant.output) == (fmt, tmp_path / "out" / output.format(lecture="l0", lang="en", format=fmt))


# ---- pipeline/narration_text.py ----

@pytest.mark.parametrize("lang,items,said", [
    ("en", [], ""), ("en", ["x"], "x"), ("en", ["x", "y"], "x and y"), ("en", ["x", "y", "z"], "x, y and z"),
    ("ko", ["x"], "x"), ("ko", ["x", "y"], "x, y"), ("ko", ["x", "y", "z"], "x, y, z"),
])
def test_a_list_in_a_sentence_is_joined_as_the_language_joins_it(lang, items, said):
    from types import SimpleNamespace

    from pipeline.narration_text import SAY, _Teller
    assert _Teller.join(SimpleNamespace(say=SAY[lang]), items) == said


TRAINING = {"kind": "training", "config": {}, "runs": []}


@pytest.mark.parametrize("lang,step,said", [
    ("en", ("title: Deep", {"kind": "title", "text": " Deep nets. "}), "Let's work through this one: Deep nets."),
    ("ko", ("title: Deep", {"kind": "title", "text": "Deep nets."}), "이번에 살펴볼 내용: Deep nets."),
    ("fr", ("title: Deep", {"kind": "title", "text": "Deep nets"}), "Let's work through this one: Deep nets."),
    # a caption of no template: said as shown, a capital and a full stop where the language has them
    ("en", ("tanh   is here", {"kind": "caption"}), "Tanh is here."),
    ("en", ("tanh is here?", {"kind": "caption"}), "Tanh is here?"),
    ("en", ("tanh is here? \n", {"kind": "caption"}), "Tanh is here?"),
    ("en", ("tanh is here!", {"kind": "caption"}), "Tanh is here!"),
    ("ko", ("tanh 입력", {"kind": "caption"}), "tanh 입력."),  # Korean sentences have no capitals to make
    ("en", ("after 500 steps", {"kind": "caption"}), "And the outcome. After 500 steps."),
    ("ko", ("500 스텝 후", {"kind": "caption"}), "결과를 봅시다. 500 스텝 후."),
])
def test_a_training_scene_s_steps_are_said_in_the_language_with_their_lead_in(lang, step, said):
    from pipeline.narration_text import narrate
    assert narrate(TRAINING, [step], lang) == [said]


@pytest.mark.parametrize("lang,said", [("en", "Sigmoid inputs: 3 of 8 steps with one sign."),
                                       ("ko", "sigmoid 입력: 8 스텝 중 3 스텝이 한 부호.")])  # as the legend shows it
def test_the_zigzag_path_s_count_is_said_for_the_activation_its_caption_names(lang, said):
    from pipeline.narration_text import narrate
    from scenes import style

    trace = {"kind": "training", "config": {}, "runs": [
        {"activation": "sigmoid", "same_sign_steps": 3, "grads": [0] * 8},
        {"activation": "tanh", "same_sign_steps": 6, "grads": [0] * 8}]}  # tanh's count is not said
    caption = style.CAPTIONS[lang]["zigzag_sigmoid"]
    assert narrate(trace, [(caption, {"kind": "caption"})], lang)[0].endswith(" " + said)


# ---- pipeline/auto_narration.py ----

@pytest.mark.parametrize("text,has", [
    ("{x}", True), ("a {grad.x} b", True), ("{_a1}", True), ("{name.leaky_relu}", True), ("{{x}}", False),
    ("{ x }", False), ("{1x}", False), ("{}", False), ("{a.b c}", False), ("plain", False), ("{{", False),
])
def test_a_placeholder_is_a_name_in_single_braces(text, has):
    from pipeline.auto_narration import has_placeholders
    assert has_placeholders(text) is has


FIELDS = {**{f"grad.{c}": c.upper() for c in "abcdefgh"}, "value.a": "1"}


@pytest.mark.parametrize("text,listed", [
    # the fields of the same kind, six at most, and "..." when the trace has more
    ("{grad.zz}", "{grad.a}, {grad.b}, {grad.c}, {grad.d}, {grad.e}, {grad.f}, ..."),
    ("{value.zz}", "{value.a}, ..."),
    ("{foo}", "{grad.a}, {grad.b}, {grad.c}, {grad.d}, {grad.e}, {grad.f}, ..."),  # no field of its kind: the first
])
def test_an_unknown_placeholder_names_the_fields_of_its_kind(text, listed):
    from pipeline.auto_narration import fill

    with pytest.raises(ConfigError) as e:
        fill(text, FIELDS, "l.yaml: key 'k'")
    assert str(e.value) == (f"l.yaml: key 'k': unknown placeholder {text} (this trace has {listed}; write {{{{ and }}}} "
                            "for braces)")


def test_an_unknown_placeholder_over_a_small_trace_lists_every_field_without_dots():
    from pipeline.auto_narration import fill

    with pytest.raises(ConfigError, match=r"\(this trace has \{grad.x\}, \{output\}; write"):
        fill("{h}", {"output": "f", "grad.x": "1"}, "w")


@pytest.mark.parametrize("data,steps", [
    (b'[["title: T", 0, "Hi."], ["forward: x", 1.5, "x is 2."]]', [("title: T", 0.0, "Hi."), ("forward: x", 1.5, "x is 2.")]),
    (b"[]", []),
    (b'[["a", "0", "x"]]', None),  # a start that is no number
    (b'[["a", 0]]', None),
    (b'[["a", 0, "x", 1]]', None),
    (b'[[1, 0, "x"]]', None),
    (b'[["a", 0, null]]', None),
    (b'{"a": 1}', None),
    (b'""', None),  # no list, though nothing in it is wrong
    (b"[[", None),
    (b"\xff\xfe", None),
])
def test_a_cached_narration_is_used_only_when_it_is_what_the_cache_writes(data, steps):
    from pipeline.auto_narration import SpokenStep, _read_steps
    assert _read_steps(data) == (None if steps is None else [SpokenStep(*s) for s in steps])


def test_the_narration_cache_key_differs_by_language_and_by_trace(tmp_path, monkeypatch):
    import infra.cache

    from pipeline.auto_narration import spoken_steps

    class Asked(Exception):
        """The cache was asked for an entry: enough to know its key."""

    def verified(path, key, what=""):
        raise Asked(key)

    def key(trace: str, lang: str) -> str:
        (tmp_path / "t.json").write_text(trace)
        with pytest.raises(Asked) as e:
            spoken_steps(tmp_path / "t.json", lang)
        return e.value.args[0]

    monkeypatch.setattr(infra.cache, "verified", verified)
    assert key("{}", "en") == key("{}", "en")
    assert len({key("{}", "en"), key("{}", "ko"), key("{ }", "en"), key("{ }", "ko")}) == 4


# ---- render.py's helpers ----

@pytest.mark.parametrize("value,jobs", [("1", 1), ("2", 2), ("16", 16), ("auto", 3)])
def test_jobs_is_a_count_from_1_to_16_or_auto(monkeypatch, value, jobs):
    import render
    from pipeline import chunks

    monkeypatch.setattr(chunks, "auto_jobs", lambda: 3)
    assert render._jobs(value) == jobs


@pytest.mark.parametrize("value", ["0", "17", "-1", " 2", "2.0", "", "Auto"])
def test_jobs_out_of_1_to_16_or_not_a_count_is_refused(value):
    import click

    import render
    with pytest.raises(click.BadParameter, match=f"^{re.escape(repr(value))} is neither auto nor a count from 1 to 16$"):
        render._jobs(value)


def test_a_pace_of_nan_is_refused_and_a_number_passes():
    import click

    import render
    assert render._a_number(None, None, 0.5) == 0.5 and render._a_number(None, None, 2.0) == 2.0
    with pytest.raises(click.BadParameter, match="^nan is not a number from 0.5 to 2$"):
        render._a_number(None, None, float("nan"))


@pytest.mark.parametrize("output,chosen,result", [
    (None, None, ("out/d.pdf", "pdf")),  # neither: the default format, at the default place
    (None, "html", ("out/d.html", "html")),
    ("h.html", None, ("h.html", "html")),
    ("H.PDF", None, ("H.PDF", "pdf")),  # the suffix in any case
    ("h.pdf", "pdf", ("h.pdf", "pdf")),
    ("h.Html", "html", ("h.Html", "html")),
])
def test_an_output_s_format_comes_from_the_flag_or_the_suffix_or_the_default(output, chosen, result):
    import render

    got = render._output_and_format(output, chosen, ("pdf", "html"), "pdf", "--to", "a handout is .pdf or .html",
                                    lambda fmt: f"out/d.{fmt}")
    assert got == (Path(result[0]), result[1])


@pytest.mark.parametrize("output,chosen,message", [
    ("h.key", None, "h.key: a handout is .pdf or .html"),
    ("h", None, "h: a handout is .pdf or .html"),
    ("h.pdf", "html", "--to html but -o h.pdf is .pdf"),
    ("H.PDF", "html", "--to html but -o H.PDF is .pdf"),
])
def test_an_output_whose_suffix_is_unknown_or_contradicts_the_flag_is_refused(output, chosen, message):
    import click

    import render
    with pytest.raises(click.BadParameter, match=f"^{re.escape(message)}$"):
        render._output_and_format(output, chosen, ("pdf", "html"), "pdf", "--to", "a handout is .pdf or .html",
                                  lambda fmt: f"out/d.{fmt}")


@pytest.mark.parametrize("auto,keys,chapters,kept,voice,spans", [
    (True, [0, 1, 2], ["title: T", "a", "b"], [0, 1, 2], {None: "card", 0: "v0", 1: "v1", 2: "v2"},
     [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]),
    # written from the trace for three steps: a clip made otherwise, with two, drops the third and its voice
    (True, [0, 1, 2], ["title: T", "a"], [0, 1], {None: "card", 0: "v0", 1: "v1"}, [(0.0, 1.0), (1.0, 2.0)]),
    (True, [0, 2], ["title: T", "a", "b"], [0, 1], {None: "card", 0: "v0", 1: "v1"}, [(0.0, 1.0), (2.0, 3.0)]),
    (False, [0, "a", "b"], ["title: T", "x", "a", "b"], [0, 1, 2], {None: "card", 0: "v0", 1: "v1", 2: "v2"},
     [(0.0, 1.0), (2.0, 3.0), (3.0, 4.0)]),  # authored keys: by name, in order
])
def test_a_rendered_scene_s_narrated_steps_are_placed_at_its_chapters(monkeypatch, auto, keys, chapters, kept, voice,
                                                                      spans):
    from pipeline import lecture

    monkeypatch.setattr(lecture, "read_chapters", lambda path: [(n, float(i), float(i + 1)) for i, n in enumerate(chapters)])
    steps = [StepNarration(step=k, narration=f"said {i}") for i, k in enumerate(keys)]
    item = lecture.Item("scene", "t.json", steps=list(steps), auto=auto, path=Path("c.mp4"), config=Path("c.yaml"),
                        voice={None: "card", **{i: f"v{i}" for i in range(len(keys))}})
    lecture._resolve_steps(item, Path("l.yaml"))
    assert item.steps == [steps[i] for i in kept] and item.voice == voice and item.step_spans == spans


def test_an_authored_step_the_clip_does_not_have_is_one_line_naming_its_key(monkeypatch):
    from pipeline import lecture

    monkeypatch.setattr(lecture, "read_chapters", lambda path: [("title: T", 0.0, 1.0), ("b", 1.0, 2.0)])
    item = lecture.Item("scene", "t.json", steps=[StepNarration(step="b", narration="B"),
                                                  StepNarration(step="a", narration="A")],
                        path=Path("c.mp4"), config=Path("cfg/c.yaml"), clip_index=3)
    with pytest.raises(ConfigError, match=r"^l.yaml: key 'clips.3.steps.1.step': no step of c.yaml matches 'a' after "
                                          r"the steps before it \(`render.py info c.yaml` lists its steps\)$"):
        lecture._resolve_steps(item, Path("l.yaml"))


# ---- limits of a lecture file ----

def _lecture_file(tmp_path, clips: int = 1, title: str = "L", steps: int = 0, audio: str = "") -> Path:
    (tmp_path / "c.yaml").write_text("scene: graph\nexpression: f = x * 2\ninputs: {x: 3}\n")
    step_list = ", ".join(f"{{step: {i}, narration: s}}" for i in range(steps))
    clip = f"  - config: c.yaml\n    steps: [{step_list}]\n{audio}"
    (tmp_path / "l.yaml").write_text(f"title: '{title}'\nclips:\n" + clip * clips)
    return tmp_path / "l.yaml"


@pytest.mark.parametrize("kwargs,message", [
    (dict(clips=50), None), (dict(clips=51), "key 'clips': List should have at most 50 items"),
    (dict(title="t" * 200), None), (dict(title="t" * 201), "key 'title': String should have at most 200 characters"),
    (dict(steps=200), None), (dict(steps=201), "key 'clips.0.steps': List should have at most 200 items"),
])
def test_a_lecture_has_at_most_50_clips_of_200_steps_under_a_title_of_200_characters(tmp_path, kwargs, message):
    from pipeline.lecture import load_lecture

    path = _lecture_file(tmp_path, **kwargs)
    if message is None:
        spec, configs = load_lecture(path)
        assert len(configs) == kwargs.get("clips", 1)
    else:
        with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}: {message}"):
            load_lecture(path)


@pytest.mark.parametrize("audio,message", [
    ("    narration_audio: {fr: v.wav}\n", "key 'clips.0.narration_audio.fr': unknown language 'fr' (use en, ko)"),
    ("    narration_audio: {ko: none.wav}\n", "key 'clips.0.narration_audio.ko': no such file none.wav"),
    ("    narration_audio: none.wav\n", "key 'clips.0.narration_audio': no such file none.wav"),
    ("    narration_audio: ../v.wav\n", "key 'clips.0.narration_audio': ../v.wav is outside the lecture's folder "
                                      "(use --allow-outside to permit it)"),
])
def test_a_recorded_voice_is_named_by_a_known_language_and_an_existing_file_inside_the_folder(tmp_path, audio,
                                                                                            message):
    from pipeline.lecture import load_lecture

    folder = tmp_path / "lec"
    folder.mkdir()
    (tmp_path / "v.wav").write_bytes(b"")
    (folder / "v.wav").write_bytes(b"")
    path = _lecture_file(folder, audio=audio)
    with pytest.raises(ConfigError) as e:
        load_lecture(path)
    assert str(e.value) == f"{path}: {message}"


def test_a_recorded_voice_outside_the_folder_is_read_when_allowed(tmp_path):
    from pipeline.lecture import load_lecture

    folder = tmp_path / "lec"
    folder.mkdir()
    (tmp_path / "v.wav").write_bytes(b"")
    spec, _ = load_lecture(_lecture_file(folder, audio="    narration_audio: {en: ../v.wav}\n"), allow_outside=True)
    assert spec.clips[0].narration_audio == {"en": "../v.wav"}


# ---- pipeline/render_job.py: a render's progress line and its cache ----

class _Stream:
    def __init__(self, tty: bool):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass


@pytest.mark.parametrize("tty,written", [
    (True, "\rc.mp4: animation 3, 1.2 s of video\033[K\rc.mp4: animation 4, 10.0 s of video\033[K\r\033[K"),
    (False, ""),  # a log gets no progress at all
])
def test_a_render_s_progress_is_one_line_rewritten_on_a_terminal_only(monkeypatch, tty, written):
    import sys

    from pipeline.render_job import _ProgressLine

    stream = _Stream(tty)
    monkeypatch.setattr(sys, "stderr", stream)
    line = _ProgressLine("c.mp4")
    line.update(3, 1.25)
    line.update(4, 9.96)
    line.close()
    assert stream.text == written


def test_only_the_files_a_render_made_are_published_into_the_shared_cache(tmp_path):
    from pipeline.render_job import publish_new_entries

    private, shared = tmp_path / "private", tmp_path / "shared"
    private.mkdir()
    shared.mkdir()
    (private / "new.svg").write_text("made now")
    (private / "old.svg").write_text("made again")
    (shared / "old.svg").write_text("made before")
    (private / "sub").mkdir()  # not a file: not an entry
    publish_new_entries(private, shared)
    assert (shared / "new.svg").read_text() == "made now" and (shared / "old.svg").read_text() == "made before"
    assert not (shared / "sub").exists()


class _SizedFont:
    """A font of ``size`` whose every character is half its size wide (widths worked by hand)."""
    def __init__(self, path, size):
        self.path, self.size = path, size

    def getlength(self, text):
        return self.size * 0.5 * len(text)


class _Draw:
    def __init__(self):
        self.texts = []

    def text(self, xy, text, font, fill, anchor):
        self.texts.append((xy, text, font.path, font.size, fill, anchor))


@pytest.mark.parametrize("words,size,lines", [
    (1, 46, 1),  # the band of a 720-line frame is 130 pixels: a cue starts at 130 / 2.8 = 46
    (10, 46, 2),  # 5 words of 9 letters a line at 23 pixels a letter (1177.6 pixels wide)
    (15, 29, 2),  # 3 lines at 46: made smaller until 8 words fit a line, at 29 (79 letters x 14.5 = 1145.5)
    (400, 10, 18),  # never under 10 pixels, however many lines (23 words of 5-pixel letters a line)
])
def test_a_burnt_in_cue_is_set_as_large_as_two_lines_allow_in_the_language_s_font_and_the_theme_s_colour(
        monkeypatch, words, size, lines):
    from pipeline import burn

    monkeypatch.setattr(burn, "font_file", lambda family: f"/fonts/{family}.ttf")
    monkeypatch.setattr(burn.ImageFont, "truetype", _SizedFont)
    burner = burn.Burner(1280, 720, [], "#000000", "#fafafa", "NanumGothic")
    draw = _Draw()
    burner._write(draw, " ".join(["abcdefghi"] * words), 130)
    assert len(draw.texts) == lines
    assert {(path, s, fill, anchor) for _, _, path, s, fill, anchor in draw.texts} == {
        ("/fonts/NanumGothic.ttf", size, (250, 250, 250), "mm")}
    line_h = size * 1.2  # the lines centred in the band, each at its middle, across the frame's middle
    top = (130 - line_h * lines) / 2
    assert [xy for xy, *_ in draw.texts] == [(640.0, pytest.approx(top + k * line_h + line_h / 2)) for k in range(lines)]


# ---- what a graph scene's steps say, on tiny traces worked by hand ----

def _said(expression, inputs, constants, lang):
    from helpers import trace_of
    from pipeline.narration_text import graph_story, narrate

    trace = trace_of(expression, inputs, constants)
    return narrate(trace, [("", about) for about in graph_story(trace, lang)], lang)


@pytest.mark.parametrize("lang,sentences", [
    ("en", ["The input x is 3.", "The constant 2 goes in.", "The constant c is 5.",
            "To sum up, the gradients of f: x +10."]),
    ("ko", ["입력 x의 값은 3입니다.", "상수의 값은 2입니다.", "상수 c의 값은 5입니다.", "정리하면, f의 기울기는 x: +10입니다."]),
])
def test_inputs_and_constants_unnamed_or_named_are_said_in_the_language(lang, sentences):
    # f = (x * 2) * c with x = 3, c = 5: df/dx = 2 c = 10
    said = _said("f = (x * 2) * c", {"x": 3.0}, {"c": 5.0}, lang)
    for sentence in sentences:
        assert sentence in said, (sentence, said)


@pytest.mark.parametrize("lang,sentence", [
    ("en", "The ReLU gate r lets the upstream gradient through only where its input was positive, 2 of 3 entries: "
           "x gets [+1, 0, +1]."),
    ("ko", "ReLU 노드 r에서는 입력이 양수였던 곳, 3개 중 2개 원소로만 상류 기울기가 지나갑니다. x의 기울기는 [+1, 0, +1]입니다."),
])
def test_a_relu_gate_on_a_vector_says_how_many_entries_let_the_gradient_through(lang, sentence):
    said = _said("r = relu(x)\nf = sum(r)", {"x": [1.0, -2.0, 3.0]}, {}, lang)
    assert sentence in said, said


@pytest.mark.parametrize("expression,inputs,lang,sentences", [
    ("f = x * y", {"x": 3.0, "y": -4.0}, "en", [
        "The multiply gate f takes x and y and computes −12.",
        "The backward pass starts at the output f: its gradient with respect to itself is 1.",
        "The multiply gate f swaps its inputs: x gets the upstream gradient +1 times y's value −4, that is −4; "
        "y gets the upstream gradient +1 times x's value 3, that is +3."]),
    ("f = x * y", {"x": 3.0, "y": -4.0}, "ko", [
        "곱셈 노드 f에서 x, y의 결과는 −12입니다.",
        "역전파는 출력 f에서 시작합니다. 자기 자신에 대한 기울기는 1입니다.",
        "곱셈 노드 f에서는 입력을 바꿔 곱합니다. x의 기울기는 상류 기울기 +1 곱하기 y의 값 −4, 곧 −4입니다. "
        "y의 기울기는 상류 기울기 +1 곱하기 x의 값 3, 곧 +3입니다."]),
    ("f = x + y", {"x": 1.0, "y": 2.0}, "en", [
        "The add gate f distributes: x and y each get the upstream gradient +1, unchanged."]),
    ("f = x + y", {"x": 1.0, "y": 2.0}, "ko", [
        "덧셈 노드 f에서는 기울기가 분배됩니다. x, y의 기울기는 모두 상류 기울기와 같은 +1입니다."]),
    ("f = exp(x)", {"x": 0.0}, "en", [
        "The exponential gate f takes x and computes 1.",
        "At the exponential gate f, the upstream gradient +1 times the local gradient 1 gives x its gradient, +1."]),
    ("f = exp(x)", {"x": 0.0}, "ko", [
        "지수 노드 f에서 x의 결과는 1입니다.",
        "지수 노드 f에서 x의 기울기는 상류 기울기 +1 곱하기 국소 기울기 1, 곧 +1입니다."]),
])
def test_each_gate_says_its_rule_in_the_language_with_its_numbers(expression, inputs, lang, sentences):
    said = _said(expression, inputs, {}, lang)
    for sentence in sentences:
        assert sentence in said, (sentence, said)


@pytest.mark.parametrize("expression,inputs,lang,sentence", [
    ("f = x * x", {"x": 3.0}, "en",
     "x was used 2 times, so its gradient is the sum of what each use sent back: +3 and +3 add up to +6."),
    ("f = x * x", {"x": 3.0}, "ko", "x의 값은 2번 쓰였으므로, 기울기는 각 경로에서 온 값의 합입니다. +3, +3의 합은 +6입니다."),
    ("f = sigmoid(x)", {"x": 0.0}, "en", "At the sigmoid gate f, the local gradient is y(1−y), with the output "
                                         "y = 0.5: 0.25; times the upstream gradient +1, x gets +0.25."),
    ("f = sigmoid(x)", {"x": 0.0}, "ko", "시그모이드 노드 f의 국소 기울기는 출력 y = 0.5에서 구한 y(1−y), 곧 0.25입니다. "
                                         "상류 기울기 +1에 곱하면 x의 기울기는 +0.25입니다."),
])
def test_a_value_used_twice_and_a_sigmoid_say_their_rules_in_the_language(expression, inputs, lang, sentence):
    said = " ".join(_said(expression, inputs, {}, lang))
    assert sentence in said, said


def test_a_scene_s_natural_length_is_built_once_per_pace_and_holds_and_kept_in_the_clip_cache(tmp_path, monkeypatch):
    from pipeline import lecture, render_job
    from pipeline.render_job import RenderOptions, Timing

    built = []
    monkeypatch.setattr(lecture, "CLIP_CACHE", tmp_path)
    monkeypatch.setattr(render_job, "scene_duration", lambda trace, options: built.append(options.timing) or 4.25)
    (tmp_path / "t.json").write_text("{}")
    item = lecture.Item("scene", str(tmp_path / "t.json"))

    def seconds(pace, holds=()):
        return lecture._natural_seconds(item, RenderOptions(timing=Timing(pace, holds)), b"code")

    assert seconds(1.0) == 4.25 and seconds(1.0) == 4.25 and built == [Timing(1.0)]  # the second from the cache
    assert seconds(2.0) == 4.25 and seconds(1.0, ((1, 3.0),)) == 4.25
    assert built == [Timing(1.0), Timing(2.0), Timing(1.0, ((1, 3.0),))]  # another pace or hold: built again
    entries = list(tmp_path.glob("seconds-*.txt"))
    assert len(entries) == 3 and {p.read_text() for p in entries} == {"4.25"}
    for entry in entries:
        entry.write_text("soon")  # changed: its record no longer matches, and it is made again
    assert seconds(1.0) == 4.25 and len(built) == 4


@pytest.mark.parametrize("config,where", [
    ({"inputs": {"x": [1.0] * 3}, "constants": {"c": [1.0] * 5}}, "key 'constants.c': its 5 elements"),  # the largest
    ({"inputs": {"x": [1.0] * 7, "y": 2.0}, "constants": None}, "key 'inputs.x': its 7 elements"),
    ({}, "its values"),  # a trace without its config's inputs
])
def test_a_graph_over_the_draw_budget_names_its_largest_input_and_how_long_it_would_take(monkeypatch, config, where):
    from engine.config import ConfigError
    from pipeline.render_job import check_draw_budget

    monkeypatch.setenv("BACKPROP_ALLOW_LONG", "0")
    trace = {"nodes": [{"value": [1.0] * 3000}], "config": config}  # 3,000 numbers at 0.4 s: 20 minutes
    with pytest.raises(ConfigError) as e:
        check_draw_budget(trace, Path("t.json"))
    assert str(e.value) == (f"t.json: {where} (3,000 numbers in the graph) would take about 20 minutes to draw (the "
                            "budget is 10 minutes): use fewer elements (`trace` and `check` work on it as it is), or "
                            "pass --allow-long")


def test_two_lectures_of_the_same_file_name_in_two_folders_may_not_share_a_video(tmp_path):
    from pipeline.course import load_course

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "l.yaml").write_text("title: x\n")
    (tmp_path / "course.yaml").write_text("title: C\nlectures: [a/l.yaml, b/l.yaml]\n")
    with pytest.raises(ConfigError, match=r"key 'output': '\{lecture\}/\{format\}/\{lang\}-\{theme\}-\{quality\}"
                                          r"\.\{format\}' gives .*l/mp4/en-dark-preview to two videos"):
        load_course(tmp_path / "course.yaml", tmp_path / "out")


def test_a_course_s_videos_are_every_lecture_language_theme_quality_and_format_in_that_order(tmp_path):
    from pipeline.course import load_course

    for name in ("one", "two"):
        (tmp_path / f"{name}.yaml").write_text("title: x\n")
    (tmp_path / "course.yaml").write_text("title: C\nlectures: [one.yaml, two.yaml]\nlangs: [ko, en]\n"
                                          "themes: [light]\nqualities: [hd, low]\nformats: [webm]\n")
    _, variants = load_course(tmp_path / "course.yaml", tmp_path / "out")
    assert [str(v.output.relative_to(tmp_path / "out")) for v in variants] == [
        f"{lec}/webm/{lang}-light-{q}.webm" for lec in ("one", "two") for lang in ("ko", "en") for q in ("hd", "low")]
    assert {(v.theme, v.fmt) for v in variants} == {("light", "webm")} and variants[0].lecture == tmp_path / "one.yaml"
