"""The pipeline's small functions at their boundaries and over each option value (language, theme,
quality, pace), called directly: each case's expected value is worked by hand from what a user should get."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
    ("hd", False, {"crf": "22", "x264-params": "bframes=5:rc-lookahead=20"}),
    ("4k", False, {"crf": "22", "x264-params": "bframes=5:rc-lookahead=20"}),
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
