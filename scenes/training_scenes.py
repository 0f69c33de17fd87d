"""Scenes of the training experiments: vanishing gradients, sigmoid's zig-zag, gradient-sign histograms.

Every curve, bar and count is read from a training trace; the scenes only scale numbers to the screen.
    BACKPROP_SOURCE=assets/configs/zigzag.yaml manim -ql scenes/training_scenes.py SigmoidZigZag
"""
from __future__ import annotations

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, UR, Axes, Create, Line, MathTex, Polygon, Rectangle, Star, Succession,
                   SurroundingRectangle, Table, Text, Transform, VGroup, VMobject, rgb_to_color)

# Absolute imports: manim loads this file as a top-level module, not as part of the package.
from scenes import style
from scenes.animations import fade_in, fade_out
from scenes.glyphs import merge_axes, merge_glyphs, merge_shapes
from scenes.graph_scenes import GRAPH_CENTER_Y, GraphScene
from scenes.trace_data import decode_value

ACT_NAMES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU", "leaky_relu": "leaky ReLU"}


def label(text: str, size: int = 22, color=None) -> Text:
    return merge_glyphs(Text(text, font=style.FONTS["en"], font_size=size, color=color or style.TEXT))


def polyline(axes: Axes, xs, ys, color, width=3.0) -> VMobject:
    """The finite prefix of a curve (a NaN ends it: the scene marks where)."""
    ys = np.asarray(ys, dtype=float)
    finite = np.isfinite(ys)
    stop = len(ys) if finite.all() else int(np.argmin(finite))
    pts = [axes.c2p(x, y) for x, y in zip(xs[:stop], ys[:stop])]
    line = VMobject(stroke_color=color, stroke_width=width)
    if len(pts) >= 2:
        line.set_points_as_corners(pts)
    return line


class VanishingGradients(GraphScene):
    """Activation slopes; per-layer gradient norms on a log axis over training; loss and accuracy curves."""

    default_source = "assets/configs/vanishing.yaml"
    snapshots = 6

    def story(self, trace: dict):
        self.show_title(trace)
        self.show_activation_slopes(trace["activation_curves"])
        self.show_gradient_norms(trace)
        curves = self.show_learning_curves(trace)
        summary = trace.get("seed_summary", [])
        if summary and summary[0]["seeds"] > 1:
            self.play(fade_out(curves), run_time=0.5)
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
                      v_buff=0.35, h_buff=0.6)
        for r, s in enumerate(summary, start=2):
            table.get_entries((r, 1)).set_color(style.ACTIVATION[s["activation"]])
        table.scale(min(1.0, 12.5 / table.width, 4.2 / table.height)).move_to(GRAPH_CENTER_Y * UP)
        self.set_caption(style.caption("seed_summary", seeds=summary[0]["seeds"]))
        self.play(fade_in(table), run_time=0.8)
        self.wait(2.5)

    def show_activation_slopes(self, curves: dict):
        x = decode_value(curves["x"])
        names = [k for k in curves if k != "x"]
        panels = VGroup()
        for key, title in (("f", "activation"), ("df", "its derivative (local gradient)")):
            ys = [decode_value(curves[n][key]) for n in names]
            lo, hi = min(float(np.min(y)) for y in ys), max(float(np.max(np.minimum(y, 5))) for y in ys)
            ax = merge_axes(Axes(x_range=[x[0], x[-1], 2.5], y_range=[min(lo, 0) - 0.1, hi + 0.2, 0.5], x_length=5.6,
                      y_length=3.3, tips=False, axis_config={"color": style.MUTED, "include_numbers": True,
                                                             "font_size": 18}))
            curves_mob = VGroup(*(polyline(ax, x, np.minimum(y, 5), style.ACTIVATION[n]) for n, y in zip(names, ys)))
            panels.add(VGroup(ax, curves_mob, label(title, 22, style.MUTED).next_to(ax, UP, buff=0.15)))
        panels.arrange(RIGHT, buff=0.9).move_to(GRAPH_CENTER_Y * UP)
        legend = VGroup(*(label(ACT_NAMES[n], 20, style.ACTIVATION[n]) for n in names)).arrange(RIGHT, buff=0.5)
        legend.next_to(panels, DOWN, buff=0.25)
        self.play(*(Create(p[1]) for p in panels), *(fade_in(p[0]) for p in panels), *(fade_in(p[2]) for p in panels),
                  fade_in(legend), run_time=1.5)
        slopes = ", ".join(f"{ACT_NAMES[n]} ≤ {style.fmt_value(curves[n]['max_df'])}" for n in names)
        self.set_caption(style.caption("slopes", slopes=slopes))
        self.wait(1.5)
        self.play(fade_out(panels, legend), run_time=0.5)

    def show_gradient_norms(self, trace: dict):
        runs = trace["runs"]
        norms = [decode_value(r["grad_norms"]) for r in runs]
        depth = norms[0].shape[1]
        finite = np.concatenate([n[np.isfinite(n) & (n > 0)] for n in norms])
        ymin = float(np.floor(np.log10(finite.min()))) if finite.size else -8.0
        ymax = float(np.ceil(np.log10(finite.max()))) if finite.size else 1.0
        span = ymax - ymin
        tick = max(1, round(span / 4))
        charts = VGroup()
        for run, n in zip(runs, norms):
            # Heights are decades above the smallest norm, so the baseline sits at the bottom.
            ax = merge_axes(Axes(x_range=[0, depth + 1, 1], y_range=[0, span, tick], x_length=5.6, y_length=1.4, tips=False,
                      axis_config={"color": style.MUTED}))
            ticks = VGroup(*(merge_glyphs(MathTex(rf"10^{{{int(ymin + v)}}}", font_size=20, color=style.MUTED))
                             .next_to(ax.c2p(0, v), LEFT, 0.1) for v in np.arange(0, span + 0.01, tick)))
            name = label(ACT_NAMES[run["activation"]], 22, style.ACTIVATION[run["activation"]])
            note = label(f"step 0: first layer {style.fmt_value(n[0][0])}, last {style.fmt_value(n[0][-1])}", 16,
                         style.MUTED)
            head = VGroup(name, note).arrange(RIGHT, buff=0.3, aligned_edge=DOWN)
            head.next_to(ax, UP, buff=0.08).align_to(ax, LEFT)
            charts.add(VGroup(ax, ticks, head))
        charts.arrange_in_grid(rows=2, cols=2, buff=(1.0, 0.4)).move_to(GRAPH_CENTER_Y * UP)
        self.set_caption(style.caption("norms"))
        self.play(fade_in(charts), run_time=0.8)
        steps = runs[0]["steps"]
        picks = np.unique(np.linspace(0, len(steps) - 1, self.snapshots).round().astype(int))
        bars = None
        for k in picks:
            new = VGroup(*(self._bars(chart[0], n[k], ymin, style.ACTIVATION[r["activation"]])
                           for chart, n, r in zip(charts, norms, runs)))
            stamp = label(f"step {steps[k]}", 22, style.TEXT).to_corner(UR, buff=0.3)
            if bars is None:
                self.play(fade_in(new), fade_in(stamp), run_time=0.8)
                bars, self.stamp = new, stamp
            else:
                self.play(Transform(bars, new), Transform(self.stamp, stamp), run_time=0.8)
        self.set_caption(style.caption("vanish"))
        self.wait(2)
        self.play(fade_out(charts, bars, self.stamp), run_time=0.5)

    @staticmethod
    def _bars(ax: Axes, norms: np.ndarray, ymin: float, color) -> VGroup:
        group = VGroup()
        for layer, v in enumerate(norms, start=1):
            if not np.isfinite(v) or v <= 0:
                group.add(label("NaN" if np.isnan(v) else ("∞" if v > 0 else "0"), 14, style.BAD)
                          .move_to(ax.c2p(layer, 0) + 0.2 * UP))
                continue
            top = ax.c2p(layer, max(np.log10(v) - ymin, 0.02))
            base = ax.c2p(layer, 0)
            width = 0.6 * (ax.c2p(1, 0)[0] - ax.c2p(0, 0)[0])
            group.add(Rectangle(width=width, height=max(top[1] - base[1], 0.01), fill_color=color, fill_opacity=0.85,
                                stroke_width=0).move_to((top + base) / 2))
        return merge_shapes(group)

    def show_learning_curves(self, trace: dict):
        runs = trace["runs"]
        steps = np.asarray(runs[0]["steps"], dtype=float)
        losses = [decode_value(r["loss"]) for r in runs]
        top = max(1.0, float(np.nanmax([np.nanmax(np.where(np.isfinite(l), l, np.nan)) for l in losses])))
        panels = VGroup()
        for key, ys_all, y_range in (("loss", losses, [0, min(top, 3.0), 0.5]),
                                     ("accuracy", [decode_value(r["accuracy"]) for r in runs], [0, 1.0, 0.25])):
            ax = merge_axes(Axes(x_range=[0, steps[-1], steps[-1] / 4], y_range=y_range, x_length=5.6, y_length=2.6, tips=False,
                      axis_config={"color": style.MUTED, "include_numbers": True, "font_size": 16},
                      x_axis_config={"decimal_number_config": {"num_decimal_places": 0, "group_with_commas": False}}))
            curves = VGroup()
            marks = VGroup()
            for r, ys in zip(runs, ys_all):
                color = style.ACTIVATION[r["activation"]]
                ys_clipped = np.minimum(ys, y_range[1])
                curves.add(polyline(ax, steps, ys_clipped, color))
                if not np.all(np.isfinite(ys)):
                    k = int(np.argmin(np.isfinite(ys)))
                    marks.add(label(f"NaN from step {int(steps[k])}", 16, style.BAD).move_to(ax.c2p(steps[k], y_range[1] * 0.9)))
            panels.add(VGroup(ax, curves, marks, label(key, 22, style.MUTED).next_to(ax, UP, buff=0.15)))
        panels.arrange(RIGHT, buff=0.9).move_to((GRAPH_CENTER_Y + 0.35) * UP)
        legend = VGroup(*(label(f"{ACT_NAMES[r['activation']]}: final accuracy "
                                f"{style.fmt_value(decode_value(r['accuracy'])[-1])}", 18, style.ACTIVATION[r["activation"]])
                          for r in runs)).arrange_in_grid(rows=2, buff=(0.6, 0.12)).next_to(panels, DOWN, buff=0.2)
        self.set_caption(style.caption("curves", steps=int(steps[-1])))
        self.play(*(fade_in(p[0]) for p in panels), *(fade_in(p[3]) for p in panels), run_time=0.6)
        self.play(*(Create(p[1]) for p in panels), *(fade_in(p[2]) for p in panels), fade_in(legend), run_time=2.5)
        self.wait(2)
        return VGroup(panels, legend)


SHADE_LEVELS = 24


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
            band.set_fill(rgb_to_color([0.12 + 0.45 * v, 0.18 + 0.55 * v, 0.35 + 0.5 * v]), opacity=1)
            bands.add(band)
    return bands


class SigmoidZigZag(GraphScene):
    """Loss surface over (w1, w2), the allowed quadrants of a step, and both paths step by step."""

    default_source = "assets/configs/zigzag.yaml"
    step_time = 0.12

    def story(self, trace: dict):
        self.show_title(trace)
        runs = {r["activation"]: r for r in trace["runs"]}
        ax, names, surface = self.draw_surface(runs["sigmoid"]["contour"])
        target = Star(outer_radius=0.14, color=style.GOOD, fill_opacity=1).move_to(ax.c2p(*trace["target"]))
        self.play(fade_in(surface), fade_in(ax), fade_in(names), fade_in(target), run_time=0.8)
        start = decode_value(runs["sigmoid"]["weights"])[0]
        quadrants = self.allowed_quadrants(ax, start)
        self.set_caption(style.caption("zigzag_sigmoid"))
        self.play(fade_in(quadrants), run_time=0.6)
        paths = [self.path(ax, decode_value(runs[a]["weights"]), style.ACTIVATION[a]) for a in ("sigmoid", "tanh")]
        legend = VGroup(*(label(f"{a} inputs: {runs[a]['same_sign_steps']} of {len(runs[a]['grads'])} steps "
                                f"with one sign", 20, style.ACTIVATION[a]) for a in ("sigmoid", "tanh")))
        legend.arrange(DOWN, aligned_edge=LEFT, buff=0.25).next_to(ax, RIGHT, buff=0.8).shift(0.3 * UP)
        self.play(fade_in(legend), run_time=0.5)
        self.play(*(Succession(*(Create(seg) for seg in p), run_time=self.step_time * len(p)) for p in paths))
        self.set_caption(style.caption("zigzag_tanh"))
        self.play(fade_out(quadrants), run_time=0.5)
        self.wait(2)

    def draw_surface(self, contour: dict):
        w1, w2, loss = (decode_value(contour[k]) for k in ("w1", "w2", "loss"))
        ax = merge_axes(Axes(x_range=[w1[0], w1[-1], 1], y_range=[w2[0], w2[-1], 1], x_length=4.0, y_length=4.0, tips=False,
                  axis_config={"color": style.MUTED, "include_numbers": True, "font_size": 16}))
        ax.move_to((GRAPH_CENTER_Y - 0.2) * UP + 3.0 * LEFT)
        # Brighter is lower loss; a log scale shows the narrow valley that forces the zig-zag.
        level = np.log10(loss + 1e-9)
        shade = 1 - (level - level.min()) / max(level.max() - level.min(), 1e-12)
        image = shade_bands(ax, w1, w2, shade.T)
        names = VGroup(merge_glyphs(MathTex("w_1", font_size=30)).next_to(image, RIGHT, buff=0.15).align_to(ax.c2p(0, 0), DOWN),
                       merge_glyphs(MathTex("w_2", font_size=30)).next_to(image, UP, buff=0.1).align_to(ax.c2p(0, 0), LEFT))
        return ax, names, image

    @staticmethod
    def allowed_quadrants(ax: Axes, p: np.ndarray) -> VGroup:
        """The up-right and down-left quadrants from ``p``, cut to the plot so they never cover the title."""
        c = ax.c2p(*p)
        lo, hi = ax.c2p(ax.x_range[0], ax.y_range[0]), ax.c2p(ax.x_range[1], ax.y_range[1])
        far = np.clip(c + 1.2 * np.array([1, 1, 0]), lo, hi), np.clip(c - 1.2 * np.array([1, 1, 0]), lo, hi)
        color = style.ACTIVATION["sigmoid"]
        return VGroup(*(Polygon(c, [f[0], c[1], 0], [f[0], f[1], 0], [c[0], f[1], 0], fill_color=color,
                                fill_opacity=0.3, stroke_width=0) for f in far))

    @staticmethod
    def path(ax: Axes, weights: np.ndarray, color) -> list:
        return [Line(ax.c2p(*a), ax.c2p(*b), color=color, stroke_width=3) for a, b in zip(weights, weights[1:])]


class GradientHistograms(GraphScene):
    """Per-layer histograms of weight gradients from one backward pass, one row per activation."""

    default_source = "assets/configs/histograms.yaml"

    def story(self, trace: dict):
        self.show_title(trace)
        runs = trace["runs"]
        n_layers = len(runs[0]["histograms"])
        cell_w, cell_h = min(2.3, 11.5 / n_layers), min(1.6, 3.2 / len(runs))
        rows = VGroup()
        for run in runs:
            cells = VGroup(*(self.histogram(h, cell_w, cell_h) for h in run["histograms"])).arrange(RIGHT, buff=0.3)
            name = label(ACT_NAMES[run["activation"]], 24, style.ACTIVATION[run["activation"]])
            rows.add(VGroup(name, cells).arrange(RIGHT, buff=0.35))
        rows.arrange(DOWN, buff=0.45, aligned_edge=RIGHT)
        heads = VGroup(*(label(f"layer {h['layer']}", 18, style.MUTED).next_to(c[0], UP, buff=0.1)
                         for h, c in zip(runs[0]["histograms"], rows[0][1])))
        board = VGroup(heads, rows)
        board.scale(min(1.0, 13 / board.width, 4.4 / board.height)).move_to(GRAPH_CENTER_Y * UP)
        self.set_caption(style.caption("hist_intro"))
        for row in rows:
            self.play(fade_in(row), run_time=0.8)
        self.play(fade_in(heads), run_time=0.4)
        self.wait(0.5)
        # Each activation's last layer in turn: its sign counts, and what one sign means for the update.
        box = None
        for run, row in zip(runs, rows):
            last = run["histograms"][-1]
            signs = (last["positive"] > 0) + (last["negative"] > 0)
            new_box = SurroundingRectangle(row[1][-1], color=style.HIGHLIGHT, buff=0.06)
            self.play(Create(new_box) if box is None else Transform(box, new_box), run_time=0.6)
            box = box or new_box
            self.set_caption(style.caption(("hist_zero", "hist_one_sign", "hist_mixed")[signs],
                                           name=ACT_NAMES[run["activation"]], pos=last["positive"],
                                           neg=last["negative"]))
            self.wait(1.8)

    @staticmethod
    def histogram(h: dict, w: float, height: float) -> VGroup:
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
        merge_shapes(bars)
        zero_x = frame.get_left()[0] + w * (0 - edges[0]) / (edges[-1] - edges[0])
        zero = Line([zero_x, frame.get_bottom()[1], 0], [zero_x, frame.get_top()[1], 0], color=style.TEXT, stroke_width=2)
        signs = label(f"{h['positive']}+  {h['negative']}−", 16, style.TEXT).next_to(frame, DOWN, buff=0.08)
        return VGroup(frame, bars, zero, signs)


SCENES = {"vanishing": VanishingGradients, "zigzag": SigmoidZigZag, "histograms": GradientHistograms}
