"""The screen audit: what a viewer can pause on, recorded and checked.

The scene is built as for a still (Manim skips drawing the animations' frames) and, at the end of every
animation, every piece of text and formula in the scene is recorded: its string, its kind (caption,
value, gradient, equation...), its box and glyph height in pixels at the chosen quality, its colour and
the colour under it. `checks` then reports what a viewer could not read or would be misled by.

Nothing here computes a gradient: the equation check compares what a formula claims with the trace.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass, field

import numpy as np
from manim import (Arrow, Axes, DecimalNumber, MarkupText, Mobject, Paragraph, SingleStringMathTex, Text, VMobject,
                   config)

from manim_patches.undrawn import SnapshotRenderer
from pipeline.render_job import QUALITIES
from scenes.graph_mobject import ComputationalGraph, SplineEdge, bezier_points

from audit.glyph_metrics import GLYPH_PER_POINT, MIN_GLYPH_PX_AT_480, TEX_COMMAND, glyph_kind  # noqa: F401 (re-exported)


def min_glyph_px(pixel_height: int) -> float:
    return MIN_GLYPH_PX_AT_480 * pixel_height / 480


MIN_GLYPH_PX = {name: min_glyph_px(q.height) for name, q in QUALITIES.items()}
# TeX sets a superscript or subscript in \scriptstyle: its digits are 0.696 of the text-style digits'
# height (MathTex "{}^{0}" against "0"). Unicode super- and subscript characters (², ᵀ) have the font's own
# sizes, measured when met.
TEX_SCRIPT = 0.696
# a script's argument: one character, or a group (one level of groups inside it: _{\text{rows}}, _{w_{0} \to q})
TEX_SCRIPT_ARG = re.compile(r"[\^_](\{(?:[^{}]|\{[^{}]*\})*\}|\\?[A-Za-z0-9+\-])")
TEXT_SIZE_SCRIPT = re.compile(r"\{\\(textstyle|displaystyle)\b")  # a script set at the text's size on purpose
SCRIPT_CHARS = re.compile("[\u00b2\u00b3\u00b9\u2070-\u209f\u1d2c-\u1d6a\u1d9c-\u1dbf]")
MIN_CONTRAST = 4.5  # WCAG 2.x AA for normal text
SAFE_MARGIN = 0.02  # of the frame's width and height: a player's controls and TV overscan
OVERLAP_TOLERANCE_PX = 1.0
# A graph this small (constants included) fits the frame at a readable size: every name stays in view,
# unless it is provably too deep for that at the 10 px floor (audit/graph_width.py, from the trace alone).
WHOLE_GRAPH_NODES = 20
STROKE_SAMPLES = 12  # points per Bézier piece of a curve
# A curve shows itself where its whole stroke is clear of every stroke drawn over it, by a pixel, for at
# least MIN_OWN_CURVE_PX of its length. A sliver beside a brighter line (ReLU's derivative 1.5 px from
# leaky ReLU's) or a few pixels where curves cross is a curve a viewer cannot find.
OWN_PIXEL_PX, MIN_OWN_CURVE_PX = 1.0, 8.0


@dataclass
class TextRecord:
    string: str
    kind: str
    bbox: list[float]  # x0, y0, x1, y1 in pixels, y downwards
    height_px: float  # glyph height: x-height, or the digits' or Hangul's height where there is no lower case
    color: str
    background: str
    contrast: float


@dataclass
class ShapeRecord:
    kind: str  # gate, edge, axis, curve, bar or legend (scenes/screen_tags.py)
    label: str | None  # the gate's name, an edge's "tail → head", a curve's and its legend entry's name
    bbox: list[float]  # x0, y0, x1, y1 in pixels, y downwards


@dataclass
class Stroke:
    """A curve as drawn: points along it (pixels) and half its stroke's width (pixels)."""
    label: str | None
    points: np.ndarray
    half_width: float


@dataclass
class NodeSeen:
    """A node of a graph on screen: whether its name is in the frame, whether the step is about it."""
    graph: int  # which graph (a scene may draw several, one after another)
    node: str
    name: str  # as the equations write it
    graph_size: int  # the graph's nodes, constants included
    name_shown: bool  # its name is drawn, whole, inside the frame (a node without a name: True)
    shape_shown: bool  # its gate circle is drawn whole inside the frame (an input, with no circle: True)
    active: bool = False  # the gate this step pulses, or one of its inputs
    own: bool = False  # the gate this step pulses
    too_deep: bool = False  # the graph cannot be drawn whole in the frame at the floor (audit/graph_width.py)


@dataclass
class Frame:
    index: int  # the animation this frame ends, counted from 0 as `render --still --upto` counts
    time: float
    texts: list[TextRecord] = field(default_factory=list)
    edges: list[list[list[float]]] = field(default_factory=list, repr=False)  # sampled paths, pixels
    shapes: list[ShapeRecord] = field(default_factory=list)
    strokes: list[Stroke] = field(default_factory=list, repr=False)  # the curves, in drawing order
    nodes: list[NodeSeen] = field(default_factory=list, repr=False)
    step: int = 0  # how many steps the scene had started when this frame was recorded

    def to_json(self) -> dict:
        return {"index": self.index, "time": round(self.time, 3), "texts": [asdict(t) for t in self.texts],
                "shapes": [asdict(s) for s in self.shapes]}


@dataclass
class Play:
    """One animation (or wait) of a scene: what `--upto` counts."""
    index: int
    start: float
    end: float
    caption: str  # on screen when it ends


@dataclass
class Violation:
    frame: int
    time: float
    rule: str
    message: str

    def __str__(self) -> str:
        return f"frame {self.frame} ({self.time:.1f} s): {self.rule}: {self.message}"


# --- recording ----------------------------------------------------------------------------------------
class AuditRenderer(SnapshotRenderer):
    """Manim's renderer with every animation skipped (no frame is drawn) and a snapshot after each."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.frames: list[Frame] = []
        self.plays: list[Play] = []
        self.graphs: dict[int, GraphParts] = {}  # every graph an animation has shown, by id
        self.active: set[tuple[int, str]] = set()  # (graph, node) the current step is about
        self.own: set[tuple[int, str]] = set()  # (graph, gate) the current step pulses
        self.step = -1

    def before_play(self, scene, args):
        animations = list(_animations(args))
        for graph in _graphs_in(animations):
            self.graphs.setdefault(id(graph), GraphParts(graph))
        step = len(getattr(scene, "step_marks", ()))
        if step != self.step:  # a new step: about nothing until its gate pulses
            self.step, self.active, self.own = step, set(), set()
        gates = _pulsed(animations, self.graphs)
        self.own |= gates
        self.active |= gates | {(gid, src) for gid, nid in gates
                                for src in self.graphs[gid].graph.trace.nodes[nid].inputs}

    def after_play(self, scene, args, start):
        frame = snapshot(scene, len(self.plays), self.time, self.graphs.values(), self.active,  # as --upto counts
                         self.own)
        frame.step = self.step
        said = [t.string for t in frame.texts if t.kind == "caption"]
        self.plays.append(Play(len(self.plays), round(start, 3), round(self.time, 3), said[0] if said else ""))
        # a wait shows the frame before it again: one record per distinct paused frame
        last = self.frames[-1] if self.frames else None
        if last is None or (frame.texts, frame.shapes) != (last.texts, last.shapes):  # dataclasses: by value
            self.frames.append(frame)
        elif frame.step == last.step:  # the same picture: what this play made active stays so
            last.nodes = frame.nodes


def _animations(items):
    """Every animation in ``items``, groups and successions opened."""
    for a in items:
        yield a
        yield from _animations(getattr(a, "animations", ()) or ())


def _graphs_in(animations) -> list[ComputationalGraph]:
    out = []
    for a in animations:
        mob = getattr(a, "mobject", None)
        if mob is not None:
            out += [m for m in mob.get_family() if isinstance(m, ComputationalGraph)]
    return out


def _pulsed(animations, graphs) -> set[tuple[int, str]]:
    """(graph, node) for a gate an animation pulses (the node a step computes)."""
    from scenes.animations import Pulse
    out = set()
    for a in animations:
        if not isinstance(a, Pulse):
            continue
        for gid, parts in graphs.items():
            for nid, gate in parts.graph.gate_mobs.items():
                if gate is a.mobject:
                    out.add((gid, nid))
    return out


class GraphParts:
    """A graph's gate circles, edges and names, remembered when it is first shown: a scene that pans
    takes names out of their gates while they are out of view, and the audit still knows whose they are."""

    def __init__(self, graph: ComputationalGraph):
        self.graph = graph
        nt = graph.notation
        self.names: dict[str, list[Mobject]] = {}
        self.circles: dict[str, Mobject] = {}
        # (from the graph's own records, not its gates' parts: a pan may have taken a part out of view already)
        for nid, n in graph.trace.nodes.items():
            if nid in graph.leaf_mobs:
                self.names[nid] = [graph.leaf_mobs[nid]]
            elif nid in graph.circles:
                self.circles[nid] = graph.circles[nid]
                self.names[nid] = [graph.name_tags[nid]] if nid in graph.name_tags else []
        self.shape_of: dict[int, tuple[str, str | None]] = {
            id(c): ("gate", nt.names.get(nid, nid)) for nid, c in self.circles.items()}
        for (tail, head, _), edge in graph.edges.items():
            self.shape_of[id(edge)] = ("edge", f"{nt.names.get(tail, tail)} → {nt.names.get(head, 'output')}")

    @functools.cached_property
    def too_deep(self) -> bool:
        """Whether the graph is provably too deep to be drawn whole at the floor: from its trace, not its layout."""
        from audit.graph_width import too_deep
        return len(self.graph.trace.nodes) <= WHOLE_GRAPH_NODES and too_deep(self.graph.trace, SAFE_MARGIN)


# (a Paragraph is a Table's cell unless the table says otherwise: a VGroup of glyphs, no Text inside)
TEXT_CLASSES = (Text, MarkupText, Paragraph, SingleStringMathTex, DecimalNumber)


def _string(m: Mobject) -> str:
    if isinstance(m, (Text, MarkupText)):
        return m.original_text if hasattr(m, "original_text") else m.text
    if isinstance(m, Paragraph):
        return m.lines_text.original_text
    if isinstance(m, SingleStringMathTex):
        return m.tex_string
    if isinstance(m, DecimalNumber):
        return f"{m.number:g}"
    return ""


def _tag(m: Mobject, name: str, default=None):
    """``getattr(m, name, default)`` for a tag a scene sets on a mobject itself (audit_kind, connector_of...):
    the mobject's own attribute, unless its class has the name. A miss then skips Mobject.__getattr__, which
    raises an exception for every tag a mobject does not have (most of them, for most mobjects)."""
    if hasattr(type(m), name):
        return getattr(m, name, default)
    return m.__dict__.get(name, default)


def _shape_of(m: Mobject, known: dict) -> tuple[str, str | None] | None:
    """What shape ``m`` is: a scene's tag (scenes/screen_tags.py), a graph's part, or its Manim class."""
    if _tag(m, "audit_shape"):
        return m.audit_shape, _tag(m, "audit_label")
    if id(m) in known:
        return known[id(m)]
    if isinstance(m, (SplineEdge, Arrow)):
        return "edge", None
    if isinstance(m, Axes):
        return "axis", None
    return None


def _walk(mobjects, kind=None, seen=None, known=None):
    """(mobject, kind) for every text atom, ('edge', path) for every edge, ('fill', shape) for every filled
    shape and (mobject, ('shape', kind, label)) for every shape the audit records, in drawing order."""
    seen = set() if seen is None else seen
    known = {} if known is None else known
    for m in mobjects:
        if id(m) in seen:
            continue
        seen.add(id(m))
        if _tag(m, "connector_of") is not None:
            yield m, "connector"
        shape = _shape_of(m, known)
        if shape is not None:
            yield m, ("shape", *shape)
        k = _tag(m, "audit_kind") or kind
        if isinstance(m, TEXT_CLASSES):
            yield m, k or ("equation" if isinstance(m, SingleStringMathTex) else "text")
            continue
        if _tag(m, "audit_obstacle", False) or isinstance(m, Arrow):
            yield m, "edge"
            continue
        if isinstance(m, VMobject) and m.points.size and m.get_fill_opacity() > 0.05 and k != "no-fill":
            yield m, "fill"
        yield from _walk(m.submobjects, k, seen, known)


def _to_px(points: np.ndarray) -> np.ndarray:
    w, h = config.pixel_width, config.pixel_height
    x = (points[:, 0] / config.frame_width + 0.5) * w
    y = (0.5 - points[:, 1] / config.frame_height) * h
    return np.stack([x, y], axis=1)


def _extent(parts: list) -> tuple[np.ndarray, np.ndarray] | None:
    """The least and greatest x, y, z of the points of ``parts`` (scene units), or None without points."""
    pts = [p.points for p in parts]
    if not pts:
        return None
    pts = np.concatenate(pts) if len(pts) > 1 else pts[0]
    return pts.min(axis=0), pts.max(axis=0)


def _bbox_px(m: Mobject, parts: list | None = None, extent=None) -> list[float] | None:
    """The box of ``m``'s points in pixels (``parts``: its family members with points, ``extent``: their
    ``_extent``, if known). Only the extremes are converted: the conversion is monotone, so this is the box of
    the converted points, exactly. In plain floats, in _to_px's order of operations: the same numbers as
    _to_px gives, without building arrays for two points."""
    if extent is None:
        extent = _extent(m.family_members_with_points() if parts is None else parts)
    if extent is None:
        return None
    lo, hi = extent
    w, h, fw, fh = config.pixel_width, config.pixel_height, config.frame_width, config.frame_height
    x0, x1 = (float(lo[0]) / fw + 0.5) * w, (float(hi[0]) / fw + 0.5) * w
    y0, y1 = (0.5 - float(hi[1]) / fh) * h, (0.5 - float(lo[1]) / fh) * h  # y grows downwards in pixels
    return [x0, y0, x1, y1]


def _glyph_height_px(m: Mobject, string: str, height=None) -> float:
    """The height of the smallest kind of glyph in the text: its main line's (x-height, digits or Hangul)
    or a superscript's or subscript's (an exponent, the ² of ||x||², the ᵀ of Bᵀ), whichever is smaller.
    ``height``: ``m.height`` if already measured."""
    family = "text" if isinstance(m, (Text, MarkupText, Paragraph)) else "tex"
    try:
        size = float(_font_size(m, height))
    except (AttributeError, ZeroDivisionError):
        return float("nan")
    px = size * config.pixel_height / config.frame_height
    font = getattr(m.lines_text if isinstance(m, Paragraph) else m, "font", "") or "" if family == "text" else ""
    return px * _least_glyph_per_point(family, string, font)


class _Measured:
    """A mobject whose height is already known: Manim's font_size reads it (its own measure walks the
    family's points one by one in Python), every other attribute is the mobject's."""

    def __init__(self, mobject: Mobject, height):
        self._mobject, self.height = mobject, height

    def __getattr__(self, name):
        return getattr(self._mobject, name)


def _font_size(m: Mobject, height=None):
    """``m.font_size``, by Manim's own formula, with ``height`` (``m.height``, already measured) if given.
    An empty, zero-high or not finite height is left to Manim (its measure's edge cases stay its own).
    A Paragraph has no font size of its own: its Text's (``lines_text``), whose glyphs are the paragraph's
    lines' own, so that its size follows every scale of the paragraph (a table scaled to fit, a copy)."""
    if isinstance(m, Paragraph):
        return m.lines_text.font_size
    prop = getattr(type(m), "font_size", None)
    if (height is None or not isinstance(prop, property) or getattr(type(m), "height", None) is not Mobject.height
            or not (math.isfinite(height) and height > 0)):
        return m.font_size
    return prop.fget(_Measured(m, height))


@functools.lru_cache(maxsize=4096)
def _least_glyph_per_point(family: str, string: str, font: str) -> float:
    """The smallest glyph height per point of font size in ``string`` (see _glyph_height_px): a text is
    measured again in every paused frame it stays in."""
    if family == "tex":
        scripts = TEX_SCRIPT_ARG.findall(string)
        main = TEX_SCRIPT_ARG.sub("", string)
        # a group is measured as a formula of its own (its scripts a script's scripts), at its script's size
        heights = [(1.0 if TEXT_SIZE_SCRIPT.match(a) else TEX_SCRIPT)
                   * (_least_glyph_per_point(family, a[1:-1], font) if a.startswith("{")
                      else GLYPH_PER_POINT[("tex", glyph_kind(a, True))]) for a in scripts]
        main_height = GLYPH_PER_POINT[("tex", glyph_kind(main, True))]
        if not scripts or re.search(r"[^\s{}]", TEX_COMMAND.sub("", main)):
            heights.append(main_height)
    else:
        main_height = GLYPH_PER_POINT[("text", glyph_kind(string, False))]
        heights = [main_height] + [_char_height_per_point(font, c) for c in set(SCRIPT_CHARS.findall(string))]
    return min(heights)


@functools.cache
def _char_height_per_point(font: str, char: str) -> float:
    """A character's height in scene units per point of font size, in ``font`` (Pango's fallback if absent)."""
    return Text(char, font=font, font_size=48).height / 48


def _visible_colors(m: Mobject, parts: list | None = None) -> list[np.ndarray]:
    """The distinct RGBA fill colours of a text's glyphs that are drawn at all."""
    out = []
    for part in m.family_members_with_points() if parts is None else parts:
        if isinstance(part, VMobject):
            for rgba in part.get_fill_rgbas():
                if rgba[3] > 0.05 and not any(np.allclose(rgba, c) for c in out):
                    out.append(np.asarray(rgba, dtype=float))
    return out


def _luminance(rgb) -> float:
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in map(float, rgb[:3]))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _hex(rgb) -> str:
    return "#" + "".join(f"{round(255 * float(v)):02X}" for v in rgb[:3])


def _blend(top: np.ndarray, under: np.ndarray) -> np.ndarray:
    return top[3] * top[:3] + (1 - top[3]) * under[:3]


def _fill_boxes(m: VMobject) -> list[tuple[np.ndarray, list[float]]]:
    """(colour, box) for each subpath of a filled shape: a merged bar chart is many boxes, not one."""
    rgba = np.asarray(m.get_fill_rgbas()[0], dtype=float)
    px = _to_px(m.points) if len(m.points) else None
    boxes = []
    # Manim's vectorised split (get_subpaths compares anchors pair by pair, thousands of np.allclose calls)
    for start, end in m.get_subpath_split_indices_from_points(m.points):
        if end - start >= m.n_points_per_cubic_curve:  # as get_subpaths, which drops a shorter tail
            sub = px[start:end]
            boxes.append((rgba, [sub[:, 0].min(), sub[:, 1].min(), sub[:, 0].max(), sub[:, 1].max()]))
    return boxes


def _sample_path(m: VMobject, per_curve: int = 8) -> np.ndarray:
    """Points along an edge and its arrow tip, in pixels."""
    return np.concatenate([_sample_curves(p.points, per_curve) for p in m.family_members_with_points()])


_EDGE_SAMPLES: dict[tuple, list] = {}  # an edge's samples by its points: most edges stay put frame after frame
_EDGE_SAMPLES_MAX = 50_000


def _edge_samples(m: VMobject) -> list[list[float]]:
    """``_sample_path(m)`` as a list, sampled once for the same points at the same frame size."""
    key = (config.pixel_width, config.pixel_height, config.frame_width, config.frame_height,
           *(p.points.tobytes() for p in m.family_members_with_points()))
    samples = _EDGE_SAMPLES.get(key)
    if samples is None:
        if len(_EDGE_SAMPLES) >= _EDGE_SAMPLES_MAX:
            _EDGE_SAMPLES.clear()
        samples = _EDGE_SAMPLES[key] = _sample_path(m).tolist()
    return samples


def _sample_curves(pts: np.ndarray, per_curve: int) -> np.ndarray:
    if len(pts) < 4:
        return np.zeros((0, 2))
    return _to_px(bezier_points(pts, per_curve))


def _drawn(m: Mobject, parts: list | None = None) -> bool:
    """Whether any part of ``m`` is drawn at all (a stroke or a fill that is not faded out). ``parts``: its
    family members with points, if known."""
    for part in m.family_members_with_points() if parts is None else parts:
        if not isinstance(part, VMobject):
            continue
        if part.get_fill_opacity() > 0.05:
            return True
        if part.get_stroke_width() > 0 and len(part.get_stroke_rgbas()) and part.get_stroke_rgbas()[:, 3].max() > 0.05:
            return True
    return False


def _stroke(m: VMobject, label) -> Stroke:
    """A curve's drawn points, one row of samples per Bézier piece, and half its stroke's width in pixels
    (Cairo draws a stroke_width of 1 as 0.01 scene units)."""
    px_per_unit = config.pixel_width / config.frame_width
    parts = [p for p in m.family_members_with_points() if isinstance(p, VMobject)]
    pts = [_sample_curves(p.points, STROKE_SAMPLES).reshape(-1, STROKE_SAMPLES, 2) for p in parts]
    half = max((p.get_stroke_width() for p in parts), default=0)
    return Stroke(label, np.concatenate(pts) if pts else np.zeros((0, STROKE_SAMPLES, 2)), 0.5 * half * 0.01 * px_per_unit)


def inside_frame(bbox, tol: float = 0.5) -> bool:
    return bbox[0] >= -tol and bbox[1] >= -tol and bbox[2] <= config.pixel_width + tol and bbox[3] <= config.pixel_height + tol


def snapshot(scene, index: int, time: float, graphs=(), active=frozenset(), own=frozenset()) -> Frame:
    background = np.array([*_rgb(config.background_color), 1.0])
    fills: list[tuple[np.ndarray, list[float]]] = []
    frame = Frame(index, time)
    known = {k: v for g in graphs for k, v in g.shape_of.items()}
    whole: set[int] = set()  # texts and shapes drawn whole inside the frame
    connectors = []
    for m, kind in _walk(scene.mobjects, known=known):
        if kind == "connector":
            connectors.append(m)
            continue
        if isinstance(kind, tuple):  # a shape
            parts = m.family_members_with_points()
            box = _bbox_px(m, parts)
            if box is None or not _drawn(m, parts):
                continue
            frame.shapes.append(ShapeRecord(kind[1], kind[2], [round(v, 1) for v in box]))
            if kind[1] == "curve":
                frame.strokes.append(_stroke(m, kind[2]))
            if inside_frame(box):
                whole.add(id(m))
            continue
        if kind == "fill":
            fills.extend(_fill_boxes(m))
            continue
        if kind == "edge":
            frame.edges.append(_edge_samples(m))
            continue
        parts = m.family_members_with_points()
        colors = _visible_colors(m, parts)
        extent = _extent(parts)
        box = _bbox_px(m, parts, extent)
        if not colors or box is None:
            continue  # faded out, or nothing drawn
        if inside_frame(box):
            whole.add(id(m))
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        under = background[:3]
        for rgba, b in fills:  # in drawing order: later shapes cover earlier ones
            if b[0] <= cx <= b[2] and b[1] <= cy <= b[3]:
                under = _blend(rgba, np.array([*under, 1.0]))
        worst, worst_color = math.inf, colors[0]
        for c in colors:
            shown = _blend(c, np.array([*under, 1.0]))
            r = contrast_ratio(shown, under)
            if r < worst:
                worst, worst_color = r, shown
        string = _string(m)
        height = extent[1][1] - extent[0][1]  # m.height, as Manim measures it (max - min of the family's y)
        frame.texts.append(TextRecord(string, kind, [round(v, 1) for v in box],
                                      round(_glyph_height_px(m, string, height), 1), _hex(worst_color), _hex(under),
                                      round(worst, 2)))
    frame.nodes = _nodes_seen(graphs, whole, active, own, _connectors(connectors, whole))
    return frame


def _connectors(found, shown: set[int]) -> dict[tuple[int, str], list[list[float]]]:
    """(graph, node) -> the boxes (pixels) of the off-page connectors drawn whole in the frame that name it:
    a panned graph's far input, named where its wire enters the view (scenes/graph_scenes.py). ``found``:
    the frame's mobjects that are connectors, as the walk met them."""
    out: dict[tuple[int, str], list[list[float]]] = {}
    for m in found:
        if _family_in(m, shown) and (box := _bbox_px(m)) is not None:
            out.setdefault(m.connector_of, []).append(box)
    return out


_DENSE_PATHS: dict[tuple, np.ndarray] = {}  # a wire's dense path by its points: a wire stays put for many plays
_DENSE_PATHS_MAX = 1_000


def _dense_path(m: VMobject, step_px: float = 1.0) -> np.ndarray:
    """Points along an edge at most ``step_px`` apart (a long straight wire is one Bézier piece), computed
    once for the same points at the same frame size (read only: the cached array is shared)."""
    parts = m.family_members_with_points()
    key = (step_px, config.pixel_width, config.pixel_height, config.frame_width, config.frame_height,
           *(p.points.tobytes() for p in parts))
    path = _DENSE_PATHS.get(key)
    if path is None:
        if len(_DENSE_PATHS) >= _DENSE_PATHS_MAX:
            _DENSE_PATHS.clear()
        path = _DENSE_PATHS[key] = _path_through(parts, step_px)
        path.setflags(write=False)
    return path


def _path_through(parts: list, step_px: float) -> np.ndarray:
    out = []
    for part in parts:  # the wire and its arrow tip, each on its own
        pts = _sample_curves(part.points, 32)
        if len(pts) < 2:
            out.append(pts)
            continue
        gaps = np.maximum(1, np.ceil(np.hypot(*np.diff(pts, axis=0).T) / step_px)).astype(int)
        out += [np.linspace(a, b, n, endpoint=False) for a, b, n in zip(pts[:-1], pts[1:], gaps)] + [pts[-1:]]
    return np.concatenate(out) if out else np.zeros((0, 2))


def on_wire(box: list[float], wires: list[np.ndarray]) -> bool:
    """Whether a connector's box lies on one of its node's wires: a stretch of the wire inside the frame
    passes within the box's own height of it (beside it, as a label beside its edge)."""
    reach = box[3] - box[1]
    for pts in wires:
        inside = pts[(pts[:, 0] >= 0) & (pts[:, 0] <= config.pixel_width)
                     & (pts[:, 1] >= 0) & (pts[:, 1] <= config.pixel_height)]
        near = ((inside[:, 0] >= box[0] - reach) & (inside[:, 0] <= box[2] + reach)
                & (inside[:, 1] >= box[1] - reach) & (inside[:, 1] <= box[3] + reach))
        if near.any():
            return True
    return False


def _nodes_seen(graphs, shown: set[int], active, own=frozenset(), connectors=None) -> list[NodeSeen]:
    """For each graph still drawn: which of its nodes' names and gate circles are whole in the frame (a name
    is also in view as a connector on one of its wires)."""
    connectors = connectors or {}
    out = []
    for parts in graphs:
        g = parts.graph
        if not any(id(m) in shown for m in [*parts.circles.values(), *g.edges.values()]):
            continue  # the graph is gone (faded out), or not drawn yet
        for nid, names in parts.names.items():
            name_shown = all(_family_in(m, shown) for m in names)
            if not name_shown and (id(g), nid) in connectors:
                wires = [_dense_path(e) for (tail, _, _), e in g.edges.items() if tail == nid and _drawn(e)]
                name_shown = any(on_wire(box, wires) for box in connectors[(id(g), nid)])
            circle = parts.circles.get(nid)
            shape_shown = circle is None or id(circle) in shown  # an input has no shape: its name says it all
            out.append(NodeSeen(id(g), nid, g.notation.names.get(nid, nid), len(g.trace.nodes), name_shown,
                                shape_shown, (id(g), nid) in active, (id(g), nid) in own, parts.too_deep))
    return out


def _family_in(m: Mobject, shown: set[int]) -> bool:
    """Whether ``m`` or a mobject of its family is in ``shown``: the members of ``m.get_family()``, visited
    without listing them (Manim orders and deduplicates the list, which an "any" does not need)."""
    stack, visited = [m], set()
    while stack:
        x = stack.pop()
        if id(x) in shown:
            return True
        if id(x) not in visited:
            visited.add(id(x))
            stack.extend(x.submobjects)
    return False


def _rgb(color) -> np.ndarray:
    from manim import ManimColor
    return np.asarray(ManimColor(color).to_rgb(), dtype=float)


# --- checks -------------------------------------------------------------------------------------------
def _overlap(a, b, tol=OVERLAP_TOLERANCE_PX) -> bool:
    return a[0] + tol < b[2] and b[0] + tol < a[2] and a[1] + tol < b[3] and b[1] + tol < a[3]


def _runs_through(points: np.ndarray, boxes: np.ndarray, margin: float = 2.0) -> np.ndarray:
    """For each box (x0, y0, x1, y1), whether a point lies inside it by more than ``margin`` pixels (a line
    may end at a label's edge, not run through it): every point against every box at once."""
    if not len(points) or not len(boxes):
        return np.zeros(len(boxes), dtype=bool)
    x, y = points[:, :1], points[:, 1:2]
    return ((x > boxes[:, 0] + margin) & (x < boxes[:, 2] - margin)
            & (y > boxes[:, 1] + margin) & (y < boxes[:, 3] - margin)).any(0)


def check_frames(frames: list[Frame], quality: str, claims=None, caption_claims=None) -> list[Violation]:
    """Every rule, on every paused frame. ``claims(frame)`` returns equation violations (see equations),
    ``caption_claims(frame)`` captions whose numbers the trace does not have (see captions)."""
    w, h = config.pixel_width, config.pixel_height
    mx, my = SAFE_MARGIN * w, SAFE_MARGIN * h
    floor = min_glyph_px(h)  # the frame this quality draws (MIN_GLYPH_PX[quality] for a preset)
    out = []
    seen_names: set[tuple[int, str]] = set()
    for f in frames:
        def bad(rule, msg):
            out.append(Violation(f.index, f.time, rule, msg))

        for t in f.texts:
            short = t.string if len(t.string) <= 60 else t.string[:57] + "..."
            x0, y0, x1, y1 = t.bbox
            if x0 < mx or y0 < my or x1 > w - mx or y1 > h - my:
                bad("off-frame", f"{t.kind} {short!r} at {t.bbox} leaves the {w}x{h} frame's safe area")
            if not t.height_px >= floor:
                bad("too-small", f"{t.kind} {short!r}: glyph height {t.height_px} px < {floor} px")
            if t.contrast < MIN_CONTRAST:
                bad("contrast", f"{t.kind} {short!r}: {t.color} on {t.background} is {t.contrast}:1 < {MIN_CONTRAST}:1")
        for i, a in enumerate(f.texts):
            for b in f.texts[i + 1:]:
                if _overlap(a.bbox, b.bbox):
                    bad("overlap", f"{a.kind} {a.string[:40]!r} and {b.kind} {b.string[:40]!r} overlap")
        boxes = np.array([t.bbox for t in f.texts], dtype=float).reshape(-1, 4)
        for path in f.edges:
            for i in np.flatnonzero(_runs_through(np.asarray(path, dtype=float).reshape(-1, 2), boxes)):
                t = f.texts[i]
                bad("edge-through-text", f"an edge runs through {t.kind} {t.string[:40]!r}")
        for stroke in f.strokes:  # a chart's curve across a note or a tick label hides both
            for i in np.flatnonzero(_runs_through(stroke.points.reshape(-1, 2), boxes)):
                t = f.texts[i]
                bad("curve-through-text", f"the curve {stroke.label!r} runs through {t.kind} {t.string[:40]!r}")
        for sh in f.shapes:
            if sh.kind != "edge" and not inside_frame(sh.bbox) and _overlap(sh.bbox, [0, 0, w, h], 0):
                bad("shape-cut", f"{sh.kind} {sh.label or ''!s} at {sh.bbox} is cut by the {w}x{h} frame's edge"
                    .replace("  ", " "))
        for n in f.nodes:
            key = (n.graph, n.node)
            if n.name_shown:
                seen_names.add(key)
            elif n.active or (key in seen_names and n.graph_size <= WHOLE_GRAPH_NODES and not n.too_deep):
                why = "its step is about it" if n.active else f"its graph ({n.graph_size} nodes) is still drawn"
                bad("name-gone", f"the name {n.name!r} is not in the frame while {why}")
            if n.own and not n.shape_shown:
                bad("active-off-frame", f"{n.name!r} is not whole in the frame during its own step")
        for label in hidden_curves(f):
            bad("legend-hidden", f"legend entry {label!r}: its curve has no visible pixels of its own "
                "(other curves are drawn over all of it)")
        if claims is not None:
            for msg in claims(f):
                bad("equation", msg)
        if caption_claims is not None:
            for msg in caption_claims(f):
                bad("caption-number", msg)
    return out


def _distance_to_stroke(points: np.ndarray, stroke: Stroke) -> np.ndarray:
    """Each point's distance (pixels) to the middle line of ``stroke``: every point against every segment (the
    reference that ``_near_stroke`` is tested against)."""
    a = stroke.points[:, :-1].reshape(-1, 2)
    b = stroke.points[:, 1:].reshape(-1, 2)
    ab = b - a
    den = np.maximum((ab ** 2).sum(1), 1e-12)
    best = np.full(len(points), np.inf)
    for i in range(0, len(points), 256):  # in blocks: points x segments can be millions of pairs
        p = points[i:i + 256, None, :]
        t = np.clip(((p - a) * ab).sum(2) / den, 0, 1)
        d = np.sqrt((((a + t[..., None] * ab) - p) ** 2).sum(2))
        best[i:i + 256] = d.min(1)
    return best


PIECE_PX = 8.0  # ``_near_stroke`` cuts a stroke's segments into pieces at most this long


def _near_stroke(points: np.ndarray, stroke: Stroke, reach: float) -> np.ndarray:
    """Whether each point is within ``reach`` pixels of the middle line of ``stroke``, exactly, without
    measuring every point against every segment (a training chart's curves are thousands of each): the
    segments are cut into pieces of at most PIECE_PX (the same line), a k-d tree pairs each point with the
    pieces whose middles are within ``reach`` + PIECE_PX / 2 (no nearer piece can be missed), and only those
    pairs are measured. A point or piece that is not finite is never near (nor far: see own_length)."""
    from scipy.spatial import cKDTree

    a = stroke.points[:, :-1].reshape(-1, 2)
    b = stroke.points[:, 1:].reshape(-1, 2)
    keep = np.isfinite(a).all(1) & np.isfinite(b).all(1)
    a, b = a[keep], b[keep]
    near = np.zeros(len(points), dtype=bool)
    finite = np.isfinite(points).all(1)
    if not len(a) or not finite.any():
        return near
    cuts = np.maximum(1, np.ceil(np.sqrt(((b - a) ** 2).sum(1)) / PIECE_PX)).astype(int)
    seg = np.repeat(np.arange(len(a)), cuts)
    k = np.arange(cuts.sum()) - np.repeat(np.cumsum(cuts) - cuts, cuts)
    n = cuts[seg]
    p0 = a[seg] + (b - a)[seg] * (k / n)[:, None]
    p1 = a[seg] + (b - a)[seg] * ((k + 1) / n)[:, None]
    index = np.flatnonzero(finite)
    pairs = cKDTree(points[index]).sparse_distance_matrix(cKDTree((p0 + p1) / 2), reach + PIECE_PX / 2,
                                                            output_type="ndarray")
    if not len(pairs):
        return near
    i, j = pairs["i"], pairs["j"]
    p, u, v = points[index[i]], p0[j], p1[j]
    uv = v - u
    t = np.clip(((p - u) * uv).sum(1) / np.maximum((uv ** 2).sum(1), 1e-12), 0, 1)
    d = np.sqrt(((u + t[:, None] * uv - p) ** 2).sum(1))
    near[index[i[d <= reach]]] = True
    return near


def own_length(f: Frame, k: int) -> float:
    """How much of curve ``k`` (pixels of length) is not covered by the curves drawn after it."""
    s = f.strokes[k]
    pts = s.points.reshape(-1, 2)
    if len(pts) < 2:
        return 0.0
    visible = (pts[:, 0] >= 0) & (pts[:, 0] <= config.pixel_width) & (pts[:, 1] >= 0) & (pts[:, 1] <= config.pixel_height)
    for later in f.strokes[k + 1:]:
        if later.label == s.label or not later.points.size:
            continue
        visible &= ~_near_stroke(pts, later, later.half_width + s.half_width + OWN_PIXEL_PX)
    vis = visible.reshape(s.points.shape[:2])
    seg = np.sqrt(((s.points[:, 1:] - s.points[:, :-1]) ** 2).sum(2))
    return float((seg * (vis[:, 1:] & vis[:, :-1])).sum())


def hidden_curves(f: Frame) -> list[str]:
    """Legend entries whose curves (the strokes with the entry's label) are all covered by later curves."""
    out = []
    for label in dict.fromkeys(s.label for s in f.shapes if s.kind == "legend" and s.label):
        mine = [k for k, s in enumerate(f.strokes) if s.label == label and s.points.size]
        if mine and sum(own_length(f, k) for k in mine) < MIN_OWN_CURVE_PX:
            out.append(label)
    return out


def grouped(violations: list[Violation]) -> list[str]:
    """One line per distinct problem, with the frames it is seen in (a label too small stays so)."""
    frames: dict[tuple[str, str], list[int]] = {}
    for v in violations:
        frames.setdefault((v.rule, v.message), []).append(v.frame)
    lines = []
    for (rule, message), idx in frames.items():
        where = f"frame {idx[0]}" if len(idx) == 1 else f"frames {idx[0]}-{idx[-1]} ({len(idx)})"
        lines.append(f"{where}: {rule}: {message}")
    return lines
