"""A lecture's title card: the lecture or chapter title, held for a moment."""
from __future__ import annotations

import os

from manim import DOWN, UP, Scene, Text, VGroup

from scenes import style
from scenes.animations import fade_in, fade_out
from scenes.glyphs import merge_glyphs


class TitleCard(Scene):
    """Title (and subtitle) from $BACKPROP_TITLE / $BACKPROP_SUBTITLE."""

    hold = 1.6

    def construct(self):
        title = merge_glyphs(Text(os.environ.get("BACKPROP_TITLE", "Backpropagation"), font=style.caption_font(),
                                  font_size=52, color=style.TEXT))
        parts = [title]
        sub = os.environ.get("BACKPROP_SUBTITLE")
        if sub:
            parts.append(merge_glyphs(Text(sub, font=style.caption_font(), font_size=30, color=style.MUTED)))
        card = VGroup(*parts).arrange(DOWN, buff=0.4)
        if card.width > 12.5:
            card.scale(12.5 / card.width)
        self.play(fade_in(card, shift=0.2 * UP), run_time=0.6)
        self.wait(self.hold)
        self.play(fade_out(card), run_time=0.4)
