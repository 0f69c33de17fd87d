"""The training charts tell the truth: captions counted from the trace, every curve of a legend visible, no
text drawn over a curve, a diverged run named in its own colour, every axis titled."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from manim import Text, VMobject

from audit.screen import AuditRenderer, _sample_curves, _to_px
from engine.training import seed_summary
from pipeline.render_job import RenderOptions, undrawn
from engine.source import trace_path_for
from scenes import style
from scenes.trace_data import decode_value, read_trace
from scenes.training_scenes import ACT_NAMES, VanishingGradients
from helpers import slow_except

# A net that trains in a second: with lr 3 and the naive loss in float32, leaky ReLU's seed 0 diverges.
DIVERGING = {"scene": "vanishing", "title": "diverging", "dataset": "xor", "depth": 3, "width": 5,
             "activations": ["sigmoid", "tanh", "relu", "leaky_relu"], "init": "normal", "bias_init": "normal",
             "dtype": "float32", "loss_form": "naive", "learning_rate": 3.0, "steps": 400, "record_every": 20,
             "seed": 0, "seeds": 4}


def fake_run(final_accuracy: float, diverged: bool):
    losses = np.array([0.7, 0.5, np.nan if diverged else 0.1])
    accs = np.array([0.5, 0.75, np.nan if diverged else final_accuracy])
    return SimpleNamespace(losses=losses, accs=accs, norms=np.array([[1e-3, 1.0]]))


def test_a_chart_numbers_every_tick_from_the_start_of_each_axis_to_its_end():
    from scenes.charts import chart

    axes, numbers, (x_title, y_title) = chart((0, 4, 1), (0, 1, 0.5), 4, 2, "step", "loss")
    assert [n.original_text for n in numbers] == ["0", "1", "2", "3", "4", "0", "0.5", "1"]
    assert x_title.get_left()[0] > numbers[4].get_right()[0]  # the x title after the last number, 4


def test_the_seed_outcome_caption_counts_solved_and_diverged_runs_per_activation():
    # outcomes as in the XOR experiment: tanh solves 9 of 10 (and must not read as 9 failures), ReLU 5 with 3
    # runs gone to NaN, leaky ReLU 5 with 5
    outcomes = {"sigmoid": [(0.5, False)] * 8 + [(0.75, False)] * 2,
                "tanh": [(0.25, False)] + [(1.0, False)] * 9,
                "relu": [(1.0, False)] * 5 + [(0.75, False)] * 2 + [(0.0, True)] * 3,
                "leaky_relu": [(1.0, False)] * 5 + [(0.0, True)] * 5}
    summary = [seed_summary(act, [(s, fake_run(*o)) for s, o in enumerate(runs)]) for act, runs in outcomes.items()]
    caption = VanishingGradients.outcome_caption({"seed_summary": summary}, 20000)
    assert caption.startswith("after 20000 steps, runs at accuracy 1 out of 10 seeds: ")
    parts = caption.split(": ", 1)[1].split(", ")
    assert len(parts) == 4
    for act, part in zip(outcomes, parts):
        runs = outcomes[act]
        solved = sum(1 for acc, div in runs if acc == 1.0 and not div)
        diverged = sum(1 for _, div in runs if div)
        expected = f"{ACT_NAMES[act]} {solved}" + (f" ({diverged} diverged to NaN)" if diverged else "")
        assert part == expected


def test_the_korean_seed_outcome_caption_says_the_same_counts(monkeypatch):
    monkeypatch.setenv("BACKPROP_LANG", "ko")
    summary = [seed_summary("relu", [(s, fake_run(1.0 if s < 5 else 0.0, s >= 7)) for s in range(10)])]
    caption = VanishingGradients.outcome_caption({"seed_summary": summary}, 300)
    # 300 steps, 10 seeds, 5 reaching accuracy 1, 3 diverged to NaN
    assert caption == "300 스텝 후 시드 10개 중 정확도 1에 도달한 실행: ReLU 5개 (3개는 NaN으로 발산)"


# --- what the learning-curve frames show ------------------------------------------------------------------
class ChartRecorder(AuditRenderer):
    """The audit's renderer, also keeping every paused frame's curves and texts as drawn."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.charts = []

    def play(self, scene, *args, **kwargs):
        super().play(scene, *args, **kwargs)
        colors = {c.upper() for c in style.ACTIVATION.values()}
        curves, texts = [], []
        for m in _family(scene.mobjects):
            if isinstance(m, Text):
                texts.append((m.original_text, m.get_color().to_hex().upper(), _box(m)))
            elif isinstance(m, VMobject) and len(m.points) >= 8 and m.get_fill_opacity() < 0.05 and \
                    m.get_stroke_color().to_hex().upper() in colors and m.get_stroke_opacity() > 0.5:
                curves.append((m.get_stroke_color().to_hex().upper(), _samples(m)))
        self.charts.append((curves, texts))


def _family(mobjects):
    seen = set()
    for m in mobjects:
        for part in m.get_family():
            if id(part) not in seen:
                seen.add(id(part))
                yield part


def _box(m):
    px = _to_px(m.get_all_points())
    return px[:, 0].min(), px[:, 1].min(), px[:, 0].max(), px[:, 1].max()


def _samples(m: VMobject) -> np.ndarray:
    """Points along every piece of a curve, about a pixel apart, in pixels."""
    return np.concatenate([_sample_curves(np.asarray(sub), 12) for sub in m.get_subpaths() if len(sub) >= 4])


def own_share(curves, i: int, width_px: float = 2.5) -> float:
    """The share of curve i's points that no curve drawn after it covers."""
    from scipy.spatial import cKDTree  # exact nearest distances, without an all-pairs matrix

    pts = curves[i][1]
    later = [p for _, p in curves[i + 1:]]
    if not later:
        return 1.0
    nearest, _ = cKDTree(np.concatenate(later)).query(pts, distance_upper_bound=width_px)
    covered = nearest < width_px  # (inf: nothing that close)
    return float((~covered).mean())


def record(config: Path, theme="dark", lang="en"):
    with undrawn(trace_path_for(config), RenderOptions(quality="preview", lang=lang, theme=theme)) as scene_cls:
        renderer = ChartRecorder()
        scene = scene_cls(renderer=renderer)
        scene.render()
    return renderer.charts, read_trace(trace_path_for(config))


@pytest.fixture(scope="module")
def diverging(tmp_path_factory):
    config = tmp_path_factory.mktemp("charts") / "diverging.yaml"
    config.write_text(yaml.safe_dump(DIVERGING))
    return record(config)


@pytest.mark.slow
def test_every_curve_has_pixels_of_its_own_and_no_text_lies_on_a_curve(diverging):
    frames, _ = diverging
    assert any(len(curves) >= 4 for curves, _ in frames)
    for curves, texts in frames:
        for i, (color, _) in enumerate(curves):
            assert own_share(curves, i) > 0.2, f"a {color} curve is hidden under the curves drawn after it"
        for string, _, (x0, y0, x1, y1) in texts:
            for color, pts in curves:
                inside = (pts[:, 0] > x0 + 1) & (pts[:, 0] < x1 - 1) & (pts[:, 1] > y0 + 1) & (pts[:, 1] < y1 - 1)
                assert not inside.any(), f"the {color} curve runs through {string!r}"


@pytest.mark.slow
def test_a_diverged_run_is_named_in_its_own_colour_and_the_seed_shown_is_said(diverging):
    frames, trace = diverging
    texts = {(s, c) for _, ts in frames for s, c, _ in ts}
    diverged = [r for r in trace["runs"] if not np.all(np.isfinite(decode_value(r["loss"])))]
    assert diverged, "the fixture must have a diverged run"
    for run in diverged:
        loss = decode_value(run["loss"])
        step = run["steps"][int(np.argmin(np.isfinite(loss)))]
        note = f"{ACT_NAMES[run['activation']]}: NaN from step {step}"
        assert (note, style.ACTIVATION[run["activation"]].upper()) in texts
    assert not any("NaN from" in s and not s.startswith(tuple(ACT_NAMES.values())) for s, _ in texts)
    assert ("curves: seed 0, one of the 4 seeds", style.TEXT.upper()) in texts


@pytest.mark.slow
def test_every_chart_has_axis_titles_in_both_languages(tmp_path):
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump({**DIVERGING, "seeds": 1, "activations": ["sigmoid", "relu"]}))
    for lang in ("en", "ko"):
        frames, _ = record(config, "light", lang)
        shown = {s for _, ts in frames for s, _, _ in ts}
        for key in ("axis_input", "axis_step", "axis_layer", "axis_norm", "loss", "accuracy"):
            assert style.CAPTIONS[lang][key] in shown, (lang, key)
    assert "스텝" in style.CAPTIONS["ko"]["axis_step"] and "노름" in style.CAPTIONS["ko"]["axis_norm"]


# --- every step ends on its explanation ---------------------------------------------------------------------
def last_frames(report):
    """(step name, the paused frame the step ends on) for every step: a slide's page, a PDF's frame."""
    ends = [start for _, start in report.steps[1:]] + [float("inf")]
    out = []
    for (name, _), end in zip(report.steps, ends):
        before = [f for f in report.frames if f.time <= end + 1e-6]
        out.append((name, before[-1]))
    return out


def _kinds(frame, kind):
    return [" ".join(t.string.split()) for t in frame.texts if t.kind == kind]


@pytest.mark.parametrize("name", slow_except(["chain_rule", "gates", "sigmoid_gate"], {"chain_rule"}))
def test_every_graph_step_ends_with_its_formula_on_screen(name):
    from audit.run import audit_trace
    from render import CONFIG_DIR

    report = audit_trace(trace_path_for(CONFIG_DIR / f"{name}.yaml"))
    for step, frame in last_frames(report):
        if step.startswith("title:"):
            continue
        assert _kinds(frame, "caption"), f"{name}: step {step!r} ends without a caption"
        if step.startswith("the same function"):  # sigmoid_gate's second graph: not yet the forward pass
            assert _kinds(frame, "caption") == [style.caption("alternative")], f"{name}: {step!r} ends on another caption"
        if step.startswith(("backward:", "summary:", "a branch sums")):  # the seed ∂f/∂f = 1 included
            assert _kinds(frame, "equation"), f"{name}: step {step!r} ends without its formula"
        if step.startswith("backward:") and " gate " in step:  # the gate the step is about is still drawn
            assert any(t.kind in ("value", "gradient") for t in frame.texts), f"{name}: {step!r} ends on an empty graph"


@pytest.mark.parametrize("name", slow_except(["vanishing", "zigzag", "histograms"], {"zigzag"}))
def test_every_training_step_ends_on_its_chart_and_its_own_caption(name):
    from audit.run import audit_trace
    from render import CONFIG_DIR

    report = audit_trace(trace_path_for(CONFIG_DIR / f"{name}.yaml"), theme="light", lang="ko")
    for step, frame in last_frames(report)[1:]:
        # the training scenes' steps are their captions: the step ends with the caption that named it
        assert _kinds(frame, "caption") == [" ".join(step.split())], f"{name}: {step!r} ends on another caption"
        drawn = [t for t in frame.texts if t.kind not in ("caption", "title")]
        assert drawn, f"{name}: {step!r} ends on a blank chart"


def test_the_loss_surface_follows_the_theme_applied_not_the_environment(monkeypatch):
    """The theme travels one way into a scene (style.apply_theme): the zig-zag surface once read
    BACKPROP_THEME on its own, and a scene themed light over a dark environment mixed both."""
    from manim import Axes, rgb_to_color

    from engine.settings import THEME_ENV
    from scenes import style
    from scenes.training_scenes import SHADE_LEVELS, SURFACE, shade_bands

    monkeypatch.setenv(THEME_ENV, "dark")
    style.apply_theme("light")
    try:
        bands = shade_bands(Axes(x_range=[0, 1], y_range=[0, 1]), np.array([0.0, 1.0]), np.array([0.0, 1.0]),
                            np.zeros((2, 2)))
    finally:
        style.apply_theme("dark")
    high, low = (np.asarray(c) for c in SURFACE["light"])
    expected = rgb_to_color(high + 0.5 / SHADE_LEVELS * (low - high))
    assert [b.get_fill_color().to_hex() for b in bands] == [expected.to_hex()]


def test_a_run_of_ten_thousand_steps_numbers_its_step_axis_every_half_five_digit_numbers_need_the_room(tmp_path):
    # from 10,000 steps on, five-digit numbers: 0, 5000 and 10000 on the step axis, not every quarter
    import yaml

    from audit.run import audit_trace
    from test_training_scene_content import VANISHING

    config = tmp_path / "v.yaml"
    config.write_text(yaml.safe_dump({**VANISHING, "steps": 10000, "record_every": 500, "depth": 3, "seeds": 1}))
    report = audit_trace(trace_path_for(config))
    assert report.violations == []
    numbers = {t.string for f in report.frames for t in f.texts if t.kind == "axis label"}
    assert {"0", "5000", "10000"} <= numbers and not {"2500", "7500"} & numbers


def test_a_short_curve_along_a_longer_one_is_grouped_with_it_to_take_turns():
    # a run that stopped early (diverged) lies along the first fifth of a longer run's curve: over all of its
    # own length, though over a fifth of the other's; either way round the two are drawn over each other
    from manim import VMobject

    from scenes.charts import coinciding_groups

    def line(xs, ys):
        mob = VMobject()
        mob.set_points_as_corners([[x, y, 0] for x, y in zip(xs, ys)])
        return mob
    xs = np.linspace(0, 4, 41)
    long, short, apart = line(xs, np.sin(xs)), line(xs[:9], np.sin(xs[:9])), line(xs, np.sin(xs) + 2)
    assert coinciding_groups([long, short, apart]) == [[0, 1]]
    assert coinciding_groups([short, long, apart]) == [[0, 1]]


# --- scenes/charts.py, case by case: its texts, a curve's finite prefix, curves that coincide ---
MUTED = {"dark": "#999999", "light": "#555555"}  # the palette's muted role: axes, their numbers and titles


def _colour(mob) -> str:
    return mob.submobjects[0].get_fill_color().to_hex().upper()


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_chart_s_numbers_and_titles_are_muted_24_point_axis_labels_placed_by_their_axes(theme):
    from scenes.charts import chart
    with style.themed(theme):
        group = chart((0, 4, 2), (0, 1, 1), 4, 2, "step", "loss", y_ticks=[0.5])
    ax, numbers, (x_title, y_title) = group
    assert group.ax is ax and [n.original_text for n in numbers] == ["0", "2", "4", "0.5"]
    for t in [*numbers, x_title, y_title]:
        assert t.audit_kind == "axis label" and t.font_size == pytest.approx(24) and _colour(t) == MUTED[theme]
    assert ax.x_axis.get_color().to_hex().upper() == MUTED[theme]
    last_x = numbers[2]
    assert x_title.get_left()[0] > last_x.get_right()[0] and x_title.get_y() == pytest.approx(last_x.get_y())
    assert numbers[0].get_top()[1] < ax.c2p(0, 0)[1] and numbers[3].get_right()[0] < ax.c2p(0, 0.5)[0]
    assert y_title.get_bottom()[1] > ax.y_axis.get_top()[1] and y_title.get_left()[0] == pytest.approx(
        min(ax.y_axis.get_left()[0], numbers[3].get_left()[0]))  # above its axis, flush with its numbers
    assert ax.c2p(0, 0)[0] == pytest.approx(ax.x_axis.get_left()[0])  # the axes cross at the lower left


def test_a_chart_s_axes_cross_at_the_lower_left_corner_whatever_the_ranges():
    from scenes.charts import chart
    ax = chart((-2, 2, 1), (-1, 1, 1), 4, 2, "x", "y").ax
    assert ax.x_axis.get_center()[1] == pytest.approx(ax.c2p(-2, -1)[1])  # not through y = 0
    assert ax.y_axis.get_center()[0] == pytest.approx(ax.c2p(-2, -1)[0])  # not through x = 0


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_a_power_of_ten_is_a_muted_36_point_label(theme):
    from scenes.charts import power_of_ten, text
    with style.themed(theme):
        power, word = power_of_ten(-3), text("norm")
    assert power.audit_kind == "axis label" and power.font_size == pytest.approx(36)
    assert power.tex_string == "10^{-3}" and _colour(power) == MUTED[theme]
    assert word.audit_kind == "axis label" and word.font_size == pytest.approx(24) and _colour(word) == MUTED[theme]


@pytest.mark.parametrize("ys,corners", [
    ([0.0, 1.0, 2.0, 3.0], 4), ([0.0, 1.0, float("nan"), 3.0], 2),  # a NaN ends the curve
    ([0.0, float("inf"), 2.0, 3.0], 0),  # one point is no line
    ([float("nan"), 1.0, 2.0, 3.0], 0), ([0.0, 1.0, 2.0, float("nan")], 3),
])
def test_a_curve_is_drawn_up_to_its_first_value_that_is_not_finite(ys, corners):
    from manim import Axes
    from scenes.charts import _corners, polyline
    ax = Axes(x_range=[0, 3, 1], y_range=[0, 3, 1], x_length=3, y_length=3)
    line = polyline(ax, np.arange(4.0), ys, "#123456", width=2.0)
    assert len(_corners(line)) == corners and line.get_stroke_width() == 2.0
    assert line.get_stroke_color().to_hex().upper() == "#123456"
    if corners:
        assert _corners(line)[-1][1] == pytest.approx(ax.c2p(corners - 1, ys[corners - 1])[1])


@pytest.mark.parametrize("length,step,count", [(1.0, 0.25, 5), (1.0, 0.3, 5), (0.1, 0.25, 2)])
def test_a_polyline_is_resampled_every_step_and_keeps_its_end(length, step, count):
    from scenes.charts import resample
    pts, along = resample(np.array([[0.0, 0, 0], [length, 0, 0]]), step)
    assert len(pts) == count and pts[-1][0] == pytest.approx(length) and along[-1] == pytest.approx(length)
    assert np.all(np.diff(along) <= step + 1e-12)
    one, at = resample(np.array([[1.0, 2, 0]]), step)
    assert one.tolist() == [[1.0, 2, 0]] and at.tolist() == [0.0]


def _corner_line(xs, ys):
    return np.array([[x, y, 0.0] for x, y in zip(xs, ys)])


@pytest.mark.parametrize("offset,share", [(0.0, 1.0), (0.06, 1.0), (0.07, 0.0), (-0.06, 1.0)])
def test_two_curves_coincide_within_six_hundredths_of_a_unit(offset, share):
    from scenes.charts import coincide_share
    a = _corner_line([0, 1, 2], [0, 0, 0])
    assert coincide_share(a, a + [0, offset, 0]) == pytest.approx(share)
    assert coincide_share(a, np.zeros((0, 3))) == 0.0


@pytest.mark.parametrize("cover,grouped", [(0.45, False), (0.55, True)])
def test_a_curve_more_than_half_under_another_is_grouped_with_it(cover, grouped):
    from manim import VMobject
    from scenes.charts import coinciding_groups

    def line(points):
        mob = VMobject()
        mob.set_points_as_corners(points)
        return mob
    # b runs along a for ``cover`` of its length, then turns away
    a = line(_corner_line([0, 4], [0, 0]))
    b = line(_corner_line([0, cover * 4, cover * 4], [1e-3, 1e-3, (1 - cover) * 4]))
    assert coinciding_groups([a, b]) == ([[0, 1]] if grouped else [])


def test_curves_drawn_over_each_other_in_a_chain_are_one_group():
    from manim import VMobject
    from scenes.charts import coinciding_groups

    def line(y):
        mob = VMobject()
        mob.set_points_as_corners(_corner_line([0, 4], [y, y]))
        return mob
    # a near b, b near c, a not near c: one group, each takes its turn
    assert coinciding_groups([line(0.0), line(0.05), line(0.1), line(3.0)]) == [[0, 1, 2]]
    assert coinciding_groups([line(0.0), line(0.1), line(0.05), line(3.0)]) == [[0, 1, 2]]  # joined through the last


@pytest.mark.parametrize("turn", [0, 1])
def test_coinciding_curves_take_turns_in_dashes_along_x_and_stay_solid_where_they_part(turn):
    from manim import VMobject
    from scenes.charts import DASH, dashed
    line = VMobject(stroke_color="#123456", stroke_width=3)
    line.set_points_as_corners(_corner_line([0, 1, 1], [0, 0, 1]))  # along the other, then up on its own
    out = dashed(line, turn, 2, [_corner_line([0, 1], [0, 0])])
    assert out.get_stroke_color().to_hex().upper() == "#123456" and out.get_stroke_width() == 3
    pieces = [p for p in out.get_subpaths()]
    along = [p for p in pieces if np.ptp(p[:, 1]) < 1e-9]
    starts = sorted(round(p[0][0] / DASH) for p in along)
    assert starts and all(k % 2 == turn for k in starts)  # its own dashes of every two
    up = [p for p in pieces if np.ptp(p[:, 1]) > 0.5]
    assert up and max(np.ptp(p[:, 1]) for p in up) >= 0.9  # where it parts from the other: solid


def test_every_curve_is_tagged_with_the_legend_entry_it_shows():
    from scenes.charts import visible_curves
    lines = []
    for y in (0.0, 2.0):
        mob = VMobject()
        mob.set_points_as_corners(_corner_line([0, 1], [y, y]))
        lines.append(mob)
    curves = visible_curves(lines, ["tanh", "ReLU"])
    assert [(c.audit_shape, c.audit_label) for c in curves] == [("curve", "tanh"), ("curve", "ReLU")]
