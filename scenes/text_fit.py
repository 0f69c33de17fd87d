"""Titles and captions that are never cut: their own lines kept, the font shrunk, long lines wrapped."""
from __future__ import annotations

import functools

import numpy as np
from manim import LEFT, UP, Text

from scenes import style
from scenes.glyphs import merge_glyphs

TITLE_WIDTH = 12.8
TITLE_SIZES = (34, 30, 26, 24)  # the title shrinks to fit before it wraps onto more lines


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
    digit = style.once(Text, "0", font=mob.font, font_size=mob.font_size).height
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
    Pango lays out each line, so right-to-left scripts (Arabic, Hebrew) read in their own direction.
    Laid out once per process for the same text, settings, colour and font (a scene repeats its captions
    step after step); each call gets a copy to place."""
    return _fitted(text, tuple(sizes), width, max_lines, kind, str(color), style.caption_font()).copy()


@functools.lru_cache(maxsize=256)
def _fitted(text: str, sizes: tuple[int, ...], width: float, max_lines: int, kind: str, color: str, font: str) -> Text:
    def make(lines, size):
        mob = merge_glyphs(raise_superscripts(style.once(Text, "\n".join(lines).translate(SUPERSCRIPT_CHARS),
                                                   font=font, font_size=size, color=color,
                                                   line_spacing=0.8), "\n".join(lines)))
        mob.audit_kind = kind
        return mob

    given = [line.strip() for line in text.strip().splitlines() if line.strip()] or [""]
    if len(given) <= max_lines:  # a smaller font before a wrapped line
        for size in sizes:
            mob = make(given, size)
            if mob.width <= width:
                return mob
    for size in sizes:
        lines = []
        for line in given:
            current = ""
            for word in line.split(" "):
                trial = f"{current} {word}".strip()
                if current and make([trial], size).width > width:
                    lines.append(current)
                    current = word
                else:
                    current = trial
            lines.append(current)
        mob = make(lines, size)
        if len(lines) <= max_lines and mob.width <= width:
            return mob
    return mob.scale(width / mob.width) if mob.width > width else mob


def title_mobject(text: str) -> Text:
    """The title: from 34 down to 24 points (an x-height of 11 px at 854x480), at most 3 lines."""
    return fitted_text(text, TITLE_SIZES, TITLE_WIDTH, 3, "title", style.TEXT)
