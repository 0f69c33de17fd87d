"""What the training scenes put on screen, checked against their traces without drawing a pixel.

Each scene (vanishing, zig-zag, histograms) is built once per module from a small config written here, as
the screen audit builds it (audit.run.audit_trace), with a renderer that also keeps, after every animation,
the shapes on screen: curves, bars, lines and marks in the coordinates of the chart they are drawn on, and
the cells of a table. The expected values are read from the trace file (or are published facts, as
sigmoid's largest slope 1/4), never from the scenes' own helpers.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from manim import Axes, Dot, Line, NumberLine, Rectangle, Sector, SingleStringMathTex, Star, Table, Text, VMobject
from manim import config as manim_config

import audit.run
from audit.screen import AuditRenderer, _drawn, grouped
from engine.numfmt import format_number
from engine.source import trace_path_for
from scenes import style
from scenes.trace_data import decode_value, read_trace

# Each activation's name on screen, as the literature writes it.
NAMES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU"}

# Trains in about a second. Float32 and the naive loss at lr 1.5: seed 2's leaky ReLU run (the curves' seed)
# turns NaN at step 320, one of ReLU's three seeds (not all) is dead at initialisation, and sigmoid's first
# layer gets two orders of magnitude less gradient than its last.
VANISHING = {"scene": "vanishing", "title": "vanishing, small", "dataset": "xor", "depth": 5, "width": 3,
             "activations": ["sigmoid", "tanh", "relu", "leaky_relu"], "init": "normal", "bias_init": "normal",
             "dtype": "float32", "loss_form": "naive", "learning_rate": 1.5, "steps": 400, "record_every": 20,
             "seed": 2, "seeds": 3}
# 20 steps: the first half of the sigmoid path reaches a point a wedge's radius (1) from the plot's edges
# (after 12 steps the best has 0.93, and a wedge would stick out by 3 px)
ZIGZAG = {"scene": "zigzag", "title": "zig-zag, small", "steps": 20, "samples": 50, "seed": 0}
# tanh's last layer mixes signs; ReLU's has one sign and zeros (units off for this input), so the three
# counts differ from each other and a count shown in another's place shows.
HISTOGRAMS = {"scene": "histograms", "title": "histograms, small", "depth": 2, "width": 12, "bins": 10,
              "activations": ["tanh", "relu"], "seed": 0}


# --- what is on screen after each animation ---------------------------------------------------------------
@dataclass
class Shape:
    """A shape on screen: its colours and its points, read in the chart it is drawn on."""
    cls: str  # the Manim class: Line, Rectangle, Sector, Dot, Star, VMobject (a curve, bars, a shaded band)
    tag: str | None  # "curve" or "bar" (scenes/screen_tags.py)
    label: str | None  # a curve's name
    stroke: str
    fill: str
    fill_opacity: float
    points: np.ndarray  # (n, 2): in the coordinates of the chart it is drawn on, or scene units
    box: np.ndarray  # x0, y0, x1, y1 in scene units
    scene_points: np.ndarray  # (n, 3), scene units
    chart: int | None  # which chart it is drawn on (the axes' id)
    unit: np.ndarray  # scene units per chart unit, along x and y

    @property
    def on_axes(self) -> bool:
        return self.chart is not None

    @property
    def center(self) -> np.ndarray:
        return (self.points.min(0) + self.points.max(0)) / 2

    @property
    def anchors(self) -> np.ndarray:
        """The ends of each Bézier piece: a polyline's corners (its handles lie on its chords)."""
        return self.points.reshape(-1, 4, 2)[:, [0, 3]].reshape(-1, 2)

    def pieces(self) -> list[np.ndarray]:
        """Each closed or open subpath's points (a merged bar chart: one piece per bar)."""
        return [self.points[a:b] for a, b in VMobject().get_subpath_split_indices_from_points(self.scene_points)]


@dataclass
class Said:
    """A text on screen, as the audit read it (audit.screen.TextRecord), placed in scene units."""
    string: str
    kind: str  # caption, legend, text, axis label, title...
    color: str
    box: np.ndarray  # x0, y0, x1, y1 in scene units, y up

    @property
    def center(self) -> np.ndarray:
        return (self.box[:2] + self.box[2:]) / 2


@dataclass
class Look:
    """The screen at the end of one animation."""
    caption: str  # the caption on screen, whitespace as one space
    texts: list[Said]
    shapes: list[Shape]
    cells: list[list[tuple[str, str]]]  # a table's rows of (text, colour)

    def said(self, kind=None) -> list[str]:
        return [t.string for t in self.texts if kind is None or t.kind == kind]


SHAPES = (Line, Rectangle, Sector, Dot, Star)
OPAQUE = (Text, SingleStringMathTex, Table)  # recorded whole (texts by the audit), not glyph by glyph


def _walk(mobjects, seen):
    """Every mobject drawn, parents before their parts; a text, a table or a tagged curve or bar is one."""
    for m in mobjects:
        if id(m) in seen:
            continue
        seen.add(id(m))
        yield m
        if not isinstance(m, OPAQUE) and m.__dict__.get("audit_shape") not in ("curve", "bar"):
            yield from _walk(m.submobjects, seen)


def _hex(color) -> str:
    return color.to_hex().upper()


def _said(t) -> Said:
    # the audit's pixels (at the quality being built) back to scene units
    w, h = manim_config.pixel_width, manim_config.pixel_height
    fw, fh = manim_config.frame_width, manim_config.frame_height
    x0, y1 = (t.bbox[0] / w - 0.5) * fw, (0.5 - t.bbox[1] / h) * fh
    x1, y0 = (t.bbox[2] / w - 0.5) * fw, (0.5 - t.bbox[3] / h) * fh
    return Said(t.string, t.kind, t.color, np.array([x0, y0, x1, y1]))


def look(scene, texts, caption: str) -> Look:
    """What ``scene`` shows now: the audit's texts, and the shapes and table cells it does not record."""
    parts = list(_walk(scene.mobjects, set()))
    charts = [(ax, ax.get_corner(-np.ones(3)), ax.get_corner(np.ones(3))) for ax in parts if isinstance(ax, Axes)]
    shapes, cells = [], []
    for m in parts:
        if isinstance(m, Table):
            cells = [[_cell(m.get_entries((r, c))) for c in range(1, len(m.mob_table[0]) + 1)]
                     for r in range(1, len(m.mob_table) + 1)]
            continue
        tag = m.__dict__.get("audit_shape")
        plain_fill = type(m) is VMobject and m.get_fill_opacity() > 0.5  # a shaded band of a surface
        if not (tag in ("curve", "bar") or plain_fill or isinstance(m, SHAPES)) or isinstance(m, NumberLine):
            continue
        drawn = m.family_members_with_points()
        if not drawn or not _drawn(m, drawn):
            continue
        first = m if m.points.size else drawn[0]  # a tagged bar chart: a group of one merged path
        pts = np.concatenate([p.points for p in drawn])
        lo, hi = pts.min(0), pts.max(0)
        mid = (lo + hi) / 2
        # the smallest chart whose frame holds the shape's middle: its coordinates are what its ticks say
        holders = [(np.prod(b - a), ax) for ax, a, b in charts
                   if (a[:2] - 0.05 <= mid[:2]).all() and (mid[:2] <= b[:2] + 0.05).all()]
        ax = min(holders, key=lambda h: h[0])[1] if holders else None
        on_chart = ax.point_to_coords(pts)[:, :2] if ax is not None else pts[:, :2]
        unit = (ax.c2p(1, 1) - ax.c2p(0, 0))[:2] if ax is not None else np.ones(2)  # the charts are linear
        shapes.append(Shape(type(m).__name__, tag, m.__dict__.get("audit_label"), _hex(first.get_stroke_color()),
                            _hex(first.get_fill_color()), float(first.get_fill_opacity()), on_chart,
                            np.array([lo[0], lo[1], hi[0], hi[1]]), pts, None if ax is None else id(ax), unit))
    return Look(" ".join(caption.split()), [_said(t) for t in texts], shapes, cells)


def _cell(entry) -> tuple[str, str]:
    text = entry.lines_text.original_text if hasattr(entry, "lines_text") else entry.original_text
    return text, _hex(entry.family_members_with_points()[0].get_fill_color())


class Recorder(AuditRenderer):
    """The audit's renderer, also keeping a Look after every animation."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.looks: list[Look] = []

    def after_play(self, scene, args, start):
        super().after_play(scene, args, start)
        self.looks.append(look(scene, self.frames[-1].texts, self.plays[-1].caption))


@dataclass
class Built:
    report: audit.run.Report
    looks: list[Look]
    trace: dict
    lang: str
    colors: dict  # the palette the scene was built in: TEXT, MUTED, ..., and per activation

    def color(self, name: str) -> str:
        return self.colors[name].upper()

    def caption(self, key: str, **fields) -> str:
        return style.CAPTIONS[self.lang][key].format(**fields)

    def looks_under(self, caption: str) -> list[Look]:
        """The looks while ``caption`` is on screen (a line break in it is a space)."""
        caption = " ".join(caption.split())
        return [lk for lk in self.looks if lk.caption == caption]


def build(folder: Path, cfg: dict, lang: str = "en", theme: str = "dark") -> Built:
    """The scene of ``cfg`` built as the screen audit builds it, its report and what each animation left."""
    path = folder / f"{cfg['scene']}-{lang}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    trace_path = trace_path_for(path)
    made: list[Recorder] = []
    colors = {}

    def recorder():  # made while the scene's theme is in force: its palette, as the scene saw it
        colors.update({k: getattr(style, k) for k in ("TEXT", "MUTED", "BAD", "HIGHLIGHT", "GRADIENT")})
        colors.update(style.ACTIVATION)
        made.append(Recorder())
        return made[-1]

    with pytest.MonkeyPatch.context() as mp:  # the audit itself, with a renderer that keeps more
        mp.setattr(audit.run, "AuditRenderer", recorder)
        report = audit.run.audit_trace(trace_path, theme=theme, lang=lang)
    return Built(report, made[0].looks, read_trace(trace_path), lang, colors)


@pytest.fixture(scope="module")
def vanishing(tmp_path_factory):
    return build(tmp_path_factory.mktemp("vanishing"), VANISHING)


@pytest.fixture(scope="module")
def zigzag(tmp_path_factory):
    return build(tmp_path_factory.mktemp("zigzag"), ZIGZAG)


@pytest.fixture(scope="module")
def zigzag_short(tmp_path_factory):  # no point of the path's first half is a disc's radius from the plot's edges
    return build(tmp_path_factory.mktemp("zigzag-short"), {**ZIGZAG, "steps": 12})


@pytest.fixture(scope="module")
def histograms(tmp_path_factory):
    return build(tmp_path_factory.mktemp("histograms"), HISTOGRAMS)


@pytest.fixture(scope="module")
def histograms_ko(tmp_path_factory):
    return build(tmp_path_factory.mktemp("histograms_ko"), HISTOGRAMS, "ko", "light")


def shown(x: float) -> str:
    """A number as the screen writes it (engine/numfmt.py, with a typographic minus)."""
    return format_number(x).replace("-", style.MINUS)


def undrawn_samples(curves: list[Shape], xs, ys, reach: float = 0.1) -> np.ndarray:
    """The samples (xs, ys, in chart units) farther than ``reach`` scene units (6 px) from every curve of
    ``curves`` (drawn on one chart). Curves that run over each other take turns in dashes (scenes/charts.py),
    so a value may be drawn by another run's curve, which is within 0.06 of it there."""
    from scipy.spatial import cKDTree

    unit = curves[0].unit
    drawn = np.concatenate([c.anchors for c in curves]) * unit
    gaps, _ = cKDTree(drawn).query(np.stack([xs, ys], axis=1) * unit)
    return np.flatnonzero(gaps > reach)


# --- every paused frame passes the screen audit -------------------------------------------------------------
@pytest.mark.parametrize("built", ["vanishing", "zigzag", "histograms", "histograms_ko"])
def test_every_paused_frame_of_a_training_scene_passes_the_screen_audit(built, request):
    report = request.getfixturevalue(built).report
    assert report.violations == [], "\n".join(grouped(report.violations))
    assert len(report.frames) > 5  # the scene was built, not refused


# --- vanishing gradients --------------------------------------------------------------------------------------
def test_the_slopes_caption_gives_each_activations_largest_derivative_as_published(vanishing):
    curves = vanishing.trace["activation_curves"]
    # sigmoid'(0) = 1/4; tanh'(0) = 1; ReLU's and leaky ReLU's slope is 1 for x > 0
    published = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0, "leaky_relu": 1.0}
    assert {a: curves[a]["max_df"] for a in published} == pytest.approx(published)
    slopes = ", ".join(f"{NAMES[a]} ≤ {shown(v)}" for a, v in published.items())
    assert vanishing.looks_under(vanishing.caption("slopes", slopes=slopes)), "no frame says the slopes"


def test_each_activation_and_its_derivative_are_drawn_from_the_trace_in_its_colour(vanishing):
    curves = vanishing.trace["activation_curves"]
    x = decode_value(curves["x"])
    panel = vanishing.looks_under(vanishing.caption("slopes", slopes=", ".join(
        f"{NAMES[a]} ≤ {shown(curves[a]['max_df'])}" for a in NAMES)))[-1]
    for act, name in NAMES.items():
        mine = sorted((s for s in panel.shapes if s.tag == "curve" and s.label == name), key=lambda s: s.box[0])
        assert len(mine) == 2, f"{name}: {len(mine)} curves, not f and f′"
        for shape, key in zip(mine, ("f", "df")):  # the function on the left, its derivative on the right
            assert shape.stroke == vanishing.color(act)
            assert shape.on_axes
            want = np.minimum(decode_value(curves[act][key]), 5)  # the panels stop at 5 (ReLU's f(5))
            got = shape.anchors
            assert np.abs(got[:, 1] - np.interp(got[:, 0], x, want)).max() < 1e-6, f"{name}'s {key} is not the trace's"
            chart = [s for s in panel.shapes if s.tag == "curve" and s.chart == shape.chart]
            missing = undrawn_samples(chart, x, want)
            assert not missing.size, f"{name}'s {key} at x = {x[missing]} is not drawn"
    legend = [(t.string, t.color) for t in panel.texts if t.kind == "legend"]
    assert legend == [(NAMES[a], vanishing.color(a)) for a in NAMES]


def _snapshots(built: Built):
    """(record index, look) for each step of the norms charts, at the last animation showing it."""
    steps = built.trace["runs"][0]["steps"]
    stamps = {built.caption("step_stamp", step=s): k for k, s in enumerate(steps)}
    out = {}
    for lk in built.looks:
        shown_stamps = [stamps[s] for s in lk.said("text") if s in stamps]
        if shown_stamps:
            out[shown_stamps[0]] = lk
    return sorted(out.items())


def test_the_norms_charts_show_six_steps_from_the_first_to_the_last_recorded(vanishing):
    steps = vanishing.trace["runs"][0]["steps"]
    picked = [k for k, _ in _snapshots(vanishing)]
    assert len(picked) == 6 and picked[0] == 0 and picked[-1] == len(steps) - 1
    assert np.ptp(np.diff(picked)) <= 1  # evenly apart


def test_each_norms_note_gives_its_own_runs_first_and_last_layer_gradient_at_the_step_shown(vanishing):
    runs = vanishing.trace["runs"]
    norms = {NAMES[r["activation"]]: decode_value(r["grad_norms"]) for r in runs}
    note = re.compile(re.escape(vanishing.caption("norm_note", first="@", last="@")).replace("@", "(.+)"))
    for k, lk in _snapshots(vanishing):
        names = [t for t in lk.texts if t.string in norms]
        notes = [(t, note.fullmatch(t.string)) for t in lk.texts if note.fullmatch(t.string)]
        assert len(notes) == len(runs)
        for t, m in notes:
            # a note sits right of its panel's name, on its line
            beside = [n for n in names if abs(n.box[1] - t.box[1]) < 0.05 and n.box[2] < t.box[0]]
            name = max(beside, key=lambda n: n.box[2]).string
            n = norms[name][k]
            assert m.groups() == (shown(n[0]), shown(n[-1])), f"{name} at record {k}: {t.string!r}"


def test_the_norm_bars_stand_one_per_finite_layer_at_its_log_norm_in_the_runs_colour(vanishing):
    runs = vanishing.trace["runs"]
    for k, lk in _snapshots(vanishing):
        bars = [s for s in lk.shapes if s.tag == "bar"]
        finite = {r["activation"]: decode_value(r["grad_norms"])[k] for r in runs}
        drawn_runs = [a for a, n in finite.items() if (np.isfinite(n) & (n > 0)).any()]
        assert [b.fill for b in bars] == [vanishing.color(a) for a in drawn_runs], f"record {k}"
        for bar, act in zip(bars, drawn_runs):
            n = finite[act]
            layers = np.flatnonzero(np.isfinite(n) & (n > 0)) + 1  # layers count from 1, as the axis
            pieces = bar.pieces()
            centers = np.array([(p.min(0) + p.max(0)) / 2 for p in pieces])
            tops = np.array([p[:, 1].max() for p in pieces])
            assert centers[:, 0] == pytest.approx(layers, abs=1e-6), f"{act} at record {k}: bars not at their layers"
            # heights on a log axis: the differences of the tops are the decades between the norms
            logs = np.log10(n[layers - 1])
            assert tops - tops[0] == pytest.approx(logs - logs[0], abs=1e-6), f"{act} at record {k}"


def test_a_layer_without_a_finite_gradient_is_marked_and_a_nan_named(vanishing):
    runs = vanishing.trace["runs"]
    for k, lk in _snapshots(vanishing):
        rows = [decode_value(r["grad_norms"])[k] for r in runs]
        marks = lk.said("text")
        assert marks.count("×") == sum(int(np.isnan(n).sum()) for n in rows), f"record {k}"
        assert marks.count("0") == sum(int((n == 0).sum()) for n in rows), f"record {k}"
        assert marks.count(vanishing.caption("nan_norm")) == sum(bool(np.isnan(n).any()) for n in rows)
        for t in lk.texts:
            if t.string in ("×", "0", vanishing.caption("nan_norm")):
                assert t.color == vanishing.color("BAD")


def test_the_step_zero_caption_names_vanished_activations_and_only_those_dead_on_every_seed(vanishing):
    summary = vanishing.trace["seed_summary"]
    dead_seeds = {s["activation"]: [p["dead_at_init"] for p in s["per_seed"]] for s in summary}
    # the fixture has what the caption decides between: an activation dead on some seeds, not all
    assert any(any(d) and not all(d) for d in dead_seeds.values())
    dead = [NAMES[a] for a, d in dead_seeds.items() if all(d)]
    ratios = {s["activation"]: s["median_ratio"] for s in summary}
    vanished = [vanishing.caption("vanish_one", name=NAMES[a], orders=math.floor(-math.log10(r)))
                for a, r in ratios.items() if r is not None and 0 < r < 1e-2]  # two decades or more
    assert vanished
    expected = " ".join([vanishing.caption("vanish", which="; ".join(vanished))] +
                        ([vanishing.caption("dead", names=", ".join(dead))] if dead else []))
    assert vanishing.looks_under(expected), f"no frame says {expected!r}"


def _per_seed_outcomes(trace):
    """Per activation: (seeds reaching accuracy 1 without NaN, seeds diverged), from each seed's record."""
    out = {}
    for s in trace["seed_summary"]:
        runs = s["per_seed"]
        out[s["activation"]] = (sum(1 for p in runs if p["final_accuracy"] == 1.0 and not p["diverged"]),
                                sum(1 for p in runs if p["diverged"]))
    return out


def test_the_outcome_caption_counts_each_activations_solved_and_diverged_seeds(vanishing):
    trace = vanishing.trace
    outcomes = _per_seed_outcomes(trace)
    assert any(d for _, d in outcomes.values()) and any(s for s, _ in outcomes.values())
    counts = ", ".join(vanishing.caption("outcome_count", name=NAMES[a], solved=s)
                       + (vanishing.caption("outcome_count_nan", diverged=d) if d else "")
                       for a, (s, d) in outcomes.items())
    expected = vanishing.caption("outcome_seeds", steps=trace["runs"][0]["steps"][-1], seeds=VANISHING["seeds"],
                                 outcomes=counts)
    assert vanishing.looks_under(expected), f"no frame says {expected!r}"


def _learning_curves(built: Built) -> Look:
    return [lk for lk in built.looks if any(t.kind == "legend" and ":" in t.string for t in lk.texts)][-1]


def test_each_learning_curve_follows_its_runs_loss_and_accuracy_in_its_colour(vanishing):
    lk = _learning_curves(vanishing)
    for run in vanishing.trace["runs"]:
        steps = np.asarray(run["steps"], dtype=float)
        mine = sorted((s for s in lk.shapes if s.tag == "curve" and s.label == NAMES[run["activation"]]),
                      key=lambda s: s.box[0])
        assert len(mine) == 2, f"{run['activation']}: {len(mine)} curves, not loss and accuracy"
        for shape, key in zip(mine, ("loss", "accuracy")):  # loss on the left
            ys = decode_value(run[key])
            last = len(ys) if np.all(np.isfinite(ys)) else int(np.argmin(np.isfinite(ys)))  # up to the NaN
            assert shape.stroke == vanishing.color(run["activation"])
            got = shape.anchors
            assert np.abs(got[:, 1] - np.interp(got[:, 0], steps[:last], ys[:last])).max() < 1e-6, \
                f"{run['activation']}'s {key} is not the trace's"
            chart = [s for s in lk.shapes if s.tag == "curve" and s.chart == shape.chart]
            missing = undrawn_samples(chart, steps[:last], ys[:last])
            assert not missing.size, f"{run['activation']}'s {key} at steps {steps[missing]} is not drawn"


def test_the_legend_says_each_runs_final_accuracy_or_the_step_it_turned_nan_in_its_colour(vanishing):
    legend = [(t.string, t.color) for t in _learning_curves(vanishing).texts if t.kind == "legend"]
    expected = []
    for run in vanishing.trace["runs"]:
        loss, name = decode_value(run["loss"]), NAMES[run["activation"]]
        if np.all(np.isfinite(loss)):
            text = vanishing.caption("final_accuracy", name=name, accuracy=shown(decode_value(run["accuracy"])[-1]))
        else:
            text = vanishing.caption("nan_from", name=name, step=run["steps"][int(np.argmin(np.isfinite(loss)))])
        expected.append((text, vanishing.color(run["activation"])))
    assert legend == expected
    assert any("NaN" in t for t, _ in legend)  # the fixture has a diverged run
    seed_line = vanishing.caption("curves_seed", seed=VANISHING["seed"], seeds=VANISHING["seeds"])
    assert seed_line in _learning_curves(vanishing).said("text")


def test_a_diverged_run_ends_with_a_cross_in_its_colour_at_its_last_finite_point(vanishing):
    lk = _learning_curves(vanishing)
    for run in vanishing.trace["runs"]:
        color = vanishing.color(run["activation"])
        strokes = sorted((s for s in lk.shapes if s.cls == "Line" and s.on_axes and s.stroke == color),
                         key=lambda s: s.box[0])
        loss = decode_value(run["loss"])
        if np.all(np.isfinite(loss)):
            assert strokes == [], f"{run['activation']} did not diverge, yet is crossed out"
            continue
        k = int(np.argmin(np.isfinite(loss))) - 1
        assert len(strokes) == 4  # two strokes a cross, a cross on the loss and the accuracy chart
        for (a, b), key in zip((strokes[:2], strokes[2:]), ("loss", "accuracy")):
            center = (a.center + b.center) / 2
            assert center == pytest.approx([run["steps"][k], decode_value(run[key])[k]], abs=1e-6), key


def test_the_seed_table_gives_each_activations_counts_over_its_seeds_in_its_colour(vanishing):
    table = next(lk.cells for lk in reversed(vanishing.looks) if lk.cells)
    summary = vanishing.trace["seed_summary"]
    assert [c[0] for c in table[0]] == [style.CAPTIONS["en"][k] for k in ("seed_activation", "seed_solved",
                                                                          "seed_diverged", "seed_dead", "seed_ratio")]
    outcomes = _per_seed_outcomes(vanishing.trace)
    assert len(table) == 1 + len(summary)
    for row, s in zip(table[1:], summary):
        per_seed = s["per_seed"]
        solved, diverged = outcomes[s["activation"]]
        ratios = [p["ratio"] for p in per_seed if p["ratio"] is not None]
        expected = [NAMES[s["activation"]], f"{solved} / {len(per_seed)}", str(diverged),
                    str(sum(p["dead_at_init"] for p in per_seed)),
                    shown(float(np.median(ratios))) if ratios else "—"]
        assert [c[0] for c in row] == expected
        assert row[0][1] == vanishing.color(s["activation"])
        assert {c[1] for c in row[1:]} == {vanishing.color("TEXT")}


# --- sigmoid's zig-zag ----------------------------------------------------------------------------------------
def _zigzag_end(built: Built) -> Look:
    return built.looks[-1]


def test_each_zigzag_path_steps_through_the_traces_weights_in_its_colour(zigzag):
    lk = _zigzag_end(zigzag)
    for run in zigzag.trace["runs"]:
        weights = decode_value(run["weights"])
        segments = [s for s in lk.shapes if s.tag == "curve" and s.label == run["activation"]]
        assert len(segments) == len(weights) - 1 == ZIGZAG["steps"]
        for i, seg in enumerate(segments):
            assert seg.stroke == zigzag.color(run["activation"])
            assert seg.points[0] == pytest.approx(weights[i], abs=1e-6)
            assert seg.points[-1] == pytest.approx(weights[i + 1], abs=1e-6)


def test_the_zigzag_legend_counts_the_steps_whose_two_gradients_share_a_sign(zigzag):
    legend = {t.string: t.color for t in _zigzag_end(zigzag).texts}
    same = {}
    for run in zigzag.trace["runs"]:
        g = decode_value(run["grads"])
        same[run["activation"]] = int(np.sum(np.sign(g[:, 0]) == np.sign(g[:, 1])))
        text = zigzag.caption("zigzag_path", name=run["activation"], same=same[run["activation"]], steps=len(g))
        assert legend.get(text) == zigzag.color(run["activation"]), text
    assert same["sigmoid"] == ZIGZAG["steps"] > same["tanh"]  # what the scene is about, in this trace


@pytest.mark.parametrize("built", ["zigzag", "zigzag_short"])
def test_the_shaded_quadrants_are_up_right_and_down_left_of_a_point_on_the_sigmoid_path(built, request):
    zigzag = request.getfixturevalue(built)
    lk = next(lk for lk in zigzag.looks if any(s.cls == "Sector" for s in lk.shapes))
    run = next(r for r in zigzag.trace["runs"] if r["activation"] == "sigmoid")
    weights = decode_value(run["weights"])
    # every sigmoid step moves both weights the same way: what the quadrants show
    steps = np.diff(weights, axis=0)
    assert np.all(np.sign(steps[:, 0]) == np.sign(steps[:, 1]))
    dot = next(s for s in lk.shapes if s.cls == "Dot" and s.on_axes)
    assert np.min(np.abs(weights - dot.center).max(1)) < 1e-6  # a point of the path
    sectors = [s for s in lk.shapes if s.cls == "Sector"]
    assert len(sectors) == 2 and {s.fill for s in sectors} == {zigzag.color("sigmoid")}
    w1, w2 = (decode_value(run["contour"][k]) for k in ("w1", "w2"))  # the plot's ranges
    quadrants = set()
    for s in sectors:
        # where the path has room: a wedge near the plot's corner would be cut by its edge
        inside = (s.points.min(0) >= [w1[0], w2[0]]).all() and (s.points.max(0) <= [w1[-1], w2[-1]]).all()
        assert s.on_axes and inside, "a wedge leaves the plot"
        d = s.points - dot.center
        assert (d[:, 0] * d[:, 1] >= -1e-9).all(), "a wedge reaches a quadrant of mixed signs"
        quadrants.add((bool((d[:, 0] >= -1e-9).all() and (d[:, 1] >= -1e-9).all()),
                       bool((d[:, 0] <= 1e-9).all() and (d[:, 1] <= 1e-9).all())))
    assert quadrants == {(True, False), (False, True)}


def _luminance(hex_color: str) -> float:
    r, g, b = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_star_marks_the_target_and_the_surface_shades_rank_the_traces_loss(zigzag):
    lk = _zigzag_end(zigzag)
    star = next(s for s in lk.shapes if s.cls == "Star" and s.on_axes)
    assert star.center == pytest.approx(zigzag.trace["target"], abs=1e-6)
    contour = next(r for r in zigzag.trace["runs"] if r["activation"] == "sigmoid")["contour"]
    w1, w2, loss = (decode_value(contour[k]) for k in ("w1", "w2", "loss"))  # loss[j, i] at (w1[i], w2[j])
    shades = []
    for band in (s for s in lk.shapes if s.cls == "VMobject" and s.tag is None and s.on_axes):
        covered = [loss[np.ix_((w2 >= p[:, 1].min()) & (w2 <= p[:, 1].max()),
                               (w1 >= p[:, 0].min()) & (w1 <= p[:, 0].max()))].ravel() for p in band.pieces()]
        covered = np.concatenate(covered)
        shades.append((_luminance(band.fill), covered.min(), covered.max(), covered.size))
    assert sum(n for *_, n in shades) == loss.size  # every point of the grid shaded, once
    # on a dark background the lower the loss, the brighter its shade: no brighter shade covers a higher loss
    shades.sort(reverse=True)
    for brighter, darker in zip(shades, shades[1:]):
        assert brighter[2] <= darker[1], f"a shade of luminance {brighter[0]:.2f} covers a loss above a darker one's"


# --- gradient-sign histograms ---------------------------------------------------------------------------------
def _cells(built: Built, lk: Look):
    """The histogram frames (rectangles in the muted colour), as rows top to bottom of cells left to right."""
    frames = [s for s in lk.shapes if s.cls == "Rectangle" and s.stroke == built.color("MUTED")]
    rows: list[list[Shape]] = []
    for f in sorted(frames, key=lambda f: (-round(f.box[3], 3), f.box[0])):
        if rows and abs(rows[-1][0].box[3] - f.box[3]) < 1e-3:
            rows[-1].append(f)
        else:
            rows.append([f])
    return rows


def _board(built: Built):
    """The histograms board when it is whole (before any box), and its cells, a row per run."""
    lk = built.looks_under(built.caption("hist_intro"))[-1]
    rows = _cells(built, lk)
    assert [len(r) for r in rows] == [len(run["histograms"]) for run in built.trace["runs"]]
    return lk, rows


def test_each_histogram_draws_a_bar_per_filled_bin_at_its_place_and_height_in_the_gradient_colour(histograms):
    lk, rows = _board(histograms)
    bars = [s for s in lk.shapes if s.tag == "bar"]
    zeros = [s for s in lk.shapes if s.cls == "Line"]
    for run, row in zip(histograms.trace["runs"], rows):
        for h, frame in zip(run["histograms"], row):
            x0, y0, x1, y1 = frame.box
            counts, edges = np.asarray(h["counts"], float), decode_value(h["edges"])
            inside = [b for b in bars if x0 <= b.center[0] <= x1 and y0 <= b.center[1] <= y1]
            assert len(inside) == 1 and inside[0].fill == histograms.color("GRADIENT")
            pieces = sorted(inside[0].pieces(), key=lambda p: p[:, 0].min())
            filled = np.flatnonzero(counts)
            assert len(pieces) == len(filled), f"{run['activation']} layer {h['layer']}: a bar per bin with weights"
            mids = np.array([(p[:, 0].min() + p[:, 0].max()) / 2 for p in pieces])
            heights = np.array([np.ptp(p[:, 1]) for p in pieces])
            assert (mids - x0) / (x1 - x0) == pytest.approx((filled + 0.5) / len(counts), abs=1e-6)  # bin i at i
            assert heights / heights.max() == pytest.approx(counts[filled] / counts.max(), abs=1e-6)
            zero_x = x0 + (x1 - x0) * (0 - edges[0]) / (edges[-1] - edges[0])
            assert any(abs(z.center[0] - zero_x) < 1e-6 and y0 - 1e-6 <= z.center[1] <= y1 + 1e-6 for z in zeros)


def test_under_each_histogram_its_range_and_its_counts_of_each_sign_are_the_traces(histograms):
    lk, rows = _board(histograms)
    runs = histograms.trace["runs"]
    for run, row in zip(runs, rows):
        name = next(t for t in lk.texts if t.string == NAMES[run["activation"]])
        assert name.color == histograms.color(run["activation"])
        assert name.box[2] < row[0].box[0] and row[0].box[1] < name.center[1] < row[0].box[3]  # left of its row
        for h, frame in zip(run["histograms"], row):
            x0, y0, x1, y1 = frame.box
            counts, edges = np.asarray(h["counts"], float), decode_value(h["edges"])
            # under the frame, top to bottom: the range, then + / − / 0 counts
            under = sorted((t for t in lk.texts if x0 <= t.center[0] <= x1 and t.box[3] < y0),
                           key=lambda t: -t.center[1])
            reach, text = max(abs(edges[0]), abs(edges[-1])), histograms.color("TEXT")
            assert [(t.string, t.color) for t in under[:4]] == [
                (f"±{shown(reach)}", histograms.color("MUTED")), (f"+{h['positive']}", text),
                (f"{style.MINUS}{h['negative']}", text), (f"0: {h['zero']}", text)]
            assert h["positive"] + h["negative"] + h["zero"] == counts.sum()
    heads = [t.string for t in lk.texts if t.kind == "text" and t.string in
             [histograms.caption("layer", layer=n) for n in range(1, 30)]]
    assert heads == [histograms.caption("layer", layer=h["layer"]) for h in runs[0]["histograms"]]


@pytest.mark.parametrize("built", ["histograms", "histograms_ko"])
def test_each_activations_last_layer_caption_gives_its_sign_counts_and_is_boxed(built, request):
    built = request.getfixturevalue(built)
    runs = built.trace["runs"]
    seen_kinds = set()
    for row, run in enumerate(runs):
        last = run["histograms"][-1]
        pos, neg, zero = last["positive"], last["negative"], last["zero"]
        key = "hist_mixed" if pos and neg else "hist_one_sign" if pos or neg else "hist_zero"
        seen_kinds.add(key)
        caption = built.caption(key, name=NAMES[run["activation"]], pos=pos, neg=neg, zero=zero)
        looks = built.looks_under(caption)
        assert looks, f"no frame says {caption!r}"
        # the box around this run's last histogram, in the highlight colour
        lk = looks[-1]
        box = [s for s in lk.shapes if s.cls == "SurroundingRectangle"]
        assert len(box) == 1 and box[0].stroke == built.color("HIGHLIGHT")
        target = _cells(built, lk)[row][-1]
        assert (box[0].box[:2] < target.box[:2]).all() and (box[0].box[2:] > target.box[2:]).all()
        assert (box[0].box[2:] - box[0].box[:2] < 1.2 * (target.box[2:] - target.box[:2]) + 0.2).all()
    assert seen_kinds == {"hist_mixed", "hist_one_sign"}  # the fixture shows both wordings


@pytest.mark.parametrize("activations, depth", [
    (["sigmoid", "tanh", "relu"], 1),  # three rows do not fit one frame readably
    (["sigmoid"], 10),  # nor do ten columns
    pytest.param(["sigmoid", "tanh", "relu"], 20, marks=pytest.mark.slow),  # the largest board a config allows
])
def test_a_histograms_board_too_large_to_read_at_once_is_shown_a_part_at_a_time(tmp_path, activations, depth):
    config = tmp_path / "large.yaml"
    config.write_text(yaml.safe_dump({**HISTOGRAMS, "depth": depth, "width": 5, "bins": 5,
                                      "activations": activations}))
    report = audit.run.audit_trace(trace_path_for(config))
    assert report.violations == [], "\n".join(grouped(report.violations))  # every text at 10 px or more
    names = [NAMES[a] for a in activations]
    heads = [f"layer {k}" for k in range(1, depth + 1)]
    shown = set()
    for f in report.frames:
        texts = {t.string for t in f.texts}
        shown |= {(n, h) for n in names for h in heads if n in texts and h in texts}
    assert shown == {(n, h) for n in names for h in heads}  # every activation's every layer, on some page
    said = [p.caption for p in report.plays]
    assert [n for n in names if any(c.startswith(f"{n}, last layer") for c in said)] == names
