"""A lecture's title card: the lecture or chapter title, held for a moment."""
from __future__ import annotations

import os

from manim import DOWN, UP, VGroup

from engine.settings import SUBTITLE_ENV, TITLE_ENV
from scenes import style
from scenes.animations import fade_in, fade_out
from scenes.pacing import PacedScene
from scenes.text_fit import fitted_text

CARD_WIDTH = 12.5
CARD_TITLE_SIZES = (52, 44, 38, 34)  # a long title shrinks, then wraps (at 34 points, 15 px of x-height)
CARD_SUBTITLE_SIZES = (30, 26, 24)


class TitleCard(PacedScene):
    """Title (and subtitle) from $BACKPROP_TITLE / $BACKPROP_SUBTITLE: one step, which a lecture may hold
    longer (while the chapter's narration is read or spoken)."""

    hold_time = 1.6
    fade_in_time, fade_out_time = 0.6, 0.4

    @classmethod
    def seconds(cls, timing) -> float:
        """How long the card lasts with ``timing`` (engine.settings.Timing): its only step, 0, is held."""
        hold = max((s for key, s in timing.holds if key == 0), default=0.0)
        return max((cls.fade_in_time + cls.hold_time) / timing.pace, hold) + cls.fade_out_time / timing.pace

    def construct(self):
        text = os.environ.get(TITLE_ENV, "Backpropagation")
        # each line shrinks, then wraps, on its own: scaling the card to the longest would shrink a short
        # subtitle under a long title below a readable size
        parts = [fitted_text(text, CARD_TITLE_SIZES, CARD_WIDTH, 3, "title", style.TEXT)]
        sub = os.environ.get(SUBTITLE_ENV)
        if sub:
            parts.append(fitted_text(sub, CARD_SUBTITLE_SIZES, CARD_WIDTH, 2, "caption", style.MUTED))
        card = VGroup(*parts).arrange(DOWN, buff=0.4)
        self.step(f"title: {text}")
        self.play(fade_in(card, shift=0.2 * UP), run_time=self.fade_in_time)
        self.wait(self.hold_time)
        self.wait_for_hold()  # a longer hold is spent on the card, before it fades
        self.play(fade_out(card), run_time=self.fade_out_time)
