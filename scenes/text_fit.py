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


def _set(text: str, font: str, size: float, color: str, **extra) -> Text:
    """``text`` set as a caption is, its superscripts as ordinary characters (raise_superscripts then shrinks
    and raises them): what a line drawn and a line measured both start from, so that they agree."""
    return style.once(Text, text.translate(SUPERSCRIPT_CHARS), font=font, font_size=size, color=color,
                      line_spacing=0.8, **extra)


@functools.lru_cache(maxsize=256)
def _fitted(text: str, sizes: tuple[int, ...], width: float, max_lines: int, kind: str, color: str, font: str) -> Text:
    def make(lines, size):
        joined = "\n".join(lines)
        mob = merge_glyphs(raise_superscripts(_set(joined, font, size, color), joined))
        mob.audit_kind = kind
        return mob

    given = [line.strip() for line in text.strip().splitlines() if line.strip()] or [""]
    # A Text's width is its size times a constant (to 0.02% from 22 to 34 points), so a text laid out at the
    # first size tells the others' widths: a size that is clearly too wide is not laid out again
    if len(given) <= max_lines:  # a smaller font before a wrapped line
        at_first = None
        for size in sizes:
            if at_first is not None and at_first * size / sizes[0] > (1 + FIT_MARGIN) * width:
                continue
            mob = make(given, size)
            if at_first is None:
                at_first = mob.width
            if mob.width <= width:
                return mob
    words = [[word for word in line.split(" ") if word] for line in given]  # (runs of spaces wrap as one)
    extents = _word_extents(tuple(w for line in words for w in line), font, sizes[0], color)
    for size in sizes:
        scale = size / sizes[0]
        first = 0  # the index of the line's first word among all the words

        def too_wide(i, j, trial):
            """Whether words i..j (``trial``) as a line are wider than ``width``: read from the words' places
            in one line of them all at the first size, scaled to this one, and only laid out on its own
            where that reading is within FIT_MARGIN of the width."""
            if extents is not None:
                estimate = scale * (max(r for _, r in extents[i:j + 1]) - min(left for left, _ in extents[i:j + 1]))
                if abs(estimate - width) > FIT_MARGIN * width:
                    return estimate > width
            return make([trial], size).width > width

        lines = []
        for line in words:
            current, start = "", first
            for k, word in enumerate(line, first):
                trial = f"{current} {word}".strip()
                if current and too_wide(start, k, trial):
                    lines.append(current)
                    current, start = word, k
                else:
                    current = trial
            lines.append(current)
            first += len(line)
        if len(lines) > max_lines and size != sizes[-1]:  # (the last size's lines are scaled to fit if need be)
            continue
        mob = make(lines, size)
        if len(lines) <= max_lines and mob.width <= width:
            return mob
    return mob.scale(width / mob.width) if mob.width > width else mob


# A line's width read from its words' places (see _word_extents) is trusted this far from the width it must
# fit; nearer, the line is laid out on its own. The two differ by kerning across a space, a ligature's width
# against its letters' and a space's gap between measured lines (a few hundredths of an em each, far under 2%
# of a line), so the wrap is the one laying out every trial line gives (tests/test_text_fit.py compares them).
FIT_MARGIN = 0.02


# Words are measured a few at a time: Pango breaks a line longer than its layout's width (which follows the
# frame's pixel width), and a caption's words in one line can be twice the frame
MEASURED_CHARS = 40


@functools.lru_cache(maxsize=256)
def _word_extents(words: tuple[str, ...], font: str, size: int, color: str):
    """Each word's left and right ink edge in a line of all ``words`` at this size, superscripts raised as a
    caption's are, ligatures (fi, fl) apart so that each character is a glyph: read from lines of up to
    MEASURED_CHARS characters set end to end, a space's gap (their median one) apart. None where glyphs and
    characters do not pair up all the same, or a measured line was broken."""
    chunks: list[list[str]] = []
    for word in words:
        if chunks and len(" ".join(chunks[-1])) + 1 + len(word) <= MEASURED_CHARS:
            chunks[-1].append(word)
        else:
            chunks.append([word])
    measured = [_line_extents(tuple(chunk), font, size, color) for chunk in chunks]
    if any(m is None for m in measured):
        return None
    gaps = [b[0] - a[1] for m in measured for a, b in zip(m, m[1:])]
    if len(measured) > 1 and not gaps:
        return None
    gap = float(np.median(gaps)) if gaps else 0.0
    extents: list[tuple[float, float]] = []
    for m in measured:
        shift = 0.0 if not extents else extents[-1][1] + gap - m[0][0]
        extents += [(left + shift, right + shift) for left, right in m]
    return tuple(extents)


def _line_extents(words: tuple[str, ...], font: str, size: int, color: str):
    """Each word's left and right ink edge in one line of ``words`` (None as _word_extents says)."""
    line = " ".join(words)
    mob = _set(line, font, size, color, disable_ligatures=True)
    if len(mob.submobjects) != len(line):  # (without ligatures Manim makes a glyph of each character, spaces too)
        return None
    mob.submobjects = [g for c, g in zip(line, mob.submobjects) if not c.isspace()]
    raise_superscripts(mob, line)
    counts = [sum(not c.isspace() for c in word) for word in words]
    if not all(counts):
        return None
    extents, first = [], 0
    for count in counts:
        glyphs = mob.submobjects[first:first + count]
        extents.append((min(g.get_left()[0] for g in glyphs), max(g.get_right()[0] for g in glyphs)))
        first += count
    if any(later[0] <= earlier[0] for earlier, later in zip(extents, extents[1:])):
        return None  # Pango broke the line after all: not one line to read
    return extents


def title_mobject(text: str) -> Text:
    """The title: from 34 down to 24 points (an x-height of 11 px at 854x480), at most 3 lines."""
    return fitted_text(text, TITLE_SIZES, TITLE_WIDTH, 3, "title", style.TEXT)
