"""The computational graph of a trace as a Manim mobject, with its own forward and backward animations.

Every number it draws is read from the trace. Forward values sit above each edge, gradients below it
(cs231n's convention); the output has a short edge of its own to carry its value and the seed 1.
"""
from __future__ import annotations

import functools

import numpy as np
from manim import (DL, DOWN, LEFT, ORIGIN, RIGHT, UP, AnimationGroup, Circle, Succession, UR,
                   Text, VGroup, VMobject, Wait)
from manim.mobject.geometry.arc import TipableVMobject
from manim.mobject.geometry.tips import ArrowTriangleFilledTip

from . import style
from .animations import Pulse, fade_in
from .glyphs import merge_glyphs
from .layout import SINK, NodeSpec, layout_graph
from .notation import Notation
from .trace_data import GraphTrace, TraceNode

LABEL_FONT = 22
MIN_UNIT = 10 / (0.16 * 60)  # scene units per layout inch: a scalar label's 0.16 in digits are 10 px at 854x480
SPACINGS = (1.0, 0.6, 0.35, 0.15)  # dot's gaps, tighter and tighter until the graph fits at MIN_UNIT
GATE, NAMED_GATE = 0.56, 0.6  # circle diameters, inches
# inches: a scalar edge's label box, and its room at either end: tight to fit a graph to the frame; a graph
# that pans anyway gets the roomier boxes, whose labels stay clear of where the edge bends out of its box
TIGHT_BOX, ROOMY_BOX = (0.5, 0.03), (0.8, 0.08)
# A gate's word has at least this x-height in scene units (10 px at 854x480, 60 px a unit); its circle is
# made wide enough for that at the smallest scale, MIN_UNIT.
WORD_X_HEIGHT = 10 / 60
LEAF_HEIGHT = 0.3  # inches: an input's name, with its shape if shown
GAP_REACH = 0.05  # inches of dot's least gap between ranks (8 pt) that a compact layout's labels may take
NAME_LINE = 0.32  # inches: a line of a name on lines, ascenders to descenders (its x-height 10 px at MIN_UNIT)
MAX_ENTRIES_ON_EDGE = 4  # a 2-vector or a 2×2 matrix reads on an edge at 854x480; more do not
COMMUTATIVE = {"add", "mul", "max", "min"}  # their inputs may be drawn in any order (dot picks the uncrossed one)
MATRIX_UNIT = 1.2  # below this many scene units per layout inch a matrix's entries are under 8 px at 854x480


def bezier_points(points: np.ndarray, samples: int) -> np.ndarray:
    """Points (x, y, z) along a path's cubic Bézier pieces, ``samples`` a piece, piece after piece (in order
    along the path)."""
    n = len(points) // 4 * 4
    curves = points[:n].reshape(-1, 4, 3)
    t = np.linspace(0, 1, samples)[None, :, None]
    return ((1 - t) ** 3 * curves[:, None, 0] + 3 * (1 - t) ** 2 * t * curves[:, None, 1]
            + 3 * (1 - t) * t ** 2 * curves[:, None, 2] + t ** 3 * curves[:, None, 3]).reshape(-1, 3)


class SplineEdge(TipableVMobject):
    """An edge along dot's cubic B-spline, with an arrow tip at its head."""


def _natural_width(text: str) -> float:
    """Width in layout inches of a scalar label whose digits are 0.16 tall (10 px at 854x480 when one layout
    inch is MIN_UNIT scene units: readable, and small enough that cs231n's sigmoid neuron, a chain of eight
    gates, fits the frame's width)."""
    return style.once(Text, text, font_size=LABEL_FONT, font=style.FONTS["en"]).width * 0.16 / _digit_height()


@functools.cache
def _symbol_size(symbol: str) -> tuple[float, float]:
    """Width and height of a gate's symbol at its font size, before it is fitted to its circle."""
    text = _word(symbol)
    return text.width, text.height


def _word(symbol: str, **kwargs) -> Text:
    """A gate's symbol or word (on two lines if it holds a line break)."""
    lines = {"line_spacing": 0.6} if "\n" in symbol else {}
    return style.once(Text, symbol, font_size=30, font=style.FONTS["en"], **lines, **kwargs)


@functools.cache
def _x_height() -> float:
    return Text("x", font_size=30, font=style.FONTS["en"]).height


@functools.cache
def _digit_height() -> float:
    return Text("0", font_size=LABEL_FONT, font=style.FONTS["en"]).height


@functools.cache
def _name_line_height() -> float:
    """A line of a name from its ascenders to its descenders (fc1.weight's f to its g) at font size 40."""
    return style.math(r"\mathrm{fg}", font_size=40).height


@functools.cache
def _reference_tag_height() -> float:
    return style.math("q_{1}", font_size=30).height


def is_chip(value, every_matrix: bool = False) -> bool:
    """A matrix too large to read on an edge: the edge shows its shape, the equation area its entries.
    ``every_matrix``: the graph is drawn too small for any matrix to read on it."""
    if np.ndim(value) == 0:
        return False
    if every_matrix:
        return True
    shape = np.shape(value) if np.ndim(value) >= 2 else (np.size(value), 1)  # vectors are drawn as columns
    fits = shape[-1] == 1 or shape == (2, 2)  # a column, or a 2x2: a row of signed numbers is too wide
    return not fits or np.size(value) > MAX_ENTRIES_ON_EDGE


VECTOR_EXPONENT = 0.85  # of the digits' size: an exponent as readable as the numbers beside it


def vector_space_label(size: int, gradient: bool, color, partial: str = "∂ ") -> list[Text]:
    """ℝ³ (∂ ℝ³ for a gradient) on an edge: the exponent a digit of nearly full size, raised a third of a
    digit, so that it reads as large as the labels' numbers (a typeset superscript would be a third smaller)."""
    base = merge_glyphs(style.once(Text, (partial if gradient else "") + "ℝ", font_size=LABEL_FONT, color=color,
                             font=style.FONTS["en"]))
    exponent = merge_glyphs(style.once(Text, str(size), font_size=LABEL_FONT, color=color, font=style.FONTS["en"]))
    exponent.scale(VECTOR_EXPONENT).next_to(base, RIGHT, buff=0.02).align_to(base, DOWN)
    exponent.shift(0.35 * exponent.height * UP)
    for part in (base, exponent):
        part.audit_kind = "gradient" if gradient else "value"
    return [base, exponent]


class EdgeLabel(VGroup):
    """A number or small matrix written beside an edge, in the forward or gradient colour; a larger matrix
    as its shape (2×3, or ∂ 2×3 for a gradient), its entries shown in the equation area during its step."""

    def __init__(self, value: np.ndarray, gradient: bool, chip: bool = False, compact: bool = False):
        super().__init__()
        partial = "∂\u2009" if compact else "∂ "  # compact: a thin space (a network's seven boxes in a row)
        self.audit_kind = "gradient" if gradient else "value"
        color = style.GRADIENT if gradient else style.FORWARD
        if (chip or is_chip(value)) and np.ndim(value) == 1:  # a vector as its space, R^3: never a bare 3
            self.add(*vector_space_label(np.size(value), gradient, color, partial))
        elif chip or is_chip(value):
            chip = (partial if gradient else "") + style.shape_text(value)
            self.add(merge_glyphs(style.once(Text, chip, font_size=LABEL_FONT, color=color, font=style.FONTS["en"])))
        elif np.ndim(value) == 0:
            text = style.fmt_grad(float(value)) if gradient else style.fmt_value(float(value))
            self.add(merge_glyphs(style.once(Text, text, font_size=LABEL_FONT, color=color, font=style.FONTS["en"])))
        else:
            self.add(merge_glyphs(style.math(style.latex_array(value, signed=gradient), color=color, font_size=LABEL_FONT + 4)))


def _label_size_inches(value: np.ndarray, every_matrix: bool = False) -> tuple[float, float]:
    """Room dot should keep beside an edge for its two labels (value above, gradient below)."""
    if np.ndim(value) == 0 or is_chip(value, every_matrix):
        return 0.8, 0.5
    rows = value.shape[0]
    cols = 1 if value.ndim == 1 else value.shape[1]
    return 0.16 + 0.66 * cols, 2 * (0.1 + 0.25 * rows)


# torch's op names on two lines where they break into words (add·mm: an add and a matrix product)
WORD_BREAKS = {"addmm": "add\nmm", "logsm": "log\nsm"}


def word_lines(symbol: str) -> str:
    """A gate's word on two lines, for a graph too wide for the frame: at its words' seam (add over mm) or
    after an underscore (nll_ over loss); a sign or a short word stays on one line."""
    if symbol in WORD_BREAKS:
        return WORD_BREAKS[symbol]
    head, sep, tail = symbol.rpartition("_")
    return f"{head}_\n{tail}" if sep and head and tail and len(symbol) > 5 else symbol


def _chip_size(label: EdgeLabel) -> tuple[float, float]:
    """Width and height in layout inches of a shape label whose smallest glyph (a digit, or ℝ³'s exponent)
    is a scalar label's digit, 0.16 inches: 10 px at 854x480 at MIN_UNIT."""
    smallest = VECTOR_EXPONENT if len(label.submobjects) > 1 else 1.0  # ℝ and its exponent: two parts
    k = 0.16 / (_digit_height() * smallest)
    return label.width * k, label.height * k


class ComputationalGraph(VGroup):
    """Gates as circles, inputs and constants as labels, edges as dot's splines."""

    def __init__(self, trace: GraphTrace, width: float, height: float, center=ORIGIN, show_shapes: bool = False,
                 pannable: bool = False):
        super().__init__()
        self.trace = trace
        self.pannable = pannable  # may be drawn wider than ``width`` (the scene pans) to keep labels readable
        self.in_view = None  # set by a scene that pans: labels made outside the view are not shown
        self.offstage: list = []
        self.notation = Notation(trace)
        self.leaf_mobs: dict[str, VGroup] = {}
        self.gate_mobs: dict[str, VGroup] = {}
        self.circles: dict[str, Circle] = {}
        self.name_tags: dict[str, VMobject] = {}  # a gate's name (q1) under its symbol, where it shows one
        self.edges: dict[tuple[str, str, int], VMobject] = {}
        self.value_labels: dict[tuple[str, str, int], EdgeLabel] = {}
        self.grad_labels: dict[tuple[str, str, int], EdgeLabel] = {}
        self._label_anchor: dict[tuple[str, str, int], np.ndarray] = {}
        self.chips_only = False  # every matrix as its shape: set when the graph is drawn too small for them
        self._expect_formulas(show_shapes)
        self._build(width, height, np.asarray(center, dtype=float), show_shapes)
        if self.unit < MATRIX_UNIT and any(np.ndim(self.trace.nodes[k[0]].value) and not is_chip(
                self.trace.nodes[k[0]].value) for k in self._edge_keys()):
            self.chips_only = True
            self.submobjects = []
            for store in (self.leaf_mobs, self.gate_mobs, self.circles, self.name_tags, self.edges,
                          self._label_anchor):
                store.clear()
            self._build(width, height, np.asarray(center, dtype=float), show_shapes)

    def _expect_formulas(self, show_shapes: bool):
        """Announce the graph's formulas before the first is built (a render typesets them in one LaTeX run,
        scenes.style.expect_math): the inputs' names either way they may be written, the gates' names, and
        the matrices written on its edges, forward and backward."""
        t, n = self.trace, self.notation
        texs = [self._leaf_tex(node, show_shapes, compact)[0] for node in t.nodes.values() if node.is_leaf
                for compact in (False, True)]
        texs += [n.tex(node.id) for node in t.nodes.values() if not node.is_leaf and n.shows_name(node.id)]
        values = [(n.value(node.id), False) for node in t.nodes.values()]
        values += [(n.downstream(step, slot), True) for step in t.backward
                   for slot, down in enumerate(step.downstream) if down is not None]
        texs += [style.latex_array(v, signed) for v, signed in values if np.ndim(v) and not is_chip(v)]
        texs += [r"\mathrm{fg}", "q_{1}"]  # what the names are measured by (_name_line_height, _reference_tag_height)
        style.expect_math(texs)  # one LaTeX run: their sizes and colours are set after LaTeX, not in it

    def is_chip(self, value) -> bool:
        """Whether this graph draws ``value`` as its shape on an edge (its entries go in the equation area)."""
        return is_chip(value, self.chips_only)

    # --- construction -------------------------------------------------------------------------
    def _edge_keys(self) -> list[tuple[str, str, int]]:
        keys = []
        for n in self.trace.nodes.values():
            for slot, src in enumerate(n.inputs):
                keys.append((src, n.id, slot))
        keys.append((self.trace.output, SINK, 0))
        return keys

    def _specs(self, show_shapes: bool, compact: bool):
        """What dot is asked to place (and each leaf's label, built at its size in layout inches, so that dot
        keeps a box as large as the label itself). ``compact``: a network's long names on lines (fc1. over
        weight) and its long op names on two (add over mm), for a graph that would not fit the frame else."""
        specs, leaves, self.word_lines = [], {}, {}
        for n in self.trace.nodes.values():
            if n.is_leaf:
                mob = leaves[n.id] = self._leaf_mobject(n, show_shapes, compact)
                if len(mob.lines) == 1:
                    mob.scale_to_fit_height(min(mob.height, LEAF_HEIGHT))
                # (compact: a thin margin, dot keeps 8 pt between ranks anyway)
                margin = 0.04 if compact else 0.12
                specs.append(NodeSpec(n.id, "leaf", n.label, mob.width + margin, height=max(0.34, mob.height + 0.04)))
            else:
                # a gate named here (q1, ...) carries its name inside its circle, below the symbol
                # (a word such as relu or tanh gets a wider circle, so that it reads as large as a sign)
                named = self.notation.shows_name(n.id)
                size = NAMED_GATE + 0.06 * max(0, len(n.symbol) - 2) if named else GATE
                # a long word (a torch op's name: layer_norm) widens its circle until it reads at WORD_X_HEIGHT
                word = self.word_lines[n.id] = word_lines(n.symbol) if compact else n.symbol
                word_width, word_height = (v / _x_height() * WORD_X_HEIGHT / MIN_UNIT for v in _symbol_size(word))
                size = max(size, word_width / (0.78 if named else 0.82))
                if word != n.symbol:  # two lines and the name under them: the circle around the block
                    size = max(size, float(np.hypot(word_width, word_height + (0.25 if named else 0))))
                specs.append(NodeSpec(n.id, "gate", n.symbol, size, ordered=n.op not in COMMUTATIVE))
        return specs, leaves

    def _build(self, width, height, center, show_shapes):
        t = self.trace
        # A wide graph drawn to the frame's width shrinks its labels with it: tighten dot's spacing until
        # one layout inch is at least MIN_UNIT scene units (labels and gate symbols then read at preview);
        # then write its long names on lines; a graph that pans anyway gets roomier label boxes.
        for self._compact, self._box in ((False, TIGHT_BOX), (True, TIGHT_BOX), (False, ROOMY_BOX)):
            specs, leaves = self._specs(show_shapes, self._compact)
            self._sizes = {key: self._label_size(key) for key in self._edge_keys()}
            # compact: a label may reach GAP_REACH into the 8 pt dot leaves between ranks at the least
            reach = 2 * GAP_REACH if self._compact else 0.0
            edge_specs = [(s, h, (self._sizes[(s, h, slot)][0] - reach, self._sizes[(s, h, slot)][1]))
                          for s, h, slot in self._edge_keys()[:-1]]
            self.layout_input = (specs, edge_specs)  # what dot was asked (tests lay it out again)
            least = self._least_unit()
            for spacing in SPACINGS:
                lay = layout_graph(specs, edge_specs, t.output, spacing)
                scale = min(width / lay.width, height / lay.height, 2.3)
                if scale >= least:
                    break
            if scale >= least or not self.pannable:
                break
        if self.pannable and scale < least:  # wider than the frame: as large as the height allows
            scale = min(least, height / lay.height, 2.3)
        self.unit = scale
        self.layout = lay  # dot's geometry in layout inches (tests read its crossings)

        def to_scene(x, y):
            return center + np.array([(x - lay.width / 2) * scale, (y - lay.height / 2) * scale, 0.0])

        for n in t.nodes.values():
            box = lay.nodes[n.id]
            pos = to_scene(box.x, box.y)
            if n.is_leaf:
                mob = leaves[n.id].scale(scale).move_to(pos)
                self.leaf_mobs[n.id] = mob
            else:
                circle = Circle(radius=box.w / 2 * scale, color=style.NODE_STROKE, stroke_width=3).move_to(pos)
                self.circles[n.id] = circle
                sym = merge_glyphs(_word(self.word_lines[n.id], color=style.TEXT))
                named = self.notation.shows_name(n.id)
                sym.scale_to_fit_width(min(sym.width, (0.78 if named else 0.82) * box.w * scale)).move_to(pos)
                sym.audit_kind = "gate"
                if self.word_lines[n.id] != n.symbol and not named:  # two lines: their x-height at the floor
                    sym.scale_to_fit_height(min(sym.height, WORD_X_HEIGHT * _symbol_size(self.word_lines[n.id])[1]
                                                / _x_height())).move_to(pos)
                mob = VGroup(circle, sym)
                mob.gate_circle = circle  # where the gate is while a pan hides its parts
                if named:  # the name the equations use for this gate (q1, ...)
                    tag = merge_glyphs(style.math(self.notation.tex(n.id), color=style.MUTED, font_size=30))
                    # every name at one font size (that of q_1 at 0.225 inches), narrowed only to fit its circle
                    tag.scale(0.225 * scale / _reference_tag_height())
                    tag.scale_to_fit_width(min(tag.width, 0.8 * box.w * scale))
                    # 0.22 inches high, or as high as a word must be for its x-height to read at this scale
                    word = any(c.isascii() and c.isalpha() for c in n.symbol)
                    lines = self.word_lines[n.id]
                    cap = max(0.22 * scale, WORD_X_HEIGHT * _symbol_size(lines)[1] / _x_height() if word else 0)
                    sym.scale_to_fit_height(min(sym.height, cap)).move_to(pos + 0.09 * scale * UP)
                    tag.move_to(pos + 0.14 * scale * DOWN)
                    # a tall name (f) clear of the symbol above it
                    tag.shift(max(0.0, tag.get_top()[1] - sym.get_bottom()[1] + 0.02 * scale) * DOWN)
                    if lines != n.symbol:  # a word on two lines: the word and the name centred as one block
                        VGroup(sym, tag).move_to(pos)
                    tag.audit_kind = "name"
                    self.name_tags[n.id] = tag
                    mob.add(tag)
                self.gate_mobs[n.id] = mob
            self.add(mob)

        # layout_graph returns the edges in the order given, the output's own edge last.
        for key, e in zip(self._edge_keys(), lay.edges):
            pts = [to_scene(x, y) for x, y in e.points]
            curve = SplineEdge(color=style.NODE_STROKE, stroke_width=2.5)
            curve.audit_obstacle = True
            curve.start_new_path(pts[0])
            for i in range(1, len(pts) - 2, 3):
                curve.add_cubic_bezier_curve_to(pts[i], pts[i + 1], pts[i + 2])
            curve.add_tip(tip_shape=ArrowTriangleFilledTip, tip_length=0.14 * scale, tip_width=0.12 * scale)
            self.edges[key] = curve
            self._label_anchor[key] = to_scene(*e.label)
            self.add(curve)

    def _label_size(self, key) -> tuple[float, float]:
        """Room for an edge's two labels: a scalar's as wide as its longer number at the labels' height."""
        value = self.trace.nodes[key[0]].value
        if np.ndim(value) and self.is_chip(value) and self._compact:
            # in a compact layout, a shape (2×3, ∂ 2×3, ℝ²): as wide as its wider label when its smallest glyph
            # reads at 10 px, not a fixed 0.8 inch (seven such boxes in a row are a network's graph's width)
            sizes = [_chip_size(EdgeLabel(value, gradient, chip=True, compact=True)) for gradient in (False, True)]
            w = max(size[0] for size in sizes) + 2 * self._box[1]
            return max(self._box[0], w), max(0.5, 2 * (max(size[1] for size in sizes) + 0.06))
        w, h = _label_size_inches(value, self.chips_only)
        if np.ndim(value):
            return w, h
        texts = [style.fmt_value(float(self.notation.value(key[0])))]
        step = next((s for s in self.trace.backward if s.node == key[1]), None)
        if step is not None and step.downstream[key[2]] is not None:
            texts.append(style.fmt_grad(float(self.notation.downstream(step, key[2]))))
        if key[1] == SINK:
            texts.append(style.fmt_grad(1.0))  # the seed
        # as wide as the longer number and a little more at each end: every inch of a long chain's width
        # that a box does not need is lost to the labels' size when the graph is fitted to the frame
        widest = max(_natural_width(t) for t in texts)
        return max(self._box[0], widest + 2 * self._box[1]), h

    @staticmethod
    def _leaf_tex(n: TraceNode, show_shapes: bool, compact: bool) -> tuple[str, list[str]]:
        """An input's name as a formula, and its lines (a parameter's name broken after its dot: compact)."""
        lines = style.parameter_lines(n.label, n.attrs.get("module")) if compact else [n.label]
        if len(lines) > 1:
            if show_shapes and np.ndim(n.value):
                lines.append(style.latex_shape(n.value))
            return r"\begin{array}{c}" + r" \\ ".join(lines) + r"\end{array}", lines
        tex = style.node_tex(n.label, n.value, n.attrs.get("module"))
        if show_shapes and np.ndim(n.value):
            tex += r"\,{\scriptstyle " + style.latex_shape(n.value) + "}"
        return tex, lines

    def _leaf_mobject(self, n: TraceNode, show_shapes: bool, compact: bool = False) -> VGroup:
        """An input's name (with its shape beside it if shown). A torch parameter's name, as long as three
        gates are wide (fc1.weight), is broken after its dot and its shape goes on a line of its own, each
        line as large as the name on one line would be drawn: a network's graph then fits the frame."""
        color = style.TEXT if n.op == "input" else style.MUTED
        tex, lines = self._leaf_tex(n, show_shapes, compact)
        mob = VGroup(merge_glyphs(style.math(tex, color=color, font_size=40)))
        if len(lines) > 1:
            mob.scale(NAME_LINE / _name_line_height())
        mob.lines = lines
        mob.audit_kind = "name"
        return mob

    # --- labels ---------------------------------------------------------------------------------
    def _fit(self, label: EdgeLabel, key) -> float:
        """Layout inches per unit of ``label``'s size when it fills the half of its edge's box it is placed in."""
        w, h = self._sizes[key]
        # a margin at both ends: the edge curves away from its straight run as soon as it leaves the box
        value = self.trace.nodes[key[0]].value
        chip = np.ndim(value) > 0 and self.is_chip(value) and self._compact
        scalar = np.ndim(value) == 0
        max_w, max_h = w - (2 * self._box[1] if scalar or chip else 0.12), h / 2 - 0.06
        if scalar:
            max_h = min(max_h, 0.2)  # one line of digits, not the whole half box
        return min(max_w / label.width, max_h / label.height)

    def _least_unit(self) -> float:
        """The fewest scene units per layout inch at which every label of this tier reads: MIN_UNIT, or more
        where a vector's ℝ³ fills its box with an exponent smaller than a scalar label's 0.16 inch digits
        (a normal tier's fixed 0.8 x 0.5 inch box holds ℝ³ with 0.14 inch exponents: 9 px at MIN_UNIT)."""
        least = MIN_UNIT
        for key in self._edge_keys():
            value = self.trace.nodes[key[0]].value
            if np.ndim(value) != 1 or not self.is_chip(value):
                continue
            for gradient in (False, True):
                label = EdgeLabel(value, gradient, chip=True, compact=self._compact)
                exponent = self._fit(label, key) * _digit_height() * VECTOR_EXPONENT  # inches
                least = max(least, MIN_UNIT * 0.16 / exponent * (1 - 1e-9))  # (rounding: 0.16 may be met exactly)
        return least

    def _place(self, label: EdgeLabel, key, above: bool) -> EdgeLabel:
        """Fit a label into the half of the box dot reserved beside the edge, above or below its line."""
        label.scale(self._fit(label, key) * self.unit)
        anchor = self._label_anchor[key]
        label.move_to(anchor)
        # The edge runs through the box's middle: value above the line, gradient below it, clear of the
        # line wherever it runs under (or over) the label, including where it bends out of the box.
        self._clear_own_edge(label, key, above)
        if self._crossed_by_others(label, key):
            # Dot keeps a label's box clear of the other edges only at its own rank: an edge that leaves the
            # same node (graph30's z -> a and z -> q8) can still run through the half box beside the line.
            # Slide the label along its own edge, nearest place first, to where no other edge crosses it.
            self._slide_clear(label, key, above)
        return label

    def _clear_own_edge(self, label: EdgeLabel, key, above: bool, pad: float = 0.05) -> None:
        """Above or below the edge's line, ``pad`` inches clear of it wherever it runs under (or over) the label."""
        under = self._edge_ys(key, label.get_left()[0] - 0.03, label.get_right()[0] + 0.03)
        y = self._label_anchor[key][1]
        if above:
            label.shift((max(under, default=y) + pad * self.unit - label.get_bottom()[1]) * UP)
        else:
            label.shift((min(under, default=y) - pad * self.unit - label.get_top()[1]) * UP)

    def _slide_clear(self, label: EdgeLabel, key, above: bool) -> None:
        """Move the label sideways within its edge's span, nearest place first, and if need be closer to its
        own line, to where no other edge crosses it; left where it was when there is no such place."""
        start = label.get_center().copy()
        xs = self.curve_points(key)[:, 0]
        lo, hi = xs.min() - label.get_left()[0], xs.max() - label.get_right()[0]  # how far it may go
        step = 0.02 * self.unit
        shifts = sorted(np.arange(lo, hi + step / 2, step), key=abs) if lo <= hi else []
        for pad in (0.05, 0.04, 0.03):
            for dx in shifts:
                label.move_to(start + dx * RIGHT)
                self._clear_own_edge(label, key, above, pad)
                if not self._crossed_by_others(label, key):
                    return
        label.move_to(start)

    def _crossed_by_others(self, label: EdgeLabel, key) -> bool:
        """Whether another edge's curve runs through the label's box (as the screen audit tests it)."""
        m = 1.5 / 60  # scene units: 1.5 px at 854x480, inside the audit's 2 px
        x0, y0 = label.get_corner(DL)[:2] + m
        x1, y1 = label.get_corner(UR)[:2] - m
        for other in self.edges:
            if other == key:
                continue
            pts = self.curve_points(other, samples=32)
            if np.any((pts[:, 0] > x0) & (pts[:, 0] < x1) & (pts[:, 1] > y0) & (pts[:, 1] < y1)):
                return True
        return False

    def curve_points(self, key, samples: int = 12) -> np.ndarray:
        """Points (x, y, z) along an edge as it is drawn now, ``samples`` a Bézier piece."""
        return bezier_points(self.edges[key].points, samples)

    def _edge_ys(self, key, x0: float, x1: float) -> list[float]:
        """Heights of the edge's curve between x0 and x1 (sampled along its Bézier pieces)."""
        return [float(y) for x, y, _ in self.curve_points(key) if x0 <= x <= x1]

    def value_label(self, key) -> EdgeLabel:
        if key not in self.value_labels:
            value = self.notation.value(key[0])
            label = EdgeLabel(value, gradient=False, chip=self.is_chip(value), compact=self._compact)
            self.value_labels[key] = self._place(label, key, above=True)
        return self.value_labels[key]

    def grad_label(self, key, grad: np.ndarray) -> EdgeLabel:
        label = EdgeLabel(grad, gradient=True, chip=self.is_chip(grad), compact=self._compact)
        self.grad_labels[key] = self._place(label, key, above=False)
        return self.grad_labels[key]

    def _on_stage(self, labels: list) -> list:
        """The labels ``in_view`` accepts (all when not panned); the others wait in ``offstage``."""
        if self.in_view is None:
            return labels
        shown = [lab for lab in labels if self.in_view(lab)]
        self.offstage += [lab for lab in labels if not self.in_view(lab)]
        return shown

    def text_parts(self) -> list[tuple[VGroup, VMobject]]:
        """(parent, part) for every name, gate symbol and gate circle drawn in the graph: what a pan hides
        rather than show it cut by the frame's edge."""
        parts = [(self, mob) for mob in self.leaf_mobs.values()]
        for gate in self.gate_mobs.values():
            parts += [(gate, m) for m in gate.submobjects]
        return parts

    def extent(self) -> tuple[float, float]:
        """Left and right of the whole graph, names hidden by a pan included."""
        mobs = [*self.edges.values(), *self.leaf_mobs.values(), *self.gate_mobs.values()]
        return min(m.get_left()[0] for m in mobs), max(m.get_right()[0] for m in mobs)

    def shift_anchors(self, dx: float, dy: float = 0.0) -> None:
        """After the graph moved: labels not made yet are placed where their edges now are."""
        for key in self._label_anchor:
            self._label_anchor[key] = self._label_anchor[key] + dx * RIGHT + dy * UP

    def drawn_height(self) -> float:
        """The height dot laid the graph out in, label boxes included (the labels drawn later stay inside)."""
        return self.layout.height * self.unit

    def anchor_x(self, key) -> float:
        return float(self._label_anchor[key][0])

    def labels(self) -> list[EdgeLabel]:
        """Every label drawn so far (they live in the scene beside the graph, not inside it)."""
        return [*self.value_labels.values(), *self.grad_labels.values()]

    def out_edges(self, node_id: str) -> list[tuple[str, str, int]]:
        return [k for k in self.edges if k[0] == node_id]

    def node_mobject(self, node_id: str) -> VMobject:
        """Where a node is: a gate's circle (placed even while a pan hides it), or an input's name."""
        return self.circles[node_id] if node_id in self.circles else self.leaf_mobs[node_id]

    # --- animations -----------------------------------------------------------------------------
    def forward_animation(self, node_id: str, run_time: float = 0.6):
        """The node computes: its value appears on every outgoing edge."""
        labels = [self.value_label(k) for k in self.out_edges(node_id)]
        anims = [fade_in(lbl, shift=0.1 * RIGHT) for lbl in self._on_stage(labels)]
        if node_id in self.gate_mobs:
            anims.insert(0, Pulse(self.gate_mobs[node_id], color=style.FORWARD, scale_factor=1.15))
        return AnimationGroup(*anims, run_time=run_time)

    def seed_animation(self):
        """The backward pass starts with df/df = 1 on the output's edge."""
        key = self.out_edges(self.trace.output)[0]
        return fade_in(self.grad_label(key, np.ones_like(self.trace.nodes[self.trace.output].value)), shift=0.1 * LEFT)

    def backward_animation(self, step, run_time: float = 1.0):
        """One gate: its upstream gradient is multiplied by each local gradient and flows to the inputs."""
        node = self.trace.nodes[step.node]
        upstream = [self.grad_labels[k] for k in self.out_edges(step.node) if k in self.grad_labels]
        flows = []
        for slot, (src, down) in enumerate(zip(node.inputs, step.downstream)):
            if down is None:
                continue
            label = self.grad_label((src, step.node, slot), self.notation.downstream(step, slot))
            # The product slides from the upstream gradient's place to its own edge as it appears.
            origin = VGroup(*upstream).get_center() if upstream else label.get_center()
            if self._on_stage([label]):
                flows.append(fade_in(label, shift=label.get_center() - origin))
        pulse = Pulse(self.gate_mobs[step.node], color=style.HIGHLIGHT, scale_factor=1.15, run_time=0.4 * run_time)
        if not flows:  # every label it makes is out of view (a panned graph): they come in with the pan
            return Succession(pulse, Wait(0.6 * run_time))
        return Succession(pulse, AnimationGroup(*flows, run_time=0.6 * run_time))
