"""Titles and captions that are never cut: their own lines kept, the font shrunk, long lines wrapped.

Choosing a size and the line breaks needs the width of many candidate lines. Building a Text for each
(Pango, then the SVG turned into mobjects) cost up to 55 layouts for one caption, most of a histogram
scene's render. Instead the caption is laid out once, and the width of any run of its words at any size
is read from that layout: a line's width is its glyphs' extent, and Pango's outlines scale with the font
size (to within 0.03%). Every choice made from these estimates is then built for real and checked, and
text whose glyphs do not map one to one onto its characters (ligatures, scripts that join letters) is
fitted by building each candidate, as before; so is right-to-left text, whose glyphs come in visual order.
"""
from __future__ import annotations

import unicodedata

import numpy as np
from manim import LEFT, UP, Text

from scenes import style
from scenes.glyphs import merge_glyphs

TITLE_WIDTH = 12.8
TITLE_SIZES = (34, 30, 26, 24)  # the title shrinks to fit before it wraps onto more lines
# An estimate this close to the width is checked by building the text: the estimates' error is ten times less.
_TOLERANCE = 0.003


# A font's own superscript glyphs are a third of its digits' height or less (NanumGothic's ² is 4.8 px in a
# 24-point title at 854x480): each is drawn as the ordinary character at SUPERSCRIPT_SCALE, raised.
SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ᵀ"
SUPERSCRIPT_CHARS = str.maketrans(SUPERSCRIPTS, "0123456789+−T")
SUPERSCRIPT_SCALE = 0.75  # of the text's size: 10.4 px digits at the smallest caption size, 22 points
SUPERSCRIPT_RISE = 0.4  # of a full digit's height


def raise_superscripts(mob: Text, original: str) -> Text:
    """``mob`` was made from ``original`` with its superscript characters made ordinary (SUPERSCRIPT_CHARS):
    shrink each of those to SUPERSCRIPT_SCALE and raise it, closing the gap it leaves on its line."""
    chars = [c for c in original if not c.isspace()]
    glyphs = mob.submobjects
    if not any(c in SUPERSCRIPTS for c in chars) or len(chars) != len(glyphs):  # (shaped scripts: left as set)
        return mob
    digit = Text("0", font=mob.font, font_size=mob.font_size).height
    for i, (c, glyph) in enumerate(zip(chars, glyphs)):
        if c not in SUPERSCRIPTS:
            continue
        line_bottom, line_top = glyph.get_bottom()[1], glyph.get_top()[1]
        left = glyph.get_left()[0]
        width = glyph.width
        glyph.scale(SUPERSCRIPT_SCALE, about_point=glyph.get_corner(np.array([-1.0, -1.0, 0.0])))
        glyph.shift(SUPERSCRIPT_RISE * digit * UP)
        gap = width - glyph.width
        for later in glyphs[i + 1:]:  # the rest of its line moves left into the room it freed
            if later.get_left()[0] > left and later.get_bottom()[1] < line_top and later.get_top()[1] > line_bottom:
                later.shift(gap * LEFT)
    return mob


def fitted_text(text: str, sizes: tuple[int, ...], width: float, max_lines: int, kind: str, color) -> Text:
    """Text never cut: its own lines kept, the font shrunk step by step through ``sizes`` until it fits
    ``width``; failing that, long lines wrapped at spaces (largest size first) into at most ``max_lines``;
    only then scaled to the width.
    Pango lays out each line, so right-to-left scripts (Arabic, Hebrew) read in their own direction."""
    def make(lines, size):
        mob = merge_glyphs(raise_superscripts(Text("\n".join(lines).translate(SUPERSCRIPT_CHARS),
                                                   font=style.caption_font(), font_size=size, color=color,
                                                   line_spacing=0.8), "\n".join(lines)))
        mob.audit_kind = kind
        return mob

    given = [line.strip() for line in text.strip().splitlines() if line.strip()] or [""]
    words = [line.split(" ") for line in given]
    measure = _WordExtents.of(given, sizes[0])
    if measure is None:  # glyphs that are not one per character: measure each candidate by building it
        def line_width(line, j, k, size):
            return make([" ".join(words[line][j:k])], size).width
        tolerance = 0.0
    else:
        line_width, tolerance = measure.width, _TOLERANCE

    def fits(estimate: float) -> bool:
        return estimate <= width * (1 + tolerance)

    if len(given) <= max_lines:  # a smaller font before a wrapped line
        for size in sizes:
            if fits(max(line_width(i, 0, len(w), size) for i, w in enumerate(words))):
                mob = make(given, size)
                if mob.width <= width:
                    return mob
    for size in sizes:
        lines = []
        for i, line_words in enumerate(words):
            start = 0
            for k in range(1, len(line_words)):
                if line_width(i, start, k + 1, size) > width:  # the word after ``start..k`` goes on a new line
                    lines.append(" ".join(line_words[start:k]))
                    start = k
            lines.append(" ".join(line_words[start:]))
        if len(lines) <= max_lines and fits(max(_width_of(lines, words, line_width, size))):
            mob = make(lines, size)
            if mob.width <= width:
                return mob
    mob = make(lines, sizes[-1])
    return mob.scale(width / mob.width) if mob.width > width else mob


def _width_of(lines: list[str], words: list[list[str]], line_width, size) -> list[float]:
    """The estimated width of each wrapped line, found as a run of words of a given line."""
    widths, i, start = [], 0, 0
    for line in lines:
        count = len(line.split(" "))
        widths.append(line_width(i, start, start + count, size))
        start += count
        if start >= len(words[i]):
            i, start = i + 1, 0
    return widths


class _WordExtents:
    """Each word's horizontal extent in one layout of the given lines, at one size."""

    def __init__(self, extents: list[list[tuple[float, float]]], size: float):
        self.extents = extents  # per given line, per word: (left, right) of its glyphs
        self.size = size

    @classmethod
    def of(cls, lines: list[str], size: float) -> "_WordExtents | None":
        """Measured from one Text of ``lines``, or None where its glyphs are not one per character, or
        right-to-left text puts them in another order."""
        if any(unicodedata.bidirectional(c) in ("R", "AL", "AN") for line in lines for c in line):
            return None
        layout = Text("\n".join(lines).translate(SUPERSCRIPT_CHARS), font=style.caption_font(), font_size=size,
                      line_spacing=0.8)  # (superscripts as make() sets them, before they are shrunk)
        glyphs = iter(layout.submobjects)
        if len(layout.submobjects) != sum(not c.isspace() for c in "".join(lines)):
            return None
        extents = []
        for line in lines:
            per_word = []
            for word in line.split(" "):
                boxes = [next(glyphs) for c in word if not c.isspace()]
                per_word.append((min(b.get_left()[0] for b in boxes), max(b.get_right()[0] for b in boxes))
                                if boxes else None)
            extents.append(per_word)
        return cls(extents, size)

    def width(self, line: int, start: int, stop: int, size: float) -> float:
        """Width of words ``start..stop-1`` of given line ``line`` as one line at ``size``."""
        spans = [s for s in self.extents[line][start:stop] if s is not None]
        if not spans:
            return 0.0
        return (max(r for _, r in spans) - min(left for left, _ in spans)) * size / self.size


def title_mobject(text: str) -> Text:
    """The title: from 34 down to 24 points (an x-height of 11 px at 854x480), at most 3 lines."""
    return fitted_text(text, TITLE_SIZES, TITLE_WIDTH, 3, "title", style.TEXT)
