"""Titles and captions that are never cut: their own lines kept, the font shrunk, long lines wrapped."""
from __future__ import annotations

from manim import Text

from scenes import style
from scenes.glyphs import merge_glyphs

TITLE_WIDTH = 12.8
TITLE_SIZES = (34, 30, 26, 24)  # the title shrinks to fit before it wraps onto more lines


def fitted_text(text: str, sizes: tuple[int, ...], width: float, max_lines: int, kind: str, color) -> Text:
    """Text never cut: its own lines kept, the font shrunk step by step through ``sizes`` until it fits
    ``width``; failing that, long lines wrapped at spaces (largest size first) into at most ``max_lines``;
    only then scaled to the width.
    Pango lays out each line, so right-to-left scripts (Arabic, Hebrew) read in their own direction."""
    def make(lines, size):
        mob = merge_glyphs(Text("\n".join(lines), font=style.caption_font(), font_size=size, color=color,
                                line_spacing=0.8))
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
