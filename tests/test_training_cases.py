"""The cases of the training scenes, their charts, timing, title card, notation and caption audit, one table each.

Each table crosses the options and boundaries where a one-line mistake would hide: a ratio equal to the
vanishing threshold, a count equal to the number of seeds, a NaN at the first sample, a pace other than 1, a
hold keyed to another step, the last layer against the first. Expected values are worked by hand from what a
viewer should see (scenes/style.py's wording and palette), never taken from the code under test.
"""
from __future__ import annotations

import numpy as np
import pytest

from scenes import style
from scenes.training_scenes import VanishingGradients, nice_range


@pytest.fixture
def lang(monkeypatch):
    """Captions in a language for one test (style.caption reads it from the environment)."""
    def use(code: str):
        monkeypatch.setenv("BACKPROP_LANG", code)
    use("en")
    return use


def seeds(act: str, n: int = 1, solved: int = 0, diverged: int = 0, dead: int = 0, ratio=None) -> dict:
    """One activation's seed summary, as engine/training.seed_summary writes it."""
    return {"activation": act, "seeds": n, "solved": solved, "diverged": diverged, "dead_at_init": dead,
            "median_ratio": ratio}


# --- nice_range: the y axes of the slopes and loss charts ---------------------------------------------------
@pytest.mark.parametrize("lo, hi, most, expected", [
    (0.0, 1.0, 6, [0.0, 1.0, 0.25]),  # the finest step that fits
    (0.0, 1.5, 6, [0.0, 1.5, 0.25]),  # exactly six steps of 0.25: still fits
    (0.0, 1.6, 6, [0.0, 2.0, 0.5]),  # seven would not: the next step, ends rounded out
    (0.0, 3.0, 6, [0.0, 3.0, 0.5]),  # the loss chart's cap
    (0.0, 3.2, 6, [0.0, 4.0, 1.0]),
    (-1.2, 0.3, 6, [-1.5, 0.5, 0.5]),  # a negative low end is rounded down, not toward 0
    (0.0, 55.0, 6, [0.0, 60.0, 10.0]),  # the largest round step
    (0.0, 100.0, 6, [0.0, 100.0, 100.0 / 6]),  # past it: the range itself in six parts
    (0.0, 1.0, 2, [0.0, 1.0, 0.5]),  # fewer steps allowed
])
def test_an_axis_range_is_rounded_out_to_at_most_six_round_steps(lo, hi, most, expected):
    assert nice_range(lo, hi, most) == pytest.approx(expected)


# --- the step-0 caption: which activations vanished, which are dead ---------------------------------------
@pytest.mark.parametrize("summary, expected", [
    # the threshold is two orders of magnitude: a ratio of exactly 1/100 has not vanished
    ([seeds("sigmoid", 3, ratio=0.01)], "step 0: no activation here loses more than a factor of 100 from the last "
                                        "layer to the first"),
    ([seeds("sigmoid", 3, ratio=0.0099)], "step 0: sigmoid's first layer gets a gradient 2 orders of magnitude "
                                          "below its last"),
    ([seeds("sigmoid", 3, ratio=0.001)], "step 0: sigmoid's first layer gets a gradient 3 orders of magnitude "
                                         "below its last"),  # an exact power of ten: its own decades
    ([seeds("tanh", 3, ratio=3e-5)], "step 0: tanh's first layer gets a gradient 4 orders of magnitude below its last"),
    # no gradient at all, or no ratio, is not "vanished"
    ([seeds("relu", 3, ratio=0.0)], "step 0: no activation here loses more than a factor of 100 from the last "
                                    "layer to the first"),
    ([seeds("relu", 3, ratio=None)], "step 0: no activation here loses more than a factor of 100 from the last "
                                     "layer to the first"),
    # dead on every seed is dead; on some seeds, or with no seeds, is not
    ([seeds("relu", 3, dead=3)], "ReLU: dead at initialisation (no gradient reaches the first layer)"),
    ([seeds("relu", 3, dead=2)], "step 0: no activation here loses more than a factor of 100 from the last "
                                 "layer to the first"),
    ([seeds("relu", 0, dead=0)], "step 0: no activation here loses more than a factor of 100 from the last "
                                 "layer to the first"),
    ([seeds("relu", 1, dead=1), seeds("leaky_relu", 1, dead=1)],
     "ReLU, leaky ReLU: dead at initialisation (no gradient reaches the first layer)"),
    # several vanished, in the summary's order; then the dead, after two spaces
    ([seeds("tanh", 2, ratio=1e-4), seeds("sigmoid", 2, ratio=0.005), seeds("relu", 2, dead=2, ratio=0.5)],
     "step 0: tanh's first layer gets a gradient 4 orders of magnitude below its last; sigmoid's first layer gets "
     "a gradient 2 orders of magnitude below its last  ReLU: dead at initialisation (no gradient reaches the "
     "first layer)"),
])
def test_the_step_zero_caption_names_activations_below_a_hundredth_and_those_dead_on_every_seed(summary, expected,
                                                                                                lang):
    assert VanishingGradients.vanish_caption({"seed_summary": summary}) == expected


def test_the_korean_step_zero_caption_says_the_same_decades_and_names(lang):
    lang("ko")
    summary = [seeds("sigmoid", 2, ratio=0.002), seeds("relu", 2, dead=2)]
    assert VanishingGradients.vanish_caption({"seed_summary": summary}) == (
        "스텝 0: sigmoid의 첫 층 기울기는 마지막 층보다 2자릿수 작다  "
        "ReLU: 초기화부터 죽은 망 (첫 층에 기울기가 도달하지 않는다)")


# --- the outcome caption: one seed names runs, several count them ------------------------------------------
@pytest.mark.parametrize("summary, steps, expected", [
    ([seeds("tanh", solved=1)], 400, "after 400 steps: solved XOR: tanh"),
    ([seeds("sigmoid")], 400, "after 400 steps: not solved: sigmoid"),
    ([seeds("leaky_relu", diverged=1)], 400, "after 400 steps: diverged (NaN): leaky ReLU"),
    # always solved, then not solved, then diverged, whatever the summary's order; names joined by commas
    ([seeds("leaky_relu", diverged=1), seeds("sigmoid"), seeds("relu", solved=1), seeds("tanh", solved=1)], 20000,
     "after 20000 steps: solved XOR: ReLU, tanh; not solved: sigmoid; diverged (NaN): leaky ReLU"),
    # several seeds: counts per activation, out of the seeds; a NaN count only where some diverged
    ([seeds("tanh", 2, solved=2), seeds("relu", 2, solved=0, diverged=2)], 300,
     "after 300 steps, runs at accuracy 1 out of 2 seeds: tanh 2, ReLU 0 (2 diverged to NaN)"),
    ([seeds("sigmoid", 5, solved=1, diverged=0)], 50, "after 50 steps, runs at accuracy 1 out of 5 seeds: sigmoid 1"),
])
def test_the_outcome_caption_names_each_runs_end_or_counts_its_seeds(summary, steps, expected, lang):
    assert VanishingGradients.outcome_caption({"seed_summary": summary}, steps) == expected


def test_the_korean_one_seed_outcome_caption_names_the_same_runs(lang):
    lang("ko")
    summary = [seeds("tanh", solved=1), seeds("sigmoid"), seeds("relu", diverged=1)]
    assert VanishingGradients.outcome_caption({"seed_summary": summary}, 400) == (
        "400 스텝 후: XOR 해결: tanh; 해결 못함: sigmoid; 발산 (NaN): ReLU")


# --- pacing: a pace scales what is played, a hold is seconds of video -----------------------------------------
FPS = 10  # a tenth of a second a frame: a hold's rounding to frames is visible in the first decimal


def build_paced(monkeypatch, scene_cls, pace: float = 1.0, holds=(), env: dict | None = None):
    """``scene_cls`` built without drawing at FPS, with a pace and holds as the renderer passes them."""
    import json

    from manim import tempconfig

    from engine.settings import HOLDS_ENV, PACE_ENV
    from manim_patches.speedups import SkipsDrawing

    monkeypatch.setenv(PACE_ENV, repr(pace))
    monkeypatch.setenv(HOLDS_ENV, json.dumps([list(h) for h in holds]))
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    with tempconfig({"frame_rate": FPS, "write_to_movie": False, "save_last_frame": False, "disable_caching": True,
                     "progress_bar": "none", "verbosity": "WARNING"}):
        scene = scene_cls(renderer=SkipsDrawing(skip_animations=True))
        scene.render()
    return scene


def three_steps():
    from manim import FadeIn, Square

    from scenes.pacing import PacedScene

    class ThreeSteps(PacedScene):
        """Three steps named first, second, third: each a 0.4 s animation and a 0.2 s wait (0.6 s at pace 1)."""
        def construct(self):
            for name in ("first", "second", "third"):
                self.step(name)
                self.play(FadeIn(Square()), run_time=0.4)
                self.wait(0.2)
    return ThreeSteps


@pytest.mark.parametrize("pace, holds, starts, end", [
    (1.0, (), [0.0, 0.6, 1.2], 1.8),
    (2.0, (), [0.0, 0.3, 0.6], 0.9),  # twice as fast: animations and waits alike
    (0.5, (), [0.0, 1.2, 2.4], 3.6),
    # step 0 held 1 s: it waits 4 whole frames past its 0.6 s, and half a frame more (Manim truncates a wait)
    (1.0, ((0, 1.0),), [0.0, 1.05, 1.65], 2.25),
    # a hold is seconds of video at any pace: at pace 2 step 0 plays 0.3 s, then waits 7 frames and a half
    (2.0, ((0, 1.0),), [0.0, 1.05, 1.35], 1.65),
    (0.5, ((0, 2.0),), [0.0, 2.05, 3.25], 4.45),  # 1.2 s played, 8 frames waited
    (1.0, ((0, 0.62),), [0.0, 0.75, 1.35], 1.95),  # 0.02 s short is a whole frame more (and a half), not none
    (1.0, ((0, 0.5),), [0.0, 0.6, 1.2], 1.8),  # a hold shorter than the step adds nothing
    (1.0, (("sec", 1.0),), [0.0, 0.6, 1.65], 2.25),  # a name's start holds that step only
    (1.0, ((2, 1.0),), [0.0, 0.6, 1.2], 2.25),  # the last step's hold is waited at the scene's end
    (1.0, (("third", 1.0), (1, 1.0)), [0.0, 0.6, 1.2], 2.25),  # keys in order: 1 comes after step 2, never
])
def test_a_pace_scales_every_step_and_a_hold_lengthens_only_its_own_step_in_seconds_of_video(
        monkeypatch, pace, holds, starts, end):
    scene = build_paced(monkeypatch, three_steps(), pace, holds)
    assert [name for name, _ in scene.step_marks] == ["first", "second", "third"]
    assert [t for _, t in scene.step_marks] == pytest.approx(starts, abs=1e-9)
    assert scene.time == pytest.approx(end, abs=1e-9)
    if not holds:  # a chunk may start at a step: two animations a step come before it
        assert scene.step_plays == [0, 2, 4]


def test_a_steps_name_is_one_line_of_at_most_300_characters(monkeypatch):
    from manim import Square, FadeIn

    from scenes.pacing import PacedScene

    class Named(PacedScene):
        def construct(self):
            self.step("backward:\n  × gate\t here", about={"node": "q1"})
            self.play(FadeIn(Square()), run_time=0.1)
            self.step("x" * 301)
    scene = build_paced(monkeypatch, Named)
    assert [n for n, _ in scene.step_marks] == ["backward: × gate here", "x" * 300]
    assert scene.step_about == [{"node": "q1"}, None]


@pytest.mark.parametrize("keys, names, expected", [
    ([0], ["a", "b"], [0]),  # index 0 is the first step
    ([1], ["a", "b"], [1]),
    (["b"], ["a", "ab", "b"], [2]),  # a name's start, not any part of it
    (["a", "a"], ["a", "a", "a"], [0, 1]),  # each key takes one step, in order
    ([2, 0], ["a", "b", "c"], [2, None]),  # a key after its predecessor's step: 0 is past
    ([5], ["a"], [None]),
])
def test_each_hold_key_takes_the_first_step_after_the_previous_keys_step(keys, names, expected):
    from scenes.pacing import match_steps

    assert match_steps(keys, names) == expected


@pytest.mark.parametrize("value, expected", [
    (None, 1.0), ("", 1.0), ("0.5", 0.5), ("2.0", 2.0), ("1.25", 1.25)])
def test_a_scene_without_a_pace_plays_at_one_and_the_range_ends_are_allowed(monkeypatch, value, expected):
    from engine.settings import PACE_ENV
    from scenes.pacing import pace_from_env

    if value is None:
        monkeypatch.delenv(PACE_ENV, raising=False)
    else:
        monkeypatch.setenv(PACE_ENV, value)
    assert pace_from_env() == expected


@pytest.mark.parametrize("value, expected", [
    (None, []), ("", []), ('[[0, 2]]', [(0, 2.0)]), ('[["backward: × gate", 4.2], [3, 1]]', [("backward: × gate", 4.2), (3, 1.0)])])
def test_holds_are_read_as_keys_and_seconds_in_the_order_given(monkeypatch, value, expected):
    from engine.settings import HOLDS_ENV
    from scenes.pacing import holds_from_env

    if value is None:
        monkeypatch.delenv(HOLDS_ENV, raising=False)
    else:
        monkeypatch.setenv(HOLDS_ENV, value)
    got = holds_from_env()
    assert got == expected and [type(k) for k, _ in got] == [type(k) for k, _ in expected]


# --- the title card ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pace, holds, seconds", [
    (1.0, (), 2.6),  # 0.6 s in, 1.6 s shown, 0.4 s out
    (2.0, (), 1.3),
    (0.5, (), 5.2),
    (1.0, ((1, 9.0),), 2.6),  # a hold of another step is not the card's
    (1.0, ((0, 5.0),), 5.4),  # the hold, then the fade out
    (2.0, ((0, 4.0),), 4.2),  # a narration hold in seconds of video; the fade out at the pace
    (1.0, ((0, 1.0),), 2.6),  # a hold shorter than the card changes nothing
])
def test_a_title_card_lasts_its_planned_seconds_at_every_pace_and_hold(monkeypatch, pace, holds, seconds):
    from engine.settings import Timing
    from scenes.title_card import TitleCard

    assert TitleCard.seconds(Timing(pace, holds)) == pytest.approx(seconds)
    # and the card built plays that long (to a frame: a hold ends on the frame after it)
    scene = build_paced(monkeypatch, TitleCard, pace, holds, {"BACKPROP_TITLE": "Chain rule"})
    assert scene.time == pytest.approx(seconds, abs=1.0 / FPS)
    assert scene.step_marks == [("title: Chain rule", 0.0)]


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_title_cards_subtitle_is_under_its_title_in_the_muted_colour(monkeypatch, theme):
    from scenes.title_card import TitleCard

    class Kept(TitleCard):
        def play(self, *animations, **kwargs):  # the card as it fades in: title, then subtitle
            if not hasattr(self, "card"):
                self.card = animations[0].mobject
            super().play(*animations, **kwargs)

    with style.themed(theme):
        scene = build_paced(monkeypatch, Kept, env={"BACKPROP_TITLE": "Backprop", "BACKPROP_SUBTITLE": "2 / 5"})
    palette = style.THEMES[theme]
    title, sub = scene.card
    assert scene.step_marks[0][0] == "title: Backprop"
    assert title.get_color().to_hex().upper() == palette["TEXT"]
    assert sub.get_color().to_hex().upper() == palette["MUTED"]
    assert sub.get_top()[1] < title.get_bottom()[1]  # below, not above
    # short lines at their largest sizes: the title at 52 points, the subtitle at 30
    assert (round(float(title.font_size)), round(float(sub.font_size))) == (52, 30)


def test_a_title_card_without_a_title_says_backpropagation(monkeypatch):
    from engine.settings import TITLE_ENV
    from scenes.title_card import TitleCard

    monkeypatch.delenv(TITLE_ENV, raising=False)
    scene = build_paced(monkeypatch, TitleCard)
    assert scene.step_marks == [("title: Backpropagation", 0.0)]


# --- charts: numbers, titles and curves --------------------------------------------------------------------
def polyline_through(xs, ys):
    """A polyline in scene units, as a chart's curve is."""
    from manim import VMobject

    mob = VMobject()
    mob.set_points_as_corners([[x, y, 0] for x, y in zip(xs, ys)])
    return mob


def corners_of(mob) -> np.ndarray:
    pts = mob.points.reshape(-1, 4, 3)
    return np.concatenate([pts[:, 0], pts[-1:, 3]])


@pytest.mark.parametrize("ys, drawn", [
    ([0.0, 1.0, 2.0, 3.0], 4),
    ([0.0, 1.0, float("nan"), 3.0], 2),  # a NaN ends the curve: nothing after it is drawn
    ([0.0, 1.0, 2.0, float("inf")], 3),  # so does an infinity
    ([float("nan"), 1.0, 2.0, 3.0], 0),  # diverged at once: no curve (the end mark says where)
    ([0.0, float("nan"), 2.0, 3.0], 0),  # one point is no line
])
def test_a_curve_is_drawn_through_its_finite_prefix_at_its_charts_coordinates(ys, drawn):
    from manim import Axes

    from scenes.charts import polyline

    ax = Axes(x_range=[0, 3, 1], y_range=[0, 3, 1], x_length=3, y_length=3)
    line = polyline(ax, np.array([0.0, 1.0, 2.0, 3.0]), ys, "#FF0000", width=5)
    assert line.get_stroke_width() == 5 and line.get_stroke_color().to_hex().upper() == "#FF0000"
    if not drawn:
        assert not line.has_points()
        return
    got = ax.point_to_coords(corners_of(line))
    assert got == pytest.approx(np.array([[x, y] for x, y in zip([0.0, 1.0, 2.0, 3.0][:drawn], ys[:drawn])]))


@pytest.mark.parametrize("x_ticks, x_numbers", [
    (None, ["0", "2", "4"]),  # every step, both ends included
    (range(1, 4), ["1", "2", "3"]),  # given ticks: the layer axis
])
def test_a_charts_numbers_sit_under_and_left_of_its_axes_and_its_titles_after_and_above_them(x_ticks, x_numbers):
    from scenes.charts import chart

    group = chart([0, 4, 2], [-1, 1, 1], 4, 2, "step", "loss", x_ticks=x_ticks)
    ax, numbers, (x_name, y_name) = group
    assert group.ax is ax
    xs, ys = numbers[:len(x_numbers)], numbers[len(x_numbers):]
    assert [n.original_text for n in xs] == x_numbers
    assert [n.original_text for n in ys] == ["−1", "0", "1"]  # the low end first, a typographic minus
    bottom, left = ax.x_axis.get_bottom()[1], ax.y_axis.get_left()[0]
    for n, v in zip(xs, x_numbers):  # under the axis, centred on its tick
        assert n.get_top()[1] < bottom and n.get_x() == pytest.approx(ax.c2p(float(v), -1)[0], abs=1e-6)
    for n, v in zip(ys, (-1, 0, 1)):  # left of the axis, at its height
        assert n.get_right()[0] < left and n.get_y() == pytest.approx(ax.c2p(0, v)[1], abs=1e-6)
    # the x title right of the last number, on its line; the y title above the y axis, from its left
    assert x_name.get_left()[0] > xs[-1].get_right()[0] and x_name.get_y() == pytest.approx(xs[-1].get_y())
    assert y_name.get_bottom()[1] > ax.y_axis.get_top()[1]
    assert y_name.get_left()[0] == pytest.approx(min(ys[0].get_left()[0], left), abs=1e-6)
    muted = style.MUTED.upper()
    for t in [*numbers, x_name, y_name]:
        assert t.get_color().to_hex().upper() == muted
    # 24 points: 10.9 px of x-height at 854x480, over the audit's floor of 10
    assert {round(float(t.font_size), 6) for t in [*numbers, x_name, y_name]} == {24}
    assert ax.x_axis.get_color().to_hex().upper() == muted


def test_a_power_of_ten_is_written_at_36_points_with_its_exponent():
    from scenes.charts import power_of_ten

    mob = power_of_ten(-3)
    assert mob.tex_string == "10^{-3}" and mob.font_size == pytest.approx(36)
    assert mob.audit_kind == "axis label"


@pytest.mark.parametrize("offset, share", [
    (0.0, 1.0),  # drawn over each other
    (0.05, 1.0),  # within 0.06 (3.6 px): still over each other
    (0.07, 0.0),  # just apart
])
def test_the_share_of_a_curve_under_another_counts_points_within_the_tolerance(offset, share):
    from scenes.charts import coincide_share

    a = corners_of(polyline_through([0, 1, 2], [0, 0, 0]))  # level: the offset is the distance
    b = a + [0, offset, 0]
    assert coincide_share(a, b) == pytest.approx(share)


def test_resampling_keeps_both_ends_and_measures_the_distance_along():
    from scenes.charts import resample

    pts, along = resample(np.array([[0.0, 0, 0], [3, 0, 0], [3, 4, 0]]), 2.0)
    assert along == pytest.approx([0, 2, 4, 6, 7])  # every 2 along 7, and the end
    assert pts[:, :2] == pytest.approx(np.array([[0, 0], [2, 0], [3, 1], [3, 3], [3, 4]]))
    one, along = resample(np.array([[1.0, 2, 0]]), 0.5)
    assert one.tolist() == [[1.0, 2, 0]] and along.tolist() == [0.0]


@pytest.mark.parametrize("curves, groups", [
    # a over b, b over c, a not near c: all three take turns, not two groups of two or one pair
    ([("x", 0.0), ("x", 0.04), ("x", 0.08)], [[0, 1, 2]]),
    ([("x", 0.08), ("x", 0.0), ("x", 0.04)], [[0, 1, 2]]),
    ([("x", 0.0), ("x", 1.0)], []),  # apart: none
    ([("x", 0.0), ("x", 1.0), ("x", 0.0)], [[0, 2]]),  # the third over the first, not the second
    ([("x", 0.0), ("point", 0.0)], []),  # a curve of one point is no curve
])
def test_curves_drawn_over_each_other_are_grouped_even_through_a_third(curves, groups):
    from scenes.charts import coinciding_groups

    xs = np.linspace(0, 2, 21)
    lines = [polyline_through(xs, xs * 0 + dy) if kind == "x" else polyline_through([0.0], [dy])
             for kind, dy in curves]
    assert coinciding_groups(lines) == groups


@pytest.mark.parametrize("turns", [2, 3])
def test_curves_drawn_over_each_other_take_turns_dash_by_dash_and_each_shows(turns):
    from scenes.charts import dashed

    dash = 0.14  # scene units (8 px at 854x480): short enough that every curve shows along any stretch
    xs = np.linspace(0, 20 * dash, 41)
    line = polyline_through(xs, xs * 0)
    others = [corners_of(polyline_through(xs, xs * 0))]
    for turn in range(turns):
        out = dashed(line, turn, turns, others)
        pieces = [p for p in out.get_subpaths() if len(p)]
        assert len(pieces) == len(range(turn, 20, turns))  # one dash in every `turns`, this curve's turn
        for p in pieces:
            mid = (p[:, 0].min() + p[:, 0].max()) / 2
            assert int(mid // dash) % turns == turn
            assert np.ptp(p[:, 0]) == pytest.approx(dash, abs=dash / 8 + 1e-9)
    # 0.1 apart (6 px) is not over each other: solid
    apart = dashed(line, 1, turns, [c + [0, 0.1, 0] for c in others])
    assert len(apart.get_subpaths()) == 1 and np.ptp(apart.points[:, 0]) == pytest.approx(20 * dash)


def test_visible_curves_are_tagged_with_their_names_and_only_coinciding_ones_dashed():
    from scenes.charts import visible_curves

    xs = np.linspace(0, 2, 21)
    lines = [polyline_through(xs, xs * 0), polyline_through(xs, xs * 0 + 1.0), polyline_through(xs, xs * 0)]
    out = visible_curves(lines, ["sigmoid", "tanh", "ReLU"])
    assert [(m.audit_shape, m.audit_label) for m in out] == [("curve", "sigmoid"), ("curve", "tanh"), ("curve", "ReLU")]
    assert out[1] is lines[1]  # alone: drawn as it was
    # the two over each other take turns: their dashes never overlap and together draw the whole curve
    spans = [sorted((p[:, 0].min(), p[:, 0].max()) for p in out[i].get_subpaths()) for i in (0, 2)]
    assert all(len(s) > 1 for s in spans)
    merged = sorted(spans[0] + spans[1])
    assert all(b[0] >= a[1] - 1e-6 for a, b in zip(merged, merged[1:]))
    assert merged[0][0] == pytest.approx(0) and merged[-1][1] == pytest.approx(2)


def test_a_curve_along_a_shorter_one_takes_turns_only_where_they_share_and_is_solid_past_its_end():
    from scenes.charts import visible_curves

    long = polyline_through(np.linspace(0, 2, 21), np.zeros(21))
    # a run that diverged early: all of it along the other, though under half of the other's length
    short = polyline_through(np.linspace(0, 0.8, 9), np.zeros(9))
    out = visible_curves([long, short], ["tanh", "ReLU"])
    pieces = sorted((p[:, 0].min(), p[:, 0].max()) for p in out[0].get_subpaths())
    assert len(pieces) > 1  # dashed along the short curve
    assert pieces[-1][0] < 0.9 and pieces[-1][1] == pytest.approx(2)  # one solid stroke from its end on


@pytest.mark.parametrize("start, grouped", [
    (1.2, False),  # the second starts where 0.8 of 2 is left: 40 % of either under the other, not over it
    (0.8, True),  # 60 %: over more than half
])
def test_two_curves_are_over_each_other_when_more_than_half_of_one_is(start, grouped):
    from scenes.charts import coinciding_groups

    a = polyline_through(np.linspace(0, 2, 41), np.zeros(41))
    b = polyline_through(np.linspace(start, start + 2, 41), np.zeros(41))
    assert coinciding_groups([a, b]) == ([[0, 1]] if grouped else [])


# --- the caption audit: the numbers a caption, note, legend or table cell may state -------------------------
@pytest.mark.parametrize("obj, key, numbers", [
    (True, "solved", []),  # a flag is no number
    (3, "steps", [3.0]),
    (3.2e-5, "median_ratio", [3.2e-5, 4.0]),  # a ratio is also said in whole decades below 1
    (0.5, "ratio", [0.5, 0.0]),
    (-0.001, "ratio", [-0.001, 3.0]),
    (2.0, "ratio", [2.0]),  # no decades for a ratio of 1 or more, or of 0
    (1.0, "ratio", [1.0]),
    (0.0, "ratio", [0.0]),
    (0.001, "loss", [0.001]),  # nor for a number that is not a ratio
    ("1.5", "", [1.5]), ("tanh", "", []),
    ([4, 5], "", [2.0, 4.0, 5.0]),  # a list's length is a count too
    ({"ratios": [0.002]}, "", [1.0, 0.002, 2.0]),
    ({"versions": {"torch": 2}, "format": 3, "version": 4, "steps": 5}, "", [5.0]),  # not the file's metadata
    (None, "", []),
])
def test_every_number_of_a_trace_is_one_a_caption_may_state(obj, key, numbers):
    from audit.captions import _numbers

    assert _numbers(obj, key) == numbers


@pytest.mark.parametrize("x, forms", [
    (3.0, {"3"}), (-3.0, {"3"}), (0.25, {"0.25"}), (0.123456, {"0.123"}), (12345.0, {"12345"}),
    (123456.0, {"1.2e5", "123456"}), (-123456.0, {"1.2e5", "123456"}),  # a count of steps, also whole
    (float("nan"), set()), (float("inf"), set()),
])
def test_a_number_is_written_as_the_screen_writes_it_without_its_sign(x, forms):
    from audit.captions import _forms

    assert _forms(x) == forms


@pytest.mark.parametrize("token, normal", [("−4.00", "4.00"), ("+3", "3"), ("-0.5", "0.5"), ("1.2e−5", "1.2e-5")])
def test_a_tokens_typographic_minus_and_sign_are_read_as_the_trace_writes_numbers(token, normal):
    from audit.captions import _normal

    assert _normal(token) == normal


# ReLU's and leaky ReLU's numbers differ, so a number given to the other run shows; tanh holds a ratio.
RUNS = {"kind": "vanishing", "config": {"steps": 400, "seeds": 10},
        "runs": [{"activation": "relu", "accuracy": [0.5, 0.75]}, {"activation": "leaky_relu", "accuracy": [0.5, 1.0]}],
        "seed_summary": [{"activation": "relu", "solved": 7}, {"activation": "leaky_relu", "solved": 9},
                         {"activation": "tanh", "median_ratio": 3.2e-5}]}


@pytest.mark.parametrize("text, problems", [
    ("ReLU: final accuracy 0.75", 0),
    ("leaky ReLU: final accuracy 0.75", 1),  # ReLU's accuracy: "leaky ReLU" is one name, not ReLU's
    ("leaky ReLU: final accuracy 1", 0),
    ("ReLU: final accuracy −0.75", 0),  # the sign is the screen's
    ("ReLU (7/10), leaky ReLU (9/10)", 0),
    ("ReLU (9/10), leaky ReLU (7/10)", 2),  # a comma ends a run's clause
    ("ReLU (7/10); leaky ReLU (7/10)", 1),
    ("ReLU (7/10)\nleaky ReLU (7/10)", 1),
    ("after 400 steps: ReLU 7", 0),  # the experiment's own numbers go with any run
    ("after 401 steps", 1),
    ("step 0: tanh's first layer gets a gradient 4 orders of magnitude below its last", 0),
    ("step 0: tanh's first layer gets a gradient 5 orders of magnitude below its last", 1),
    ("step 0: no activation here loses more than a factor of 100 from the last layer to the first", 0),  # wording
    ("ReLU and leaky ReLU solve 7 and 9 of 10", 0),  # two runs named: either one's numbers
    ("ReLU and leaky ReLU solve 7 and 8 of 10", 1),
])
def test_a_caption_may_state_its_runs_numbers_and_the_experiments_and_no_other(text, problems):
    from audit.captions import CaptionCheck
    from scenes.training_scenes import ACT_NAMES

    assert len(CaptionCheck(RUNS, ACT_NAMES).check_text("caption", text)) == problems


def test_a_wrong_number_is_named_with_its_run_and_a_long_text_cut_to_70_characters():
    from audit.captions import CaptionCheck
    from scenes.training_scenes import ACT_NAMES

    check = CaptionCheck(RUNS, ACT_NAMES)
    assert check.check_text("text", "leaky ReLU: final accuracy 0.75") == [
        "text 'leaky ReLU: final accuracy 0.75': 0.75 is not a number of leaky ReLU's run in the trace"]
    long = "after 401 steps " + "x" * 80
    assert check.check_text("caption", long) == [f"caption {long[:67] + '...'!r}: 401 is not a number of the trace"]


@pytest.mark.parametrize("kind, checked", [
    ("caption", True), ("text", True),  # a caption; a note or table cell
    ("legend", True),  # a learning curve's legend says its run's final accuracy or where it turned NaN
    ("title", False), ("axis label", False), ("value", False), ("equation", False),
])
def test_the_audit_checks_the_numbers_of_captions_notes_and_legends_not_of_labels_and_titles(kind, checked):
    from types import SimpleNamespace

    from audit.captions import CaptionCheck
    from scenes.training_scenes import ACT_NAMES

    frame = SimpleNamespace(texts=[SimpleNamespace(kind=kind, string="leaky ReLU: final accuracy 0.75")])
    assert len(CaptionCheck(RUNS, ACT_NAMES)(frame)) == (1 if checked else 0)


# --- the vanishing scene's bars and marks ----------------------------------------------------------------------
def layer_axes(depth: int, span: float = 4.0):
    """A norms chart as the scene makes one: layers 1..depth across, decades above the smallest norm up."""
    from manim import Axes

    return Axes(x_range=[0, depth + 1, 1], y_range=[0, span, 1], x_length=depth + 1, y_length=span)


def subpaths(group) -> list[np.ndarray]:
    return [p for m in group.family_members_with_points() for p in m.get_subpaths() if len(p)]


@pytest.mark.parametrize("norms, ymin, heights", [
    ([1e-3, 1e-1, 1.0], -3.0, [0.02, 2.0, 3.0]),  # decades above the smallest; the smallest a sliver, not nothing
    ([1e-2, 1e-4], -5.0, [3.0, 1.0]),  # the last layer at the right
])
def test_a_norm_bar_stands_at_its_layer_as_many_decades_high_as_it_is_above_the_smallest(norms, ymin, heights):
    ax = layer_axes(len(norms))
    bars, marks = VanishingGradients._bars(ax, np.array(norms), ymin, "#123456")
    assert bars.audit_shape == "bar" and len(marks) == 0
    pieces = subpaths(bars)
    assert len(pieces) == len(norms)
    for layer, (p, h) in enumerate(zip(sorted(pieces, key=lambda p: p[:, 0].mean()), heights), start=1):
        assert (p[:, 0].min() + p[:, 0].max()) / 2 == pytest.approx(ax.c2p(layer, 0)[0])  # layers count from 1
        assert np.ptp(p[:, 0]) == pytest.approx(0.6)  # 0.6 of a layer's width
        assert p[:, 1].min() == pytest.approx(ax.c2p(0, 0)[1]) and np.ptp(p[:, 1]) == pytest.approx(h)
    fill = bars.family_members_with_points()[0]
    assert fill.get_fill_color().to_hex().upper() == "#123456" and fill.get_fill_opacity() == pytest.approx(0.85)


@pytest.mark.parametrize("norms, marks", [
    ([0.0, 1.0], ["0"]),  # no gradient reached the layer
    ([float("inf"), 1.0], ["∞"]),
    ([1.0, float("nan")], ["×", "× = NaN: the run diverged"]),  # and the chart says NaN once
    ([float("nan"), float("nan"), 1.0], ["×", "×", "× = NaN: the run diverged"]),
])
def test_a_layer_without_a_finite_norm_is_marked_at_its_place_in_the_bad_colour(norms, marks, lang):
    ax = layer_axes(len(norms))
    bars, drawn = VanishingGradients._bars(ax, np.array(norms), -2.0, "#123456")
    assert [m.original_text for m in drawn] == marks
    assert len(subpaths(bars)) == sum(np.isfinite(norms) & (np.array(norms) > 0))
    bad = style.BAD.upper()
    layers = [k for k, v in enumerate(norms, start=1) if not (np.isfinite(v) and v > 0)]
    for m, layer in zip(drawn, layers):  # just above the baseline, at its layer
        assert m.get_center()[:2] == pytest.approx(ax.c2p(layer, 0)[:2] + [0, 0.2])
        assert m.get_color().to_hex().upper() == bad
    if "×" in marks:  # over the middle of the chart
        assert drawn[-1].get_center()[:2] == pytest.approx(ax.c2p((len(norms) + 1) / 2, 0)[:2] + [0, 0.75])
        assert drawn[-1].get_color().to_hex().upper() == bad


@pytest.mark.parametrize("ys, at", [
    ([0.5, 0.4, float("nan"), float("nan")], (10, 0.4)),  # the last finite point
    ([2.5, float("inf")], (0, 2.0)),  # above the chart: on its top edge
    ([-1.0, float("nan")], (0, 0.0)),  # below: on its bottom edge
    ([float("nan"), float("nan")], (0, 0.0)),  # NaN from the start: at the start, on the baseline
])
def test_a_diverged_runs_cross_is_at_its_last_finite_point_inside_the_chart(ys, at):
    from manim import Axes

    ax = Axes(x_range=[0, 30, 10], y_range=[0, 2, 1], x_length=3, y_length=2)
    cross = VanishingGradients._end_mark(ax, np.array([0.0, 10.0, 20.0, 30.0][:len(ys)]), np.array(ys), "#ABCDEF")
    p = ax.c2p(*at)
    assert cross.get_center() == pytest.approx(p)
    ends = sorted(tuple(np.round(s.get_start() - p, 6)[:2]) + tuple(np.round(s.get_end() - p, 6)[:2]) for s in cross)
    assert ends == [(-0.11, -0.11, 0.11, 0.11), (-0.11, 0.11, 0.11, -0.11)]  # an x, 0.22 across
    assert {s.get_color().to_hex().upper() for s in cross} == {"#ABCDEF"}
    assert {s.get_stroke_width() for s in cross} == {4}


# --- the histograms and the zig-zag's pieces -----------------------------------------------------------------
@pytest.mark.parametrize("counts, edges, zero_at, reach", [
    ([0, 2, 4, 0], [-2.0, -1.0, 0.0, 1.0, 2.0], 0.5, "±2"),  # 0 in the middle of a symmetric range
    ([1, 3], [-1.0, 0.0, 3.0], 0.25, "±3"),  # a quarter in; the range said by the larger end
    ([3, 1], [-3.0, 0.0, 1.0], 0.75, "±3"),
    ([0, 0], [0.0, 0.0, 0.0], 0.5, "±0"),  # every gradient 0: the line in the middle
])
def test_a_histogram_draws_its_bars_its_zero_line_its_range_and_its_counts(counts, edges, zero_at, reach):
    from scenes.training_scenes import GradientHistograms

    h = {"counts": counts, "edges": edges, "positive": 7, "negative": 5, "zero": 3, "layer": 1}
    frame, bars, zero, scale, pos, neg, nil = GradientHistograms.histogram(h, 2.0, 1.0)
    x0, y0 = frame.get_left()[0], frame.get_bottom()[1]
    assert frame.width == pytest.approx(2.0) and frame.height == pytest.approx(1.0)
    assert frame.get_stroke_color().to_hex().upper() == style.MUTED.upper()
    # a bar per filled bin at its place, 0.9 of the bin wide, the fullest 0.85 of the frame high
    pieces = sorted(subpaths(bars), key=lambda p: p[:, 0].mean())
    filled = [i for i, c in enumerate(counts) if c]
    assert len(pieces) == len(filled) and bars.audit_shape == "bar"
    bw = 2.0 / len(counts)
    for p, i in zip(pieces, filled):
        assert p[:, 0].mean() == pytest.approx(x0 + (i + 0.5) * bw) and np.ptp(p[:, 0]) == pytest.approx(0.9 * bw)
        assert p[:, 1].min() == pytest.approx(y0) and np.ptp(p[:, 1]) == pytest.approx(0.85 * counts[i] / max(counts))
    if filled:
        assert bars.family_members_with_points()[0].get_fill_color().to_hex().upper() == style.GRADIENT.upper()
    assert zero.get_x() == pytest.approx(x0 + 2.0 * zero_at) and zero.height == pytest.approx(1.0)
    assert zero.get_color().to_hex().upper() == style.TEXT.upper()
    # under the frame, top to bottom: the range (muted), then the counts of +, − and 0
    assert [t.original_text for t in (scale, pos, neg, nil)] == [reach, "+7", "−5", "0: 3"]
    assert scale.get_color().to_hex().upper() == style.MUTED.upper()
    assert {t.get_color().to_hex().upper() for t in (pos, neg, nil)} == {style.TEXT.upper()}
    tops = [t.get_y() for t in (frame, scale, pos, neg, nil)]
    assert tops == sorted(tops, reverse=True)


def points_on(ax, mob) -> np.ndarray:
    return ax.point_to_coords(mob.get_all_points())[:, :2]


@pytest.mark.parametrize("path, center, radius", [
    # the first half's point with the most room when it has a disc's radius (0.75): not the roomier later one
    ([-1.8, -0.5, 0.0, 1.8], -0.5, 0.75),
    # none in the first half has: the roomiest of the whole path
    ([-1.8, -1.5, 0.0, 1.8], 0.0, 0.75),
    # six points: the first half is three, so the fourth (room 1) is not preferred to the fifth (room 2)
    ([-1.8, -1.7, -1.6, -1.0, 0.0, 1.8], 0.0, 0.75),
    # nowhere has the room: the roomiest point, and a disc no larger than its room
    ([-1.8, -1.6, 1.7], -1.6, 0.4),
    # room is to every edge: a point in the middle of w1 but near the top of w2 has little
    ([(-1.8, -1.8), (0.0, 1.9), (-0.5, -0.5), (1.8, 1.8)], -0.5, 0.75),
])
def test_the_shaded_quadrants_sit_where_the_sigmoid_path_has_room_and_stay_inside_the_plot(path, center, radius):
    from manim import Axes

    from scenes.training_scenes import SigmoidZigZag

    ax = Axes(x_range=[-2, 2, 1], y_range=[-2, 2, 1], x_length=4, y_length=4)  # a scene unit a unit
    weights = np.array([w if isinstance(w, tuple) else (w, w) for w in path])
    up_right, down_left, dot = SigmoidZigZag.allowed_quadrants(ax, weights)
    assert dot.get_center()[:2] == pytest.approx([center, center]) and dot.radius == pytest.approx(0.06)
    for wedge, sign in ((up_right, 1), (down_left, -1)):  # both weights up, or both down
        d = (points_on(ax, wedge) - center) * sign
        assert d.min() == pytest.approx(0, abs=1e-6) and d.max() == pytest.approx(radius, abs=1e-3)
        assert wedge.get_fill_opacity() == pytest.approx(0.35)
    sigmoid = style.ACTIVATION["sigmoid"].upper()
    assert {m.get_fill_color().to_hex().upper() for m in (up_right, down_left, dot)} == {sigmoid}


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_lowest_loss_is_the_end_of_the_surfaces_ramp_that_stands_out_from_the_background(theme):
    from manim import Axes, rgb_to_color

    from scenes.training_scenes import SHADE_LEVELS, SURFACE, shade_bands

    high, low = (np.asarray(c) for c in SURFACE[theme])
    luminance = {k: 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2] for k, c in (("high", high), ("low", low))}
    # on black the minimum is the light end, on white the dark end
    assert (luminance["low"] > luminance["high"]) == (theme == "dark")
    ax = Axes(x_range=[0, 3, 1], y_range=[0, 1, 1], x_length=3, y_length=1)
    with style.themed(theme):
        # four columns of cells: the lowest shade, two of a middle one (12.7 of 24 levels: level 12, one band),
        # the highest (past the last level's start: still the last level)
        bands = shade_bands(ax, np.arange(4.0), np.array([0.0, 1.0]), np.array([[0.0, 0.0], [0.53, 0.53],
                                                                              [0.53, 0.53], [1.0, 1.0]]))
    colors = [b.get_fill_color().to_hex().upper() for b in bands]
    want = [rgb_to_color(high + (lv + 0.5) / SHADE_LEVELS * (low - high)).to_hex().upper() for lv in (0, 12, 23)]
    assert colors == want and SHADE_LEVELS == 24
    middle = subpaths(bands[1])
    assert len(middle) == 2  # a run of two cells a row is one rectangle (two rows)
    xs = points_on(ax, bands[1])[:, 0]
    assert (xs.min(), xs.max()) == pytest.approx((0.5, 2.5))  # cells centred on their samples


# --- the vanishing scene's charts, built from hand-made traces ------------------------------------------------
def shown_parts(monkeypatch, method: str, trace: dict, lang_code: str = "en"):
    """Texts and formulas on screen after VanishingGradients.``method``(trace) alone, built without drawing;
    and the captions it set."""
    from manim import MathTex, Text

    from scenes.training_scenes import VanishingGradients

    class One(VanishingGradients):
        def construct(self):
            self.seen = set()  # every text shown after any animation
            self.under = set()  # (text, the step it was shown in)
            getattr(self, method)(trace)

        def play(self, *args, **kwargs):
            super().play(*args, **kwargs)
            now = {m.original_text for top in self.mobjects for m in top.get_family() if isinstance(m, Text)}
            self.seen |= now
            self.under |= {(t, self.step_marks[-1][0]) for t in now if self.step_marks}

    monkeypatch.setenv("BACKPROP_LANG", lang_code)
    scene = build_paced(monkeypatch, One)
    family = [m for top in scene.mobjects for m in top.get_family()]
    texts = [m.original_text for m in family if isinstance(m, Text)]
    tex = [m.tex_string for m in family if isinstance(m, MathTex)]
    return texts, tex, [name for name, _ in scene.step_marks], scene


def norms_trace(norms: list, steps=(0, 10, 20)) -> dict:
    """A vanishing trace's runs: per activation, norms[step][layer]."""
    acts = ["sigmoid", "tanh", "relu", "leaky_relu"][:len(norms)]
    return {"runs": [{"activation": a, "steps": list(steps), "grad_norms": n} for a, n in zip(acts, norms)],
            "seed_summary": []}


@pytest.mark.parametrize("norms, powers", [
    # 1e-3 to 1: three decades, numbered every two from the lowest (the span rounded up to 4)
    ([[[1e-3, 1.0]] * 3], ["10^{-3}", "10^{-1}", "10^{1}"]),
    # 1e-8 to 10 over two runs: nine decades, every five (the lowest of either run's norms at the bottom)
    ([[[1e-2, 10.0]] * 3, [[1e-8, 1e-1]] * 3], ["10^{-8}", "10^{-3}", "10^{2}"]),
    # 1e-3 to 0.5: the top rounded up to 10^0, three decades
    ([[[1e-3, 0.5]] * 3], ["10^{-3}", "10^{-1}", "10^{1}"]),
    # 0.5 to 0.9: within a decade, still one decade of axis
    ([[[0.5, 0.9]] * 3], ["10^{-1}", "10^{0}"]),
    # no finite norm above 0 at all: 10^-8 to 10^1
    ([[[0.0, float("nan")]] * 3], ["10^{-8}", "10^{-3}", "10^{2}"]),
])
def test_the_norms_axis_is_numbered_in_decades_from_the_smallest_norm_at_most_three_times(monkeypatch, norms, powers):
    texts, tex, _, _ = shown_parts(monkeypatch, "show_gradient_norms", norms_trace(norms))
    assert sorted(set(tex), key=tex.index) == powers


@pytest.mark.parametrize("depth, layers", [
    (3, [1, 2, 3]),  # every layer, the last included
    (10, list(range(1, 11))),
    (20, list(range(1, 21, 2))),  # from 20 layers, every other one
])
def test_the_layer_axis_numbers_every_layer_from_the_first_to_the_last_or_every_other_past_twenty(monkeypatch, depth,
                                                                                                     layers):
    texts, _, _, _ = shown_parts(monkeypatch, "show_gradient_norms", norms_trace([[[1.0] * depth] * 3]))
    assert sorted({int(t) for t in texts if t.isdigit()}) == layers


def test_each_norms_step_is_stamped_and_its_notes_give_the_first_and_the_last_layer(monkeypatch):
    # five records: six snapshots of them are every record, each once; the first layer's norm differs from
    # the second's and the last's, so a note reading another layer shows
    norms = [[[10.0 ** -(k + 3), 10.0 ** -(k + 2), 10.0 ** -(k + 1)] for k in range(5)]]
    texts, _, steps, scene = shown_parts(monkeypatch, "show_gradient_norms", norms_trace(norms, (0, 5, 10, 15, 20)))
    assert steps == [
        "gradient norm of each layer's weights, first layer left (log scale)",
        "step 0: no activation here loses more than a factor of 100 from the last layer to the first",
        "as training goes on: each layer's gradient norm at the step shown above"]
    # step 0 under the step-0 caption, every later step under the training one
    assert {(f"step {s}", steps[1 if s == 0 else 2]) for s in (0, 5, 10, 15, 20)} <= scene.under
    assert not {(f"step {s}", steps[1]) for s in (5, 10, 15, 20)} & scene.under
    # numbers as the screen writes them (engine/numfmt.py: 0.001, then 1e−4 and smaller)
    firsts, lasts = ["0.001", "1e−4", "1e−5", "1e−6", "1e−7"], ["0.1", "0.01", "0.001", "1e−4", "1e−5"]
    assert {f"first {a}, last {b}" for a, b in zip(firsts, lasts)} <= scene.seen
    assert "step 20" in texts and "first 1e−7, last 1e−5" in texts  # the last record's, at the end


NAN = float("nan")


def curves_trace(tanh_loss, seeds: int = 1, last_step: int = 400) -> dict:
    """tanh solves the task; ReLU turns NaN at the third record (step 200 of 400)."""
    steps = [round(last_step * k / 4) for k in range(5)]
    return {"runs": [{"activation": "tanh", "seed": 7, "steps": steps, "loss": tanh_loss,
                      "accuracy": [0.5, 0.75, 1.0, 0.75, 1.0]},  # the last differs from the one before
                     {"activation": "relu", "seed": 7, "steps": steps, "loss": [0.7, 0.6, NAN, NAN, NAN],
                      "accuracy": [0.5, 0.5, NAN, NAN, NAN]}],
            "seed_summary": [seeds_row for seeds_row in (seeds_entry("tanh", seeds, 1), seeds_entry("relu", seeds, 0))]}


def seeds_entry(act, n, solved):
    return {**seeds(act, n, solved=solved, diverged=0 if solved else n), "median_ratio": None, "per_seed": []}


@pytest.mark.parametrize("tanh_loss, top, not_shown", [
    ([0.7, 0.5, 0.3, 0.2, 0.1], ["0.25", "0.5", "0.75", "1", "1"], "1.25"),  # never under 1: [0, 1] by quarters
    ([0.7, 0.6, float("inf"), NAN, NAN], ["0.25", "0.5", "0.75", "1", "1"], "1.5"),  # an infinity is no top
    ([2.2, 1.0, 0.3, 0.2, 0.1], ["0.5", "1.5", "2.5"], "3"),  # rounded out to 2.5 by halves
    ([5.0, float("inf"), 0.3, 0.2, 0.1], ["0.5", "2.5", "3"], "3.5"),  # capped at 3, an infinity not counted
])
def test_the_loss_axis_reaches_the_largest_finite_loss_at_least_1_at_most_3(monkeypatch, tanh_loss, top, not_shown):
    texts, _, _, _ = shown_parts(monkeypatch, "show_learning_curves", curves_trace(tanh_loss))
    for number in set(top):  # "1" twice: the top of the loss axis and of the accuracy axis
        assert texts.count(number) >= top.count(number), number
    assert not_shown not in texts


@pytest.mark.parametrize("last_step, numbers", [
    (400, ["0", "100", "200", "300", "400"]),  # every quarter
    (9996, ["0", "2499", "4998", "7497", "9996"]),  # four-digit numbers still fit every quarter
    (1001, ["0", "250", "500", "751", "1001"]),  # a quarter between steps: the nearest step
    (20000, ["0", "10000", "20000"]),  # five-digit numbers: every half
])
def test_the_step_axis_is_numbered_every_quarter_and_every_half_from_ten_thousand(monkeypatch, last_step, numbers):
    texts, _, _, _ = shown_parts(monkeypatch, "show_learning_curves", curves_trace([0.7] * 5, last_step=last_step))
    digits = sorted({t for t in texts if t.isdigit() and t not in ("0", "1")}, key=int)  # not the y axes'
    assert digits == numbers[1:]


@pytest.mark.parametrize("n_seeds, seed_line", [
    (1, None),  # one seed: nothing to say which
    (3, "curves: seed 7, one of the 3 seeds"),
])
def test_the_learning_curves_legend_says_each_runs_end_in_its_colour_and_which_seed_is_drawn(monkeypatch, n_seeds,
                                                                                           seed_line):
    from manim import Text

    _, _, steps, scene = shown_parts(monkeypatch, "show_learning_curves", curves_trace([0.7] * 5, n_seeds))
    texts = {m.original_text: m.get_color().to_hex().upper()
             for top in scene.mobjects for m in top.get_family() if isinstance(m, Text)}
    assert texts["tanh: final accuracy 1"] == style.ACTIVATION["tanh"].upper()
    assert texts["ReLU: NaN from step 200"] == style.ACTIVATION["relu"].upper()  # the first NaN's step
    lines = [t for t in texts if t.startswith("curves: seed")]
    assert lines == ([seed_line] if seed_line else [])
    if seed_line:
        assert texts[seed_line] == style.TEXT.upper()


@pytest.mark.parametrize("ratio, cell", [(None, "—"), (3.2e-5, "3.2e−5"), (0.25, "0.25")])
def test_the_seed_table_writes_each_activations_median_ratio_or_a_dash_without_one(monkeypatch, ratio, cell):
    from manim import Table

    summary = [{**seeds("sigmoid", 3, solved=1, diverged=2, dead=0), "median_ratio": ratio},
               {**seeds("relu", 3, solved=2, diverged=0, dead=1), "median_ratio": 0.5}]
    _, _, steps, scene = shown_parts(monkeypatch, "show_seed_summary", summary)
    assert steps == ["3 seeds per activation: one run is an anecdote"]
    table = next(m for top in scene.mobjects for m in top.get_family() if isinstance(m, Table))

    def entry(r, c):
        e = table.get_entries((r, c))  # a Paragraph: its text is its lines'
        text = e.lines_text.original_text if hasattr(e, "lines_text") else e.original_text
        return text, e.family_members_with_points()[0].get_fill_color().to_hex().upper()
    rows = [[entry(r, c)[0] for c in range(1, 6)] for r in (2, 3)]
    assert rows == [["sigmoid", "1 / 3", "2", "0", cell], ["ReLU", "2 / 3", "0", "1", "0.5"]]
    assert entry(2, 1)[1] == style.ACTIVATION["sigmoid"].upper() and entry(3, 1)[1] == style.ACTIVATION["relu"].upper()
    assert entry(2, 5)[1] == style.TEXT.upper()


# --- notation: names and rounding noise ----------------------------------------------------------------------
EPS = np.finfo(float).eps


@pytest.mark.parametrize("value, scale, shown", [
    (64 * EPS, 1.0, 0.0),  # 64 units in the last place of the scale: noise, shown as 0
    (65 * EPS, 1.0, 65 * EPS),  # one more: a value
    (-64 * EPS * 8, 8.0, 0.0),  # either sign, relative to the scale
    (1e-20, 0.0, 1e-20),  # nothing to be noise of
    (-1.0, 1.0, -1.0),  # a negative value is a value
    (float("nan"), 1.0, float("nan")),  # NaN is never 0
])
def test_a_number_within_64_ulps_of_its_scale_is_shown_as_zero(value, scale, shown):
    from scenes.notation import NOISE_ULPS, _flush

    assert NOISE_ULPS == 64
    got = float(_flush(np.array(value), scale))
    assert got == shown or (np.isnan(shown) and np.isnan(got))


@pytest.mark.parametrize("local_shape, upstream_shape, terms", [
    ((), (), 1), ((3,), (3,), 1),  # scalars and elementwise gates: one term
    ((3, 4), (2, 5), 5),  # a matrix product sums over the upstream's last axis
    ((3, 4), (), 1),
])
def test_a_matrix_products_gradient_counts_the_terms_it_sums(local_shape, upstream_shape, terms):
    from scenes.notation import _inner

    assert _inner(np.zeros(local_shape), np.zeros(upstream_shape)) == terms


@pytest.mark.parametrize("values, largest, smallest", [
    ([3.0, -5.0, float("inf")], 5.0, 3.0),  # the largest finite magnitude; the smallest any
    ([-3.0, float("nan")], 3.0, None),
    ([float("nan")], 0.0, None), ([], 0.0, 0.0),
])
def test_a_values_magnitudes_read_for_its_scale(values, largest, smallest):
    from scenes.notation import _maxabs, _minabs

    assert _maxabs(values) == largest
    if smallest is not None:
        assert _minabs(values) == smallest


@pytest.mark.parametrize("expression, inputs, output", [
    ("f = x * y", {"x": 1.0, "y": 2.0}, "f"),  # an unnamed output is f
    ("L = x * y", {"x": 1.0, "y": 2.0}, "L"),  # a named one keeps its name
    ("x * f", {"x": 1.0, "f": 2.0}, "out"),  # f is an input's: the output is out
])
def test_the_output_is_called_f_unless_the_config_names_it_or_f_is_taken(expression, inputs, output):
    from helpers import trace_of
    from scenes.notation import Notation
    from scenes.trace_data import GraphTrace

    nt = Notation(GraphTrace.from_dict(trace_of(expression, inputs)))
    assert nt.names[nt.trace.output] == output


@pytest.mark.parametrize("expression, inputs, scale", [
    ("x / y", {"x": 3.0, "y": 0.5}, 6.0),  # a quotient's scale: the numerator's over the divisor
    ("x / y", {"x": 3.0, "y": 4.0}, 0.75),
    ("x * y", {"x": 3.0, "y": -4.0}, 12.0),  # a product's: the factors' product
    ("x * y", {"x": 4.0, "y": 0.25}, 1.0),
    ("x + y", {"x": 3.0, "y": -4.0}, 4.0),  # else the largest input
    ("x - y", {"x": 1.0, "y": 1.0}, 1.0),  # 0 computed from ones is computed at their scale
])
def test_a_values_scale_is_what_it_was_computed_from(expression, inputs, scale):
    from helpers import trace_of
    from scenes.notation import Notation
    from scenes.trace_data import GraphTrace

    nt = Notation(GraphTrace.from_dict(trace_of("f = " + expression, inputs)))
    assert nt.value_scale[nt.trace.output] == scale


def test_a_variable_used_three_times_is_summed_at_its_last_share_and_no_sooner():
    from helpers import trace_of
    from scenes.notation import Notation
    from scenes.trace_data import GraphTrace

    # f = x * x + x: the sum sends x its first share, the product (after it, backward) the other two
    nt = Notation(GraphTrace.from_dict(trace_of("f = x * x + x", {"x": 2.0})))
    x = next(i for i, n in nt.trace.nodes.items() if n.label == "x")
    done = {nt.trace.nodes[s.node].op: nt.completes(s) for s in nt.trace.backward}
    assert done == {"add": [], "mul": [x]}
    shares = [(nt.trace.nodes[head].op, float(v)) for head, _, v in nt.contributions(x)]
    assert shares == [("add", 1.0), ("mul", 2.0), ("mul", 2.0)]  # in backward order: ∂f/∂x = 1 + 2 + 2


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_zigzag_legend_names_each_mark_and_counts_each_paths_one_sign_steps_of_its_own_steps(theme):
    from manim import Rectangle, Star, Text

    from scenes.training_scenes import SigmoidZigZag

    runs = {"sigmoid": {"same_sign_steps": 12, "grads": [[1, 1]] * 12},
            "tanh": {"same_sign_steps": 4, "grads": [[1, -1]] * 9}}  # tanh's run shorter: its own count of steps
    with style.themed(theme):
        legend = SigmoidZigZag.legend(None, runs, 12)
        palette, acts = style.THEMES[theme], dict(style.ACTIVATION)
    texts = [(m.original_text, m.get_color().to_hex().upper()) for row in legend for m in row.get_family()
             if isinstance(m, Text)]
    assert texts == [("minimum of the loss", palette["TEXT"]),
                     ("where a sigmoid step can go from a point:\nboth weights up or both down", palette["TEXT"]),
                     ("sigmoid inputs: 12 of 12 steps with one sign", acts["sigmoid"].upper()),
                     ("tanh inputs: 4 of 9 steps with one sign", acts["tanh"].upper())]
    star = next(m for m in legend[0].get_family() if isinstance(m, Star))
    assert star.get_fill_color().to_hex().upper() == palette["HIGHLIGHT"]
    square = next(m for m in legend[1].get_family() if isinstance(m, Rectangle))
    assert square.get_fill_color().to_hex().upper() == acts["sigmoid"].upper()
    assert [row.audit_label for row in legend[2:]] == ["sigmoid", "tanh"]
    for above, below in zip(legend, legend[1:]):  # one entry a line, in the order they are shown, from the left
        assert below.get_top()[1] < above.get_bottom()[1] and below.get_left()[0] == pytest.approx(above.get_left()[0])


def hist(layer: int, pos: int, neg: int, zero: int) -> dict:
    counts = [neg, zero, pos]  # three bins: below, at and above 0
    return {"layer": layer, "counts": counts, "edges": [-1.0, -0.25, 0.25, 1.0], "positive": pos, "negative": neg,
            "zero": zero}


# the first layers' counts differ from the last's: a caption reading another layer shows
MIXED = {"activation": "sigmoid", "histograms": [hist(1, 1, 1, 4), hist(2, 3, 2, 1)]}
ONE_SIGN = {"activation": "tanh", "histograms": [hist(1, 2, 2, 2), hist(2, 0, 5, 1)]}
NONE_MOVE = {"activation": "relu", "histograms": [hist(1, 4, 1, 1), hist(2, 0, 0, 6)]}


@pytest.mark.parametrize("lang_code, runs, captions", [
    ("en", [MIXED, NONE_MOVE], ["sigmoid, last layer: 3+ / 2− / 1 zero, the signs mix: weights can move different ways",
                                "ReLU, last layer: every gradient is 0, so these weights do not move"]),
    ("en", [ONE_SIGN], ["tanh, last layer: 0+ / 5− / 1 zero, one sign: a step moves all these weights the same way"]),
    ("ko", [ONE_SIGN, NONE_MOVE], [
        "tanh 마지막 층: 0+ / 5− / 0인 것 1개, 부호가 하나: 한 번의 갱신에 모든 가중치가 같은 방향으로 움직인다",
        "ReLU 마지막 층: 기울기가 모두 0이라 가중치가 움직이지 않는다"]),
])
def test_each_runs_last_layer_is_said_to_mix_signs_have_one_or_none_by_its_own_counts(monkeypatch, lang_code, runs,
                                                                                      captions):
    from scenes.training_scenes import GradientHistograms

    trace = {"config": {"scene": "histograms", "title": "signs"}, "runs": runs}

    class Story(GradientHistograms):
        def construct(self):
            self.story(trace)

    monkeypatch.setenv("BACKPROP_LANG", lang_code)
    scene = build_paced(monkeypatch, Story)
    said = [name for name, _ in scene.step_marks]
    assert [s for s in said if s.startswith(("sigmoid", "tanh", "ReLU"))] == captions


def test_the_slopes_panels_cap_a_curve_at_5_number_the_input_every_2_5_and_say_each_largest_slope(monkeypatch):
    from manim import Text

    x = [-6.0, -3.0, 0.0, 3.0, 6.0]
    curves = {"x": x,
              "tanh": {"f": [-1.0, -0.995, 0.0, 0.995, 1.0], "df": [0.0, 0.01, 1.0, 0.01, 0.0], "max_df": 1.0},
              "relu": {"f": [0.0, 0.0, 0.0, 3.0, 6.0], "df": [0.0, 0.0, 0.0, 1.0, 1.0], "max_df": 1.0},
              "sigmoid": {"f": [0.0025, 0.047, 0.5, 0.953, 0.9975], "df": [0.0025, 0.045, 0.25, 0.045, 0.0025],
                          "max_df": 0.25}}
    texts, _, steps, scene = shown_parts(monkeypatch, "show_activation_slopes", curves)
    assert steps == ["largest local gradient: tanh ≤ 1, ReLU ≤ 1, sigmoid ≤ 0.25"]  # the trace's order
    # inputs from the first sample every 2.5; f from −1 to ReLU's 6 capped at 5, by ones; f′ from 0 to 1
    assert {"−6", "−3.5", "−1", "1.5", "4"} <= set(texts) and "6" not in texts
    assert {"−1", "0", "1", "2", "3", "4", "5"} <= set(texts) and "0.25" in texts
    legend = [(m.original_text, m.get_color().to_hex().upper()) for top in scene.mobjects for m in top.get_family()
              if isinstance(m, Text) and getattr(m, "audit_kind", None) == "legend"]
    assert legend == [("tanh", style.ACTIVATION["tanh"].upper()), ("ReLU", style.ACTIVATION["relu"].upper()),
                      ("sigmoid", style.ACTIVATION["sigmoid"].upper())]


def test_what_a_training_step_showed_stays_until_the_next_caption_and_leaves_with_it(monkeypatch):
    from manim import Square

    from scenes.animations import fade_in
    from scenes.training_scenes import TrainingScene

    seen, faded = [], []

    class Steps(TrainingScene):
        def construct(self):
            chart, notes, kept = Square(), Square(), Square()
            self.set_caption("first")
            self.play(fade_in(chart), fade_in(notes), fade_in(kept), run_time=1.0)
            self.retire(chart)
            self.retire(notes)  # retired in two calls: both leave
            seen.append([m in self.mobjects for m in (chart, notes, kept)])  # retired, not yet gone
            self.set_caption("second")
            seen.append([m in self.mobjects for m in (chart, notes, kept)])
            self.set_caption("third")  # what left with the second caption does not leave again
            faded.append([m in (chart, notes) for m in self.last_played])
            self.set_caption(None)  # no caption: no step, the old one goes
            seen.append(self.caption)

        def play(self, *animations, **kwargs):
            self.last_played = [a.mobject for a in animations]
            super().play(*animations, **kwargs)

    scene = build_paced(monkeypatch, Steps)
    assert seen == [[True, True, True], [False, False, True], None] and faded == [[False, False]]
    # a caption swap takes 0.4 s
    assert scene.step_marks == [("first", 0.0), ("second", pytest.approx(1.4)), ("third", pytest.approx(1.8))]
    assert scene.time == pytest.approx(2.6)


@pytest.mark.parametrize("summary, table", [
    ([], False), ([seeds("tanh", 1)], False),  # one seed: nothing to tabulate
    ([seeds("tanh", 2), seeds("relu", 2)], True),
])
def test_the_vanishing_story_ends_on_the_seed_table_only_over_several_seeds(summary, table):
    from scenes.training_scenes import VanishingGradients

    told = []

    class Told(VanishingGradients):  # the storyboard alone: each part records that it was told
        def show_title(self, trace): told.append("title")
        def show_activation_slopes(self, curves): told.append("slopes")
        def show_gradient_norms(self, trace): told.append("norms")
        def show_learning_curves(self, trace): told.append("curves")
        def show_seed_summary(self, s): told.append(("table", len(s)))

    Told.story(Told.__new__(Told), {"activation_curves": {}, "seed_summary": summary})
    assert told == ["title", "slopes", "norms", "curves"] + ([("table", len(summary))] if table else [])


@pytest.mark.parametrize("n_runs, n_layers, width, height", [
    (1, 2, 2.0, 1.0),  # at most 2 wide and 1 high
    (1, 10, 10.8 / 10 - 0.35, 1.0),  # ten layers share 10.8 units, 0.35 apart
    (3, 2, 2.0, 2.0 / 3),  # three rows share 2 units of height
])
def test_a_histogram_cell_shares_the_boards_width_among_layers_and_its_height_among_runs(n_runs, n_layers, width,
                                                                                          height):
    from scenes.training_scenes import GradientHistograms

    runs = [{"activation": a, "histograms": [hist(k + 1, 1, 1, 1) for k in range(n_layers)]}
            for a in ("sigmoid", "tanh", "relu")[:n_runs]]
    heads, rows, key = GradientHistograms.board(GradientHistograms.__new__(GradientHistograms), runs,
                                                list(range(n_layers)))
    frames = [cell[0] for row in rows for cell in row[1]]
    assert {(round(f.width, 6), round(f.height, 6)) for f in frames} == {(round(width, 6), round(height, 6))}
    assert [h.original_text for h in heads] == [f"layer {k + 1}" for k in range(n_layers)]
    for head, frame in zip(heads, rows[0][1]):  # each head over its column
        assert head.get_x() == pytest.approx(frame[0].get_x()) and head.get_bottom()[1] > frame[0].get_top()[1]
    assert key.original_text == "↑ count of weights      → gradient"


@pytest.mark.parametrize("n_runs, n_layers, fits, pages", [
    (2, 3, lambda r, c: True, [([0, 1], [0, 1, 2])]),  # readable whole: one page
    # three layers a row and two rows a page fit: columns first, then rows, each page as full as fits
    (3, 5, lambda r, c: r <= 2 and c <= 3,
     [([0, 1], [0, 1, 2]), ([2], [0, 1, 2]), ([0, 1], [3, 4]), ([2], [3, 4])]),
    (2, 2, lambda r, c: False, [([0], [0]), ([1], [0]), ([0], [1]), ([1], [1])]),  # nothing fits: a cell a page
    # room for four cells: rows of two layers, and as many of those rows as fit (two, not three of one layer)
    (3, 2, lambda r, c: r * c <= 4, [([0, 1], [0, 1]), ([2], [0, 1])]),
])
def test_a_board_too_large_to_read_is_paged_by_as_many_layers_and_then_runs_as_fit(n_runs, n_layers, fits, pages):
    from scenes.training_scenes import READABLE_SCALE, GradientHistograms

    class Paged(GradientHistograms):  # a board is its size; it reads at the floor exactly when it fits
        def board(self, runs, layer_ids):
            return len(runs), len(layer_ids)

        def board_scale(self, board):
            return READABLE_SCALE if fits(*board) else READABLE_SCALE - 0.01

    runs = [{"histograms": [{}] * n_layers}] * n_runs
    assert Paged.pages(Paged.__new__(Paged), runs) == pages
    assert READABLE_SCALE == 0.92  # 24-point text keeps a 10 px x-height at 854x480
