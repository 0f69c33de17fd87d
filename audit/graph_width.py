"""Whether a graph is provably too deep to be drawn whole in the frame at the 10 px floor.

The screen audit holds a graph of up to 20 nodes to staying whole in the frame (every name in view), but a
graph can be small and still too deep for that: a row of gates from an input to the output is drawn left
to right, and every piece of the row has a least width set by the text floor. This module computes that
least width from the trace alone (its values, gradients, gate symbols and names), never from the scene's
layout or from its decision to pan, so that the audit judges the scene independently.

The row of a chain of ``depth`` gates, as every graph of the course draws it (cs231n's convention, inputs on
the left, the output on the right), is at least as wide as
    the input's name + (depth + 1) edge labels + depth gate circles,
each at the 10 px floor (MIN_GLYPH_PX_AT_480 of the glyph kind the audit measures it by):
- an edge carries its value above and its gradient below its wire, between its two ends: the wider of
  the two texts. At the floor a digit is 10 px tall (DejaVu Sans), so "+0.42" is 37.8 px wide, "−0.777"
  46.4 px, "+1" 16.9 px, "0" 6.7 px (the ink's width, as the audit boxes texts); the output's own edge
  carries its value and the seed +1;
- a gate is a circle that holds its symbol and, for a named gate, its name (q1, under the symbol or beside
  it, whichever is narrower): its diameter is at least the diagonal of that block, plus 1 px of outline on
  each side. "×" alone is 12.6 px; "×" over q₁ 29.0 px; "exp" over q₁₂ 48.3 px (a word may break over
  two lines: the narrowest way is taken);
- the row's first and last texts (the input's name, the output edge's label) lie inside the frame's safe
  area: 854 × 0.96 = 819.8 px wide at 854x480.
Nothing is counted between them (no wire, no arrow head, no margin), so the bound is low: a graph past it
cannot be laid out whole at a readable size, whatever the layout. Measured: cs231n's sigmoid neuron (7
gates deep) needs at least 597 px and must fit; tests/screen/graph17.yaml (12 gates) at least 838 px, and
is exempt; graph30 (16 gates) at least 1134 px.
"""
from __future__ import annotations

import functools

import numpy as np
from manim import Text, config

from audit.glyph_metrics import GLYPH_PER_POINT, MIN_GLYPH_PX_AT_480, glyph_kind
from scenes import style
from scenes.notation import Notation
from scenes.trace_data import GraphTrace

OUTLINE_PX = 1.0  # a gate circle's outline, at least a pixel on each side of what it holds


def _at_floor(mob, family: str, string: str) -> tuple[float, float]:
    """Width and height in pixels at 480 lines of ``mob`` scaled so that the glyph the audit measures it by
    (its x-height, or its digits') is at the floor."""
    glyph = GLYPH_PER_POINT[(family, glyph_kind(string, family == "tex"))] * mob.font_size
    return mob.width * MIN_GLYPH_PX_AT_480 / glyph, mob.height * MIN_GLYPH_PX_AT_480 / glyph


@functools.cache
def text_size_px(string: str) -> tuple[float, float]:
    """Width and height (pixels at 480 lines) of an edge label or gate symbol drawn at the floor."""
    if not string:
        return 0.0, 0.0
    return _at_floor(Text(string, font=style.FONTS["en"], font_size=48), "text", string)


@functools.cache
def tex_size_px(tex: str) -> tuple[float, float]:
    """Width and height (pixels at 480 lines) of a name (x, w_{0}, q_{12}) drawn at the floor."""
    return _at_floor(style.math(tex, font_size=48), "tex", tex)


@functools.cache
def symbol_block_px(symbol: str) -> tuple[float, float]:
    """The narrowest block a gate's symbol can be written in at the floor: on one line, or on two."""
    blocks = [text_size_px(symbol)]
    for cut in range(1, len(symbol)):
        (w1, h1), (w2, h2) = text_size_px(symbol[:cut]), text_size_px(symbol[cut:])
        blocks.append((max(w1, w2), h1 + h2))
    return min(blocks, key=lambda b: float(np.hypot(*b)))


def gate_diameter_px(symbol: str, name_tex: str | None) -> float:
    """A gate circle's least diameter: the diagonal of its symbol (and name, below or beside it) plus outline."""
    sw, sh = symbol_block_px(symbol)
    if name_tex is None:
        return float(np.hypot(sw, sh)) + 2 * OUTLINE_PX
    nw, nh = tex_size_px(name_tex)
    return min(float(np.hypot(max(sw, nw), sh + nh)), float(np.hypot(sw + nw, max(sh, nh)))) + 2 * OUTLINE_PX


def _label_px(texts: list[str]) -> float:
    return max(text_size_px(t)[0] for t in texts)


def least_row_px(trace: GraphTrace) -> tuple[float, int]:
    """(the least width in pixels at 480 lines of the widest row from a leaf to the output, its gates)."""
    nt = Notation(trace)
    sent = {(src, s.node, slot): nt.downstream(s, slot) for s in trace.backward
            for slot, src in enumerate(trace.nodes[s.node].inputs) if s.downstream[slot] is not None}

    def label(src: str, key) -> float:
        value = nt.value(src)
        if np.ndim(value):  # a matrix's label: its least width is not counted (a lower bound stays one)
            return 0.0
        texts = [style.fmt_value(float(value))]
        if key in sent and np.ndim(sent[key]) == 0:
            texts.append(style.fmt_grad(float(sent[key])))
        return _label_px(texts)

    # the names measured below, typeset in one LaTeX run (a run each: a fifth of a second a name)
    style.expect_math({nt.tex(nid) for nid in trace.forward
                       if trace.nodes[nid].is_leaf or nt.shows_name(nid)}, font_size=48)
    widest: dict[str, tuple[float, int]] = {}  # node -> (least width from a leaf's name to it, gates)
    for nid in trace.forward:
        n = trace.nodes[nid]
        if n.is_leaf:
            widest[nid] = (tex_size_px(nt.tex(nid))[0], 0)
            continue
        gate = gate_diameter_px(n.symbol, nt.tex(nid) if nt.shows_name(nid) else None)
        widest[nid] = max((widest[src][0] + label(src, (src, nid, slot)) + gate, widest[src][1] + 1)
                          for slot, src in enumerate(n.inputs))
    out = trace.output
    width, gates = widest[out]
    value = nt.value(out)
    if np.ndim(value) == 0:  # the output's own edge: its value and the seed
        width += _label_px([style.fmt_value(float(value)), style.fmt_grad(1.0)])
    return width, gates


def available_px(safe_margin: float) -> float:
    """The safe area's width in pixels at 480 lines (819.8 at 854x480)."""
    return config.pixel_width / config.pixel_height * 480 * (1 - 2 * safe_margin)


def too_deep(trace: GraphTrace, safe_margin: float) -> bool:
    """Whether no layout can draw the graph whole in the frame with its texts at the floor."""
    return least_row_px(trace)[0] > available_px(safe_margin)
