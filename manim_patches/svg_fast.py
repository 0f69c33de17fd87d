"""The glyphs of a Pango or dvisvgm SVG, made the way Manim makes them but without its per-glyph work.

Every Text and MathTex is an SVG in which each glyph outline is defined once and placed by ``<use>`` many
times. Manim parses it with svgelements, which parses a glyph's path again for every use, moves every
point in Python, and Manim then makes a mobject and a VGroup for every element: about 0.05-0.1 s per new
label, most of a fresh test run's extra time. Here each outline is parsed once per process (by svgelements
itself) and each use is its points moved with numpy.

The result is Manim's, point for point: the SVG is walked as svgelements walks it (the same inherited
attributes, the same transform strings, turned into matrices by svgelements), a use's points are computed
with the same arithmetic in the same order (moved as svgelements moves them, then made into cubic curves as
Manim's ``VMobjectFromSVGPath.handle_commands`` does), every style is made by Manim from a real svgelements
shape, groups get the names Manim gives them, and the final y flip is Manim's own. Each style's first glyph
is made both ways and compared: any difference, and any element or attribute outside what Pango and dvisvgm
write, and the SVG is left to Manim (``leaves_and_groups`` returns None). tests/test_svg_fast.py compares
the two on whole SVGs.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache

import numpy as np
import svgelements as se
from manim import RIGHT, TAU, Mobject, VMobject, config
from manim.mobject.svg.svg_mobject import SVGMobject
from manim.utils.space_ops import rotate_vector

_SVG_NS = "{http://www.w3.org/2000/svg"
_HREFS = ("{http://www.w3.org/1999/xlink}href", "href")
# Inherited values a glyph's path may carry that change nothing on it (names, the use's link, symbol's
# overflow, namespaces, LaTeX's page size); anything else outside _STYLE sends the SVG to Manim.
_INERT = {"tag", "attributes", "id", "overflow", "version", "transform", "d", "style", "width", "height",
          "viewport_transform", *_HREFS}
_STYLE = ("fill", "fill-opacity", "stroke", "stroke-opacity", "stroke-width", "color", "opacity", "fill-rule",
          "stroke-linejoin", "stroke-linecap", "stroke-miterlimit")
_TAGS = {"svg", "g", "defs", "symbol", "use", "path", "rect"}
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")  # what svgelements' Length reads as a plain float
_CLOSE_MIN = 0.0001  # Manim draws a closing line when the pen is further than this from the subpath's start
# A glyph's style, by its inherited style values, the linear part of its matrix (stroke widths scale with it)
# and the path settings: the attributes of a glyph Manim made with it, all but the points.
_templates: dict[tuple, dict] = {}


class _Unsupported(Exception):
    """Something Manim's own parse may treat differently: the SVG is left to it."""


def supported(mob: SVGMobject) -> bool:
    cls = type(mob)
    return (config.renderer.value == "cairo"
            and all(getattr(cls, name) is getattr(SVGMobject, name)
                    for name in ("generate_mobject", "modify_xml_tree", "get_mobjects_from",
                                 "get_mob_from_shape_element", "path_to_mobject", "apply_style_to_mobject",
                                 "handle_transform", "rect_to_mobject")))


def leaves_and_groups(mob: SVGMobject) -> tuple[list[VMobject], dict[str, list[int]]] | None:
    """``mob``'s glyphs (flipped, as ``generate_mobject`` leaves them) and its groups as lists of glyph
    indices, or None if the SVG is one to leave to Manim. ``mob`` is left without submobjects."""
    if not supported(mob):
        return None
    try:
        tree = mob.modify_xml_tree(ET.parse(mob.get_file_path()))
        root = _Walk(mob).run(tree.getroot())
    except (_Unsupported, ValueError, KeyError, TypeError, IndexError, ET.ParseError):
        return None
    leaves, groups = _name_groups(root)
    mob.add(*leaves)
    _flip(mob)
    mob.remove(*leaves)
    return leaves, groups


def _flip(mob: SVGMobject) -> None:
    """``mob.flip(RIGHT)`` as generate_mobject ends: VMobject.rotate turns every member's sheen direction (one
    rotation matrix made per glyph, most of the flip's time; all glyphs share a few directions, so each is
    turned once here), then Mobject.rotate moves the points about the centre of all the glyphs."""
    turned: dict[tuple, np.ndarray] = {}
    for member in mob.get_family():
        key = tuple(member.sheen_direction)
        if key not in turned:
            turned[key] = rotate_vector(member.sheen_direction, TAU / 2, RIGHT)
        member.sheen_direction = turned[key].copy()
    Mobject.rotate(mob, TAU / 2, RIGHT)


class _Node:
    """An element as svgelements puts it in its tree: its name, its children, its glyph if it is a shape."""
    __slots__ = ("name", "children", "leaf", "container")

    def __init__(self, name, container=False):
        self.name, self.children, self.leaf, self.container = name, [], None, container


class _Walk:
    """svgelements' ``SVG.parse`` for the elements Pango and dvisvgm write (same values, same order)."""

    def __init__(self, mob: SVGMobject):
        self.mob = mob
        self.settings = repr(sorted(mob.path_string_config.items()))
        self.defs: dict[str, ET.Element] = {}
        self.pending: dict[_Outline, list] = {}  # each outline's uses, their points made together at the end
        self.width = self.height = None

    def run(self, root: ET.Element) -> _Node:
        for elem in root.iter():
            if "id" in elem.attrib:
                self.defs[elem.attrib["id"]] = elem  # the last of a repeated id wins, as in svgelements
        values = {se.SVG_ATTR_COLOR: "black", se.SVG_ATTR_FILL: "black", se.SVG_ATTR_STROKE: "none"}
        holder = _Node(None, container=True)
        self._element(root, values, holder)
        for outline, uses in self.pending.items():
            for (node, template, _), points in zip(uses, outline.points([m for _, _, m in uses])):
                if len(points):
                    leaf = VMobject.__new__(VMobject)
                    leaf.__dict__.update(template)
                    leaf.points = points
                    node.leaf = leaf
        return holder.children[0]

    def _element(self, elem: ET.Element, inherited: dict, context: _Node | None) -> None:
        tag = elem.tag[28:] if elem.tag.startswith(_SVG_NS) else elem.tag
        if tag not in _TAGS:
            raise _Unsupported(tag)
        values = dict(inherited)
        for name in ("preserveAspectRatio", "viewBox", "id", "class", "clip-path"):
            values.pop(name, None)
        attributes = dict(elem.attrib)
        attributes["tag"] = tag
        if "class" in attributes:
            raise _Unsupported("class")
        for equate in attributes.get("style", "").split(";"):
            parts = equate.split(":")
            if len(parts) == 2:
                attributes[parts[0].strip()] = parts[1].strip()
        for key in ("fill", "stroke"):
            if attributes.get(key) == "currentColor":
                attributes[key] = attributes.get("color", values["color"])
        if "display" in attributes:  # (an attribute, or in the style)
            raise _Unsupported("display")
        if "transform" in attributes and "transform" in values:
            attributes["transform"] = values["transform"] + " " + attributes["transform"]
        values.update(attributes)
        values["attributes"] = attributes
        name = attributes.get("id")
        node = None
        if tag == "svg":
            if "viewBox" in attributes or context.name is not None or context.children:
                raise _Unsupported("a nested or sized svg")  # Manim's new root has neither
            s = se.SVG(values)
            width = s.viewbox.width if s.viewbox is not None else 1000
            height = s.viewbox.height if s.viewbox is not None else 1000
            s.render(ppi=se.DEFAULT_PPI, width=width, height=height, viewbox=s.viewbox)
            self.height, self.width = s.width, s.height  # (sic: svgelements swaps them here)
            node = _Node(name, container=True)
        elif tag == "g":
            node = _Node(name, container=True)
        elif tag == "defs":
            context = None  # not drawn: its children are made but belong to nothing
        elif tag == "use":
            _place_use(values)
            node = _Node(name, container=True)
        elif tag == "path":
            node = self._path(values, name) if context is not None else None  # (in defs: never drawn)
        elif tag == "rect":
            node = self._rect(values, name) if context is not None else None
        else:  # symbol: an element of no kind, in its parent's tree
            node = _Node(name)
        if node is not None and context is not None:
            context.children.append(node)
        inner = node if node is not None and node.container else context
        for child in elem:
            self._element(child, values, inner)
        if tag == "use":
            url = next((elem.attrib[h] for h in _HREFS if h in elem.attrib), None)
            if url is not None and url[1:] in self.defs:
                self._element(self.defs[url[1:]], values, inner)

    def _path(self, values: dict, name) -> _Node:
        unknown = values.keys() - _INERT - set(_STYLE)
        if unknown:
            raise _Unsupported(f"attributes {sorted(unknown)}")
        d = values.get("d")
        if d is None:
            raise _Unsupported("a path without d")
        outline = _outline(d)
        matrix = _matrix(values.get("transform", ""))
        node = _Node(name)
        key = (tuple(values.get(k) for k in _STYLE), matrix.a, matrix.b, matrix.c, matrix.d, self.settings)
        template = _templates.get(key)
        if template is not None:
            self.pending.setdefault(outline, []).append((node, template, matrix))
            return node
        # a style not seen before in this process: this glyph is made by svgelements and Manim, and must
        # come out as the arithmetic here makes it
        shape = se.Path(values, pathd_loaded=True)
        shape.parse(d)
        shape.render(ppi=se.DEFAULT_PPI, width=self.width, height=self.height)
        shape.reify()
        made = self.mob.get_mob_from_shape_element(shape)
        (points,) = outline.points([matrix])
        if made is None:
            if len(points):
                raise _Unsupported("a path Manim drops")
            return node
        if not (np.array_equal(made.points, points) and np.array_equal(np.signbit(made.points), np.signbit(points))):
            raise _Unsupported("points differ from Manim's")
        _templates[key] = dict(made.__dict__)
        node.leaf = made
        return node

    def _rect(self, values: dict, name) -> _Node | None:
        # rules and bars: few, so made by svgelements and Manim as they are
        shape = se.Rect(values)
        shape.render(ppi=se.DEFAULT_PPI, width=self.width, height=self.height)
        shape.reify()
        if shape.is_degenerate():
            return None  # svgelements leaves it out of the tree: it takes no group name
        node = _Node(name)
        node.leaf = self.mob.get_mob_from_shape_element(shape)
        return node


def _place_use(values: dict) -> None:
    """What svgelements' Use does to the values its content inherits: its x and y become a translate at the end
    of the transform (as text: "%s" of the floats, read again when the transform is parsed), then x, y, width
    and height are dropped."""
    x, y = values.get("x", 0), values.get("y", 0)
    if isinstance(x, str) and _NUMBER.fullmatch(x) and isinstance(y, str) and _NUMBER.fullmatch(y):
        x, y = float(x), float(y)
    else:
        x, y = se.Length(x).value(), se.Length(y).value()
    if x != 0 or y != 0:
        move = "translate(%s, %s)" % (x, y)
        values["transform"] = f"{values['transform']} {move}" if "transform" in values else move
    for key in ("x", "y", "width", "height"):
        values.pop(key, None)


class _Matrix:
    __slots__ = ("a", "b", "c", "d", "e", "f")

    def __init__(self, a, b, c, d, e, f):
        self.a, self.b, self.c, self.d, self.e, self.f = a, b, c, d, e, f


_TRANSLATE = re.compile(r"translate\(([^,()]+), ([^,()]+)\)")


def _matrix(transform: str):
    """svgelements' Matrix of a transform string. A lone translate (every glyph of Pango's and dvisvgm's) is
    the identity times it, as svgelements multiplies (0.0*1.0 + 0.0*0.0 + tx*1), without parsing."""
    found = _TRANSLATE.fullmatch(transform)
    if found:
        tx, ty = float(found.group(1)), float(found.group(2))
        return _Matrix(1.0 * 1.0 + 0.0 * 0.0 + tx * 0, 0.0 * 1.0 + 1.0 * 0.0 + ty * 0,
                       1.0 * 0.0 + 0.0 * 1.0 + tx * 0, 0.0 * 0.0 + 1.0 * 1.0 + ty * 0,
                       1.0 * 0.0 + 0.0 * 0.0 + tx * 1, 0.0 * 0.0 + 1.0 * 0.0 + ty * 1)
    return _parsed_matrix(transform)


@lru_cache(maxsize=4096)
def _parsed_matrix(transform: str) -> se.Matrix:
    return se.Matrix(transform)


class _Outline:
    """A glyph's path as svgelements parses it (local coordinates) and the recipe Manim follows to make its
    cubic curves: each curve's start, its kind (line, quadratic, cubic) and the points it is made from."""

    def __init__(self, path: se.Path):
        local, rows, closes = [], [], []
        last_move = last_true_move = None
        closed = False

        def point(p):
            local.append((p[0], p[1]))
            return len(local) - 1

        for seg in path:
            kind = type(seg)
            if closed and kind is not se.Move:
                # where Manim's pen is after a close depends on whether it drew the closing line
                raise _Unsupported("a path going on after a close")
            closed = kind is se.Close
            if kind is se.Move:
                last_move = last_true_move = point(seg.end)
            elif kind is se.Line:
                end = point(seg.end)
                rows.append((0, last_move, end, end, end))
                last_move = end
            elif kind is se.QuadraticBezier:
                c, end = point(seg.control), point(seg.end)
                rows.append((1, last_move, c, c, end))
                last_move = end
            elif kind is se.CubicBezier:
                c1, c2, end = point(seg.control1), point(seg.control2), point(seg.end)
                rows.append((2, last_move, c1, c2, end))
                last_move = end
            elif kind is se.Close:
                # a closing line only if the pen is away from the subpath's start (decided per use, on the
                # moved points, as Manim decides it); the pen then stays where it was
                closes.append(len(rows))
                rows.append((3, last_move, last_true_move, last_true_move, last_true_move))
            else:
                raise _Unsupported(kind.__name__)
        self.local = np.array(local, dtype=np.float64).reshape(-1, 2)
        table = np.array(rows, dtype=np.intp).reshape(-1, 5)
        self.kind, self.start, self.c1, self.c2, self.end = table.T
        self.closes = np.array(closes, dtype=np.intp)

    def points(self, matrices: list) -> list[np.ndarray]:
        """The points Manim makes of this outline placed by each of ``matrices``, made together: every number
        with the same operations in the same order as one by one."""
        n, rows = len(matrices), len(self.kind)
        if not rows:
            return [np.zeros((0, 3)) for _ in matrices]
        a, b, c, d, e, f = (np.array([getattr(m, k) for m in matrices])[:, None] for k in "abcdef")
        x, y = self.local[:, 0], self.local[:, 1]
        moved = np.zeros((n, len(x), 3))
        moved[:, :, 0] = x * a + y * c + 1 * e  # svgelements' point_in_matrix_space, term by term
        moved[:, :, 1] = x * b + y * d + 1 * f
        moved += 0.0  # Manim's handle_transform of the reified (identity) matrix: -0.0 becomes 0.0
        start, c1, c2, end = moved[:, self.start], moved[:, self.c1], moved[:, self.c2], moved[:, self.end]
        kind = self.kind[None, :, None]
        straight = (kind == 0) | (kind == 3)
        cp1 = np.where(straight, (start + start + end) / 3, np.where(kind == 1, (start + c1 + c1) / 3, c1))
        cp2 = np.where(straight, (start + end + end) / 3, np.where(kind == 1, (c1 + c1 + end) / 3, c2))
        curves = np.stack([start, cp1, cp2, end], axis=2)  # (use, row, 4, 3)
        if not len(self.closes):
            return list(curves.reshape(n, rows * 4, 3))
        keep = np.ones((n, rows), dtype=bool)
        gap = start[:, self.closes] - end[:, self.closes]
        length = np.sqrt((gap * gap).sum(axis=2))
        keep[:, self.closes] = length > _CLOSE_MIN
        for i, j in zip(*np.nonzero(np.abs(length - _CLOSE_MIN) < 1e-12)):  # at the edge: Manim's own norm
            keep[i, self.closes[j]] = abs(np.linalg.norm(gap[i, j])) > _CLOSE_MIN
        return [curves[i][keep[i]].reshape(-1, 3) for i in range(n)]


@lru_cache(maxsize=20000)
def _outline(d: str) -> _Outline:
    path = se.Path(pathd_loaded=True)
    path.parse(d)
    return _Outline(path)


def _name_groups(root: _Node) -> tuple[list[VMobject], dict[str, list[int]]]:
    """Manim's ``get_mobjects_from`` over the walked tree: the glyphs in its order and every group's glyphs,
    by the names it gives (an element's id, else numbered_group_N; a repeated name keeps its last group)."""
    leaves: list[VMobject] = []
    stack = [(root, 1)]
    numbered = 0
    group_stack = ["root"]
    groups: dict[str, list[int]] = {"root": []}
    while stack:
        node, depth = stack.pop()
        group_stack = group_stack[0:depth]
        if node.name is not None:
            name = node.name
        else:
            name = f"numbered_group_{numbered}"
            numbered += 1
        group_stack.append(name)
        groups[name] = []
        if node.container:
            stack.extend((child, depth + 1) for child in node.children[::-1])
        if node.leaf is not None:
            leaves.append(node.leaf)
            index = len(leaves) - 1
            for parent in group_stack[:-1]:
                members = groups[parent]
                if index in members:  # VGroup.add moves a member already there to the end
                    members.remove(index)
                members.append(index)
    return leaves, groups
