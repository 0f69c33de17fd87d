"""Scenes of the training experiments: vanishing gradients, sigmoid's zig-zag, gradient-sign histograms.

Every curve, bar and count is read from a training trace; the scenes only scale numbers to the screen.
    BACKPROP_SOURCE=assets/configs/zigzag.yaml manim -ql scenes/training_scenes.py SigmoidZigZag
"""
from __future__ import annotations

import numpy as np
from manim import (DOWN, LEFT, ORIGIN, PI, RIGHT, UP, Axes, Create, Dot, Line, MathTex, Rectangle, Sector, Star,
                   Succession, SurroundingRectangle, Table, Text, Transform, VGroup, VMobject, rgb_to_color)

# Absolute imports: manim loads this file as a top-level module, not as part of the package.
from scenes import charts, style
from scenes.animations import fade_in, fade_out
from scenes.charts import polyline  # noqa: F401 (tests draw a curve as the scenes do)
from scenes.glyphs import merge_axes, merge_glyphs, merge_shapes
from scenes.graph_scenes import GRAPH_CENTER_Y, TraceScene
from scenes.screen_tags import tag_shape
from scenes.trace_data import decode_value

ACT_NAMES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU"}


VANISHED_RATIO = 1e-2  # first/last layer gradient: two orders of magnitude or more is called vanished


def label(text: str, size: int = 24, color=None) -> Text:
    return merge_glyphs(style.once(Text, text, font=style.caption_font(), font_size=size, color=color or style.TEXT))


def tex_label(tex: str, size: int = 36, color=None) -> MathTex:
    mob = merge_glyphs(style.once(MathTex, tex, font_size=size, color=color or style.MUTED))
    mob.audit_kind = "axis label"
    return mob


def nice_range(lo: float, hi: float, most: int = 6) -> list[float]:
    """[low, high, step] covering lo..hi with at most ``most`` steps of 0.25, 0.5, 1, 2 or 5."""
    for step in (0.25, 0.5, 1.0, 2.0, 5.0, 10.0):
        a, b = np.floor(lo / step) * step, np.ceil(hi / step) * step
        if (b - a) / step <= most:
            return [float(a), float(b), step]
    return [float(lo), float(hi), float(hi - lo) / most]


class TrainingScene(TraceScene):
    """A scene whose steps are its captions. What a step showed stays on screen to its end (its last frame is
    a slide's page): ``retire`` marks it to fade out with the caption that starts the next step."""
    sections_from_captions = True

    def setup(self):
        super().setup()
        self.leaving: list = []

    def retire(self, *mobs) -> None:
        self.leaving += mobs

    def set_caption(self, text: str | None):
        if text:
            self.step(text, about={"kind": "caption"})
        old, new = self.caption, self._caption_mob(text)
        anims = [fade_out(m) for m in self.leaving + ([old] if old is not None else [])]
        anims += [fade_in(new)] if new is not None else []
        self.caption, self.leaving = new, []
        if anims:
            self.play(*anims, run_time=0.4)


class VanishingGradients(TrainingScene):
    """Activation slopes; per-layer gradient norms on a log axis over training; loss and accuracy curves."""

    default_source = "assets/configs/vanishing.yaml"
    trace_kind = "vanishing"
    snapshots = 6
    caption_y = -2.9  # no equations here: the charts take the middle of the frame
    equation_room = False

    def story(self, trace: dict):
        self.show_title(trace)
        self.show_activation_slopes(trace["activation_curves"])
        self.show_gradient_norms(trace)
        self.show_learning_curves(trace)
        summary = trace.get("seed_summary", [])
        if summary and summary[0]["seeds"] > 1:
            self.show_seed_summary(summary)

    def show_seed_summary(self, summary: list[dict]):
        """Over N seeds, per activation: solved, diverged, dead at initialisation, median gradient ratio."""
        heads = [style.caption(k) for k in ("seed_activation", "seed_solved", "seed_diverged", "seed_dead",
                                            "seed_ratio")]
        rows = [[ACT_NAMES[s["activation"]], f"{s['solved']} / {s['seeds']}", str(s["diverged"]),
                 str(s["dead_at_init"]),
                 "—" if s["median_ratio"] is None else style.fmt_value(float(decode_value(s["median_ratio"])))]
                for s in summary]
        table = Table(rows, col_labels=[Text(h, font=style.caption_font(), font_size=24, color=style.MUTED)
                                        for h in heads],
                      include_outer_lines=True, line_config={"stroke_color": style.MUTED},
                      element_to_mobject_config={"font_size": 28, "font": style.FONTS["en"], "color": style.TEXT},
                      v_buff=0.3, h_buff=0.4)
        for r, s in enumerate(summary, start=2):
            table.get_entries((r, 1)).set_color(style.ACTIVATION[s["activation"]])
        self.below_title(table.scale(min(1.0, 12.5 / table.width, 4.2 / table.height)).move_to(GRAPH_CENTER_Y * UP))
        self.set_caption(style.caption("seed_summary", seeds=summary[0]["seeds"]))
        self.play(fade_in(table), run_time=0.8)
        self.wait(2.5)

    def show_activation_slopes(self, curves: dict):
        x = decode_value(curves["x"])
        names = [k for k in curves if k != "x"]
        self.set_caption(style.caption("slopes", slopes=", ".join(
            f"{ACT_NAMES[n]} ≤ {style.fmt_value(curves[n]['max_df'])}" for n in names)))
        panels = VGroup()
        for key, title in (("f", "panel_activation"), ("df", "panel_derivative")):
            ys = [np.minimum(decode_value(curves[n][key]), 5) for n in names]
            lo, hi = min(float(np.min(y)) for y in ys), max(float(np.max(y)) for y in ys)
            frame = charts.chart([x[0], x[-1], 2.5], nice_range(min(lo, 0.0), hi), 4.2, 3.0,
                                 style.caption("axis_input"), style.caption(title))
            lines = charts.visible_curves([charts.polyline(frame.ax, x, y, style.ACTIVATION[n]) for n, y in zip(names, ys)],
                                          [ACT_NAMES[n] for n in names])
            panels.add(VGroup(frame, lines))
        self.below_title(panels.arrange(RIGHT, buff=0.6).move_to(GRAPH_CENTER_Y * UP), 0.1)
        legend = self.legend([(ACT_NAMES[n], style.ACTIVATION[n]) for n in names]).next_to(panels, DOWN, buff=0.25)
        self.play(*(Create(p[1]) for p in panels), *(fade_in(p[0]) for p in panels), fade_in(legend), run_time=1.5)
        self.wait(1.5)
        self.retire(panels, legend)

    @staticmethod
    def legend(entries: list[tuple[str, str]], rows: int = 1, curves: list[str] | None = None) -> VGroup:
        """One entry per curve, each in its curve's colour (``curves``: the curves' labels, when the entries'
        texts are not their names)."""
        items = [tag_shape(charts.text(name, 24, color, kind="legend"), "legend", curve)
                 for (name, color), curve in zip(entries, curves or [name for name, _ in entries])]
        group = VGroup(*items)
        return group.arrange(RIGHT, buff=0.5) if rows == 1 else group.arrange_in_grid(rows=rows, buff=(0.6, 0.12))

    def show_gradient_norms(self, trace: dict):
        """Per-layer gradient norms at a few recorded steps; step 0, the scene's evidence, is held longest."""
        runs = trace["runs"]
        norms = [decode_value(r["grad_norms"]) for r in runs]
        depth = norms[0].shape[1]
        finite = np.concatenate([n[np.isfinite(n) & (n > 0)] for n in norms])
        ymin = float(np.floor(np.log10(finite.min()))) if finite.size else -8.0
        ymax = float(np.ceil(np.log10(finite.max()))) if finite.size else 1.0
        span = max(ymax - ymin, 1.0)
        tick = max(1, int(np.ceil(span / 2)))
        span = tick * np.ceil(span / tick)
        self.set_caption(style.caption("norms"))
        y_ticks = np.arange(0, span + 1e-9, tick)
        charts.expect_powers_of_ten(ymin + v for v in y_ticks)
        panels = VGroup()
        for run in runs:
            # Heights are decades above the smallest norm, so the baseline sits at the bottom.
            frame = charts.chart([0, depth + 1, 1], [0, span, tick], 4.2, 1.05, style.caption("axis_layer"),
                                 style.caption("axis_norm"), x_ticks=range(1, depth + 1, max(1, depth // 10)),
                                 y_ticks=y_ticks, x_label=lambda v: charts.text(str(int(v)), charts.TICK_SIZE),
                                 y_label=lambda v: charts.power_of_ten(int(ymin + v)))
            name = label(ACT_NAMES[run["activation"]], 24, style.ACTIVATION[run["activation"]])
            name.next_to(frame, UP, buff=0.1).align_to(frame, LEFT)
            panels.add(VGroup(frame, name))
        # below the title, with a line above for the step
        panels.arrange_in_grid(rows=2, cols=2, buff=(0.6, 0.25))
        top = self.content_top - 0.35  # a line for the step above the charts
        panels.shift((top - panels.get_top()[1]) * UP)
        panels.set_x(0)
        self.play(fade_in(panels), run_time=0.8)
        steps = runs[0]["steps"]
        picks = np.unique(np.linspace(0, len(steps) - 1, self.snapshots).round().astype(int))
        shown = None
        for k in picks:
            bars = VGroup(*(self._bars(panel[0].ax, n[k], ymin, style.ACTIVATION[r["activation"]])
                            for panel, n, r in zip(panels, norms, runs)))
            # each panel says what its bars show at this step; the step itself is written once, above
            notes = VGroup(*(label(style.caption("norm_note", first=style.fmt_value(n[k][0]),
                                                 last=style.fmt_value(n[k][-1])), 22, style.MUTED)
                             .next_to(panel[1], RIGHT, buff=0.25).align_to(panel[1], DOWN)
                             for panel, n in zip(panels, norms)))
            stamp = label(style.caption("step_stamp", step=steps[k]), 24, style.TEXT).move_to((self.content_top - 0.1) * UP)
            new = VGroup(bars, notes, stamp)
            if shown is None:
                self.play(fade_in(new), run_time=0.8)
                self.set_caption(self.vanish_caption(trace))
                self.mark_poster(1.0)
                self.wait(3.0)  # the evidence: first against last layer before any training
            else:  # a fade, not a morph: digits must never turn into other digits' shapes
                if k == picks[1]:
                    self.set_caption(style.caption("norms_training"))
                self.play(fade_out(shown), fade_in(new), run_time=0.6)
                self.wait(0.6)
            shown = new
        self.wait(1.5)
        self.retire(panels, shown)

    @staticmethod
    def outcome_caption(trace: dict, steps: int) -> str:
        """How the runs ended, from the trace's seed summary. One seed: which runs solved the task (accuracy 1
        at the end), which did not, which diverged. Several: per activation, how many of its seeds reached
        accuracy 1 and how many diverged to NaN."""
        summary = trace.get("seed_summary", [])
        if any(s["seeds"] > 1 for s in summary):
            outcomes = [style.caption("outcome_count", name=ACT_NAMES[s["activation"]], solved=s["solved"])
                        + (style.caption("outcome_count_nan", diverged=s["diverged"]) if s["diverged"] else "")
                        for s in summary]
            return style.caption("outcome_seeds", steps=steps, seeds=summary[0]["seeds"], outcomes=", ".join(outcomes))
        groups = {"solved": [], "unsolved": [], "diverged": []}
        for s in summary:
            key = "diverged" if s["diverged"] else "solved" if s["solved"] else "unsolved"
            groups[key].append(ACT_NAMES[s["activation"]])
        parts = [style.caption(f"outcome_{k}", names=", ".join(v)) for k, v in groups.items() if v]
        return style.caption("curves", steps=steps) + ": " + "; ".join(parts)

    @staticmethod
    def vanish_caption(trace: dict) -> str:
        """What step 0 shows, from the trace's per-activation summary: which activation's first layer gets
        a gradient orders of magnitude below its last layer's, and which network is dead from the start."""
        summary = trace.get("seed_summary", [])
        dead = [ACT_NAMES[s["activation"]] for s in summary if s["dead_at_init"] == s["seeds"] > 0]
        vanished = []
        for s in summary:
            ratio = None if s["median_ratio"] is None else float(decode_value(s["median_ratio"]))
            if ratio is not None and 0 < ratio < VANISHED_RATIO:
                vanished.append(style.caption("vanish_one", name=ACT_NAMES[s["activation"]],
                                              orders=int(np.floor(-np.log10(ratio)))))
        parts = []
        if vanished:
            parts.append(style.caption("vanish", which="; ".join(vanished)))
        if dead:
            parts.append(style.caption("dead", names=", ".join(dead)))
        return "  ".join(parts) or style.caption("no_vanish")
    @staticmethod
    def _bars(ax: Axes, norms: np.ndarray, ymin: float, color) -> VGroup:
        """One bar per layer; a layer whose norm is 0 gets a "0", infinite "∞", NaN a "×" and the chart
        one "NaN" label (a label per layer would not fit between the bars)."""
        bars, marks = VGroup(), VGroup()
        width = 0.6 * (ax.c2p(1, 0)[0] - ax.c2p(0, 0)[0])
        for layer, v in enumerate(norms, start=1):
            if not np.isfinite(v) or v <= 0:
                marks.add(label("×" if np.isnan(v) else "∞" if v > 0 else "0", 24, style.BAD)
                          .move_to(ax.c2p(layer, 0) + 0.2 * UP))
                continue
            top = ax.c2p(layer, max(np.log10(v) - ymin, 0.02))
            base = ax.c2p(layer, 0)
            bars.add(Rectangle(width=width, height=max(top[1] - base[1], 0.01), fill_color=color, fill_opacity=0.85,
                               stroke_width=0).move_to((top + base) / 2))
        if np.isnan(norms).any():
            marks.add(label(style.caption("nan_norm"), 24, style.BAD).move_to(ax.c2p((len(norms) + 1) / 2, 0) + 0.75 * UP))
        return VGroup(tag_shape(merge_shapes(bars), "bar"), marks)

    def show_learning_curves(self, trace: dict):
        """Loss and accuracy of each activation's run (the first seed's, said so when there are several),
        each curve visible, and where a run diverged marked in its own colour."""
        runs = trace["runs"]
        steps = np.asarray(runs[0]["steps"], dtype=float)
        losses = [decode_value(r["loss"]) for r in runs]
        accuracies = [decode_value(r["accuracy"]) for r in runs]
        top = max(1.0, float(np.nanmax([np.nanmax(np.where(np.isfinite(l), l, np.nan)) for l in losses])))
        self.set_caption(self.outcome_caption(trace, int(steps[-1])))
        names = [ACT_NAMES[r["activation"]] for r in runs]
        colors = [style.ACTIVATION[r["activation"]] for r in runs]
        panels = VGroup()
        for key, ys_all, y_range in (("loss", losses, nice_range(0.0, min(top, 3.0))),
                                     ("accuracy", accuracies, [0, 1.0, 0.25])):
            every = steps[-1] / (2 if steps[-1] >= 10000 else 4)  # five-digit numbers need the room
            frame = charts.chart([0, steps[-1], every], y_range, 4.2, 2.6, style.caption("axis_step"),
                                 style.caption(key), x_label=lambda v: charts.text(str(int(round(v))), charts.TICK_SIZE))
            lines = charts.visible_curves([charts.polyline(frame.ax, steps, np.minimum(ys, y_range[1]), color)
                                           for ys, color in zip(ys_all, colors)], names)
            ends = VGroup(*(self._end_mark(frame.ax, steps, ys, color)
                            for ys, color in zip(ys_all, colors) if not np.all(np.isfinite(ys))))
            panels.add(VGroup(frame, lines, ends))
        panels.arrange(RIGHT, buff=0.6)
        entries = []
        for r, name, color, acc, loss in zip(runs, names, colors, accuracies, losses):
            if np.all(np.isfinite(loss)):
                entries.append((style.caption("final_accuracy", name=name, accuracy=style.fmt_value(acc[-1])), color))
            else:
                entries.append((style.caption("nan_from", name=name, step=int(steps[np.argmin(np.isfinite(loss))])), color))
        legend = self.legend(entries, rows=2, curves=names).next_to(panels, DOWN, buff=0.25)
        board = VGroup(panels, legend)
        seeds = max((s["seeds"] for s in trace.get("seed_summary", [])), default=1)
        if seeds > 1:  # the curves are one seed's: the screen says which
            board.add(label(style.caption("curves_seed", seed=runs[0]["seed"], seeds=seeds), 24, style.TEXT)
                      .next_to(panels, UP, buff=0.15))
        board.move_to(ORIGIN).shift((self.content_top - 0.1 - board.get_top()[1]) * UP)
        self.play(*(fade_in(p[0]) for p in panels), *(fade_in(m) for m in board[2:]), run_time=0.6)
        self.play(*(Create(p[1]) for p in panels), *(fade_in(p[2]) for p in panels), fade_in(legend), run_time=2.5)
        self.wait(2)
        self.retire(board)

    @staticmethod
    def _end_mark(ax, steps, ys, color) -> VGroup:
        """A cross in the run's colour where its curve ends: the last value before NaN."""
        k = max(int(np.argmin(np.isfinite(ys))) - 1, 0)
        y = float(np.clip(ys[k], ax.y_range[0], ax.y_range[1])) if np.isfinite(ys[k]) else ax.y_range[0]
        p, s = ax.c2p(steps[k], y), 0.11
        return VGroup(Line(p + s * (LEFT + DOWN), p + s * (RIGHT + UP), color=color, stroke_width=4),
                      Line(p + s * (LEFT + UP), p + s * (RIGHT + DOWN), color=color, stroke_width=4))


SHADE_LEVELS = 24


# The loss surface's colour ramp, from high loss to low: dark to light on black, light to darker on white,
# so that the minimum is always the end of the ramp that stands out from the background.
SURFACE = {"dark": ((0.12, 0.18, 0.35), (0.57, 0.73, 0.85)), "light": ((0.98, 0.98, 1.0), (0.36, 0.52, 0.8))}


def shade_bands(ax: Axes, xs: np.ndarray, ys: np.ndarray, shade: np.ndarray) -> VGroup:
    """A heat map of ``shade[i, j]`` (0..1 at xs[i], ys[j]) as one filled shape per shade level.

    Each level's cells are merged into runs along x and drawn as one path, so a frame fills a couple of
    dozen shapes rather than a shape per cell (and it stays vector at any resolution; Manim 0.22's
    ImageMobject also fails with Pillow 13).
    """
    levels = np.minimum((shade * SHADE_LEVELS).astype(int), SHADE_LEVELS - 1)
    x0, y0 = ax.c2p(xs[0], ys[0])[:2]
    dx = (ax.c2p(xs[1], ys[0])[0] - x0)
    dy = (ax.c2p(xs[0], ys[1])[1] - y0)
    high, low = (np.asarray(c) for c in SURFACE[style.THEME])
    bands = VGroup()
    for lv in range(SHADE_LEVELS):
        band = VMobject(stroke_width=0, fill_opacity=1)
        for j in range(levels.shape[1]):
            row = levels[:, j] == lv
            # runs of consecutive cells at this level: starts where row turns on, ends where it turns off
            edges = np.flatnonzero(np.diff(np.concatenate(([0], row.astype(np.int8), [0]))))
            for start, stop in zip(edges[::2], edges[1::2]):
                left, right = x0 + (start - 0.5) * dx, x0 + (stop - 0.5) * dx
                bottom, top = y0 + (j - 0.5) * dy, y0 + (j + 0.5) * dy
                band.start_new_path([left, bottom, 0])
                band.add_points_as_corners([[right, bottom, 0], [right, top, 0], [left, top, 0], [left, bottom, 0]])
        if band.has_points():
            v = (lv + 0.5) / SHADE_LEVELS
            band.set_fill(rgb_to_color(high + v * (low - high)), opacity=1)
            bands.add(band)
    return bands


class SigmoidZigZag(TrainingScene):
    """Loss surface over (w1, w2), the directions a sigmoid step may take, and both paths step by step."""

    default_source = "assets/configs/zigzag.yaml"
    trace_kind = "zigzag"
    step_time = 0.12
    caption_y = -2.95
    equation_room = False
    plot_size = 4.5

    def story(self, trace: dict):
        self.show_title(trace)
        runs = {r["activation"]: r for r in trace["runs"]}
        ax, ticks, surface = self.draw_surface(runs["sigmoid"]["contour"])
        target = Star(outer_radius=0.14, color=style.HIGHLIGHT, fill_opacity=1).move_to(ax.c2p(*trace["target"]))
        quadrants = self.allowed_quadrants(ax, decode_value(runs["sigmoid"]["weights"]))
        paths = [[tag_shape(seg, "curve", a) for seg in self.path(ax, decode_value(runs[a]["weights"]), style.ACTIVATION[a])]
                 for a in ("sigmoid", "tanh")]
        legend = self.legend(runs, len(paths[0]))
        legend.next_to(surface, RIGHT, buff=0.6).align_to(surface, UP)
        self.set_caption(style.caption("zigzag_sigmoid"))
        self.play(fade_in(surface), fade_in(ax), fade_in(ticks), fade_in(target), fade_in(legend[0]), run_time=0.8)
        self.play(fade_in(quadrants), fade_in(legend[1]), run_time=0.6)
        self.wait(1.5)
        self.play(fade_in(legend[2]), run_time=0.4)
        self.play(Succession(*(Create(seg) for seg in paths[0]), run_time=self.step_time * len(paths[0])))
        self.wait(1.0)
        self.set_caption(style.caption("zigzag_tanh"))
        self.play(fade_out(quadrants), fade_in(legend[3]), run_time=0.5)
        self.play(Succession(*(Create(seg) for seg in paths[1]), run_time=self.step_time * len(paths[1])))
        self.mark_poster()
        self.wait(2)

    def legend(self, runs: dict, steps: int) -> VGroup:
        """What each mark means: the minimum, the shaded quadrants, each path and its count of one-sign steps."""
        def entry(mark, text, color=None):
            return VGroup(mark, label(text, 22, color or style.TEXT)).arrange(RIGHT, buff=0.2)

        quadrant = Rectangle(width=0.3, height=0.3, fill_color=style.ACTIVATION["sigmoid"], fill_opacity=0.3,
                             stroke_width=0)
        rows = [entry(Star(outer_radius=0.14, color=style.HIGHLIGHT, fill_opacity=1), style.caption("zigzag_min")),
                entry(quadrant, style.caption("zigzag_quadrants"))]
        for a in ("sigmoid", "tanh"):
            rows.append(tag_shape(entry(Line(ORIGIN, 0.3 * RIGHT, color=style.ACTIVATION[a], stroke_width=4),
                                        style.caption("zigzag_path", name=a, same=runs[a]["same_sign_steps"],
                                                      steps=len(runs[a]["grads"])), style.ACTIVATION[a]), "legend", a))
        legend = VGroup(*rows).arrange(DOWN, aligned_edge=LEFT, buff=0.35)
        return legend

    def draw_surface(self, contour: dict):
        w1, w2, loss = (decode_value(contour[k]) for k in ("w1", "w2", "loss"))
        # axes along the plot's left and bottom edges: lines through the surface's middle would cross the paths
        ax = merge_axes(charts.CornerAxes(x_range=[w1[0], w1[-1], 1], y_range=[w2[0], w2[-1], 1],
                                          x_length=self.plot_size, y_length=self.plot_size, tips=False,
                                          axis_config={"color": style.MUTED, "include_numbers": False}))
        ax.move_to(0.3 * UP + 3.6 * LEFT)
        self.below_title(ax, 0.5)
        # Lower loss is the far end of the colour ramp; a log scale shows the narrow valley that forces the zig-zag.
        level = np.log10(loss + 1e-9)
        shade = 1 - (level - level.min()) / max(level.max() - level.min(), 1e-12)
        image = shade_bands(ax, w1, w2, shade.T)
        # Numbers outside the plot (not on the coloured surface), and the axis names beside them.
        lo_x, lo_y = w1[0], w2[0]
        xs = VGroup(*(charts.text(style.fmt_value(v), charts.TICK_SIZE).next_to(ax.c2p(v, lo_y), DOWN, buff=0.12)
                      for v in np.arange(np.ceil(w1[0]), w1[-1] + 1e-9, 1)))
        ys = VGroup(*(charts.text(style.fmt_value(v), charts.TICK_SIZE).next_to(ax.c2p(lo_x, v), LEFT, buff=0.12)
                      for v in np.arange(np.ceil(w2[0]), w2[-1] + 1e-9, 1)))
        style.expect_tex(["w_1", "w_2"], font_size=40)  # one LaTeX run for both
        names = VGroup(tex_label("w_1", 40, style.TEXT).next_to(VGroup(image, xs), DOWN, buff=0.05).align_to(image, RIGHT),
                       tex_label("w_2", 40, style.TEXT).next_to(VGroup(image, ys), UP, buff=0.08).align_to(ys, LEFT))
        return ax, VGroup(xs, ys, names), image

    @staticmethod
    def allowed_quadrants(ax: Axes, weights: np.ndarray, radius: float = 0.75) -> VGroup:
        """At a point of the sigmoid path with room around it: the up-right and down-left quarter discs a
        step can go into, and the point itself. (At the start, near the plot's corner, they would be cut.)"""
        lo, hi = ax.c2p(ax.x_range[0], ax.y_range[0]), ax.c2p(ax.x_range[1], ax.y_range[1])
        points = [ax.c2p(*w) for w in weights]
        room = [min(p[0] - lo[0], hi[0] - p[0], p[1] - lo[1], hi[1] - p[1]) for p in points]
        # the first half of the path by choice (where the zig-zag starts); the whole of it if no point there has
        # room for the discs; and discs no larger than the room, so that they stay inside the plot
        half = max(2, len(points) // 2)
        best = int(np.argmax(room[:half]))
        if room[best] < radius:
            best = int(np.argmax(room))
        c, radius = points[best], min(radius, room[best])
        color = style.ACTIVATION["sigmoid"]
        wedges = [Sector(radius=radius, angle=PI / 2, start_angle=start, fill_color=color, fill_opacity=0.35,
                         stroke_width=0).shift(c) for start in (0, PI)]
        return VGroup(*wedges, Dot(c, radius=0.06, color=color))

    @staticmethod
    def path(ax: Axes, weights: np.ndarray, color) -> list:
        return [Line(ax.c2p(*a), ax.c2p(*b), color=color, stroke_width=3) for a, b in zip(weights, weights[1:])]


# The smallest a board is shrunk to: its 24-point names, ranges and layer heads keep a 10 px x-height at
# 854x480 (10.9 px at full size; audit/glyph_metrics.py). A larger board is shown a part at a time.
READABLE_SCALE = 0.92
PAGE_HOLD = 2.5


class GradientHistograms(TrainingScene):
    """Per-layer histograms of weight gradients from one backward pass, one row per activation."""

    default_source = "assets/configs/histograms.yaml"
    trace_kind = "histograms"
    caption_y = -2.9  # no equations here: the histograms take the middle of the frame
    equation_room = False

    def story(self, trace: dict):
        self.show_title(trace)
        runs = trace["runs"]
        box = None
        for k, (run_ids, layer_ids) in enumerate(self.pages(runs)):
            board = self.measured_boards.pop((tuple(run_ids), tuple(layer_ids)), None)
            if board is None:
                board = self.board([runs[i] for i in run_ids], layer_ids)
            heads, rows, key = self.place(board)
            if k:  # the page before makes room (a board too large to read at once is shown a part at a time)
                self.play(*(fade_out(m) for m in self.page), run_time=0.4)
                box = None
            self.set_caption(style.caption("hist_intro"))
            self.page = [rows, heads, key]
            for row in rows:
                self.play(fade_in(row), run_time=0.8)
            self.play(fade_in(heads), fade_in(key), run_time=0.4)
            if k == 0:
                self.mark_poster()
            if layer_ids[-1] != len(runs[0]["histograms"]) - 1:
                self.wait(PAGE_HOLD)  # a page without the last layer: time to read it before it goes
                continue
            self.wait(0.5)
            # Each activation's last layer in turn: its sign counts, and what one sign means for the update.
            for i, row in zip(run_ids, rows):
                last = runs[i]["histograms"][-1]
                signs = (last["positive"] > 0) + (last["negative"] > 0)
                # the caption starts the step, then the box moves to what it describes
                self.set_caption(style.caption(("hist_zero", "hist_one_sign", "hist_mixed")[signs],
                                               name=ACT_NAMES[runs[i]["activation"]], pos=last["positive"],
                                               neg=last["negative"], zero=last["zero"]))
                new_box = SurroundingRectangle(row[1][-1][0], color=style.HIGHLIGHT, buff=0.06)
                self.play(Create(new_box) if box is None else Transform(box, new_box), run_time=0.6)
                box = box or new_box
                self.page.append(box)
                self.wait(1.8)

    def pages(self, runs: list[dict]) -> list[tuple[list[int], list[int]]]:
        """(activations, layers) of each page: the whole board if it reads at its size, else as many layers
        a row, then as many rows a page, as fit without shrinking a text under the floor."""
        n_runs, n_layers = len(runs), len(runs[0]["histograms"])
        self.measured_boards = {}  # the boards built to be measured, kept for the page they are (story)

        def fits(run_ids, layer_ids):
            board = self.board([runs[i] for i in run_ids], layer_ids)
            self.measured_boards[tuple(run_ids), tuple(layer_ids)] = board
            return self.board_scale(board) >= READABLE_SCALE

        per_row = next((k for k in range(n_layers, 1, -1) if fits([0], list(range(k)))), 1)
        per_page = next((r for r in range(n_runs, 1, -1) if fits(list(range(r)), list(range(per_row)))), 1)
        return [(list(range(r, min(r + per_page, n_runs))), list(range(c, min(c + per_row, n_layers))))
                for c in range(0, n_layers, per_row) for r in range(0, n_runs, per_page)]

    def board_scale(self, board: VGroup) -> float:
        room = self.content_top - 0.1 - (self.caption_y + 0.45)  # above a caption of two lines
        return min(1.0, 13 / board.width, room / board.height)

    def board(self, runs: list[dict], layer_ids: list[int]) -> VGroup:
        """(layer heads, a row of histograms per activation, the key) at full size, not yet placed."""
        n_layers = len(layer_ids)
        cell_w, cell_h = min(2.0, 10.8 / n_layers - 0.35), min(1.0, 2.0 / len(runs))
        all_cells = [[self.histogram(run["histograms"][j], cell_w, cell_h) for j in layer_ids] for run in runs]
        # frames evenly spaced, far enough apart for the widest text under any of them
        pitch = max(cell.width for cells in all_cells for cell in cells) + 0.25
        rows = VGroup()
        for run, cells in zip(runs, all_cells):
            cells = VGroup(*cells)
            for i, cell in enumerate(cells):
                cell.shift((i * pitch - cell[0].get_center()[0]) * RIGHT - cell[0].get_top()[1] * UP)
            name = label(ACT_NAMES[run["activation"]], 24, style.ACTIVATION[run["activation"]])
            rows.add(VGroup(name, cells).arrange(RIGHT, buff=0.35, aligned_edge=UP))
        rows.arrange(DOWN, buff=0.3, aligned_edge=RIGHT)
        heads = VGroup(*(label(style.caption("layer", layer=runs[0]["histograms"][j]["layer"]), 24, style.MUTED)
                         .next_to(c[0], UP, buff=0.1) for j, c in zip(layer_ids, rows[0][1])))
        # the axes of every box, titled once: bar heights count weights, across is the gradient's value
        key = charts.text(f"↑ {style.caption('axis_count')}      → {style.caption('axis_gradient')}", 24)
        key.next_to(heads, UP, buff=0.15).align_to(rows[0][1], LEFT)
        return VGroup(heads, rows, key)

    def place(self, board: VGroup) -> VGroup:
        """``board`` at the size it reads at, under the title."""
        board.scale(self.board_scale(board)).move_to(ORIGIN)
        return board.shift((self.content_top - 0.1 - board.get_top()[1]) * UP)

    @staticmethod
    def histogram(h: dict, w: float, height: float) -> VGroup:
        """A histogram with its own range written under it (±the largest |gradient|, so that layers whose
        gradients differ by orders of magnitude say so), the zero line, and the counts of +, − and 0."""
        counts = np.asarray(h["counts"], dtype=float)
        edges = decode_value(h["edges"])
        frame = Rectangle(width=w, height=height, stroke_color=style.MUTED, stroke_width=1)
        bars = VGroup()
        bw = w / len(counts)
        peak = max(counts.max(), 1.0)
        for i, c in enumerate(counts):
            if c == 0:
                continue
            bh = 0.85 * height * c / peak
            bars.add(Rectangle(width=bw * 0.9, height=bh, fill_color=style.GRADIENT, fill_opacity=0.9, stroke_width=0)
                     .move_to(frame.get_corner(DOWN + LEFT) + (i + 0.5) * bw * RIGHT + bh / 2 * UP))
        tag_shape(merge_shapes(bars), "bar")
        span = float(edges[-1] - edges[0])
        zero_x = frame.get_left()[0] + w * (0 - edges[0]) / span if span > 0 else frame.get_center()[0]
        zero = Line([zero_x, frame.get_bottom()[1], 0], [zero_x, frame.get_top()[1], 0], color=style.TEXT, stroke_width=2)
        reach = max(abs(float(edges[0])), abs(float(edges[-1])))
        scale = label(f"±{style.fmt_value(reach)}", 24, style.MUTED).next_to(frame, DOWN, buff=0.1)
        # one count a line: "+5036 −4964" on one line would set the cells apart and the board would shrink
        counts = VGroup(*(label(t, 20, style.TEXT) for t in
                          (f"+{h['positive']}", f"{style.MINUS}{h['negative']}", f"0: {h['zero']}")))
        counts.arrange(DOWN, buff=0.06).next_to(scale, DOWN, buff=0.06)
        return VGroup(frame, bars, zero, scale, *counts)

