"""Render settings as one object, the values each may take, and the environment that carries them into a scene.

Every layer reads these (the CLI offers the choices, the pipeline renders with them, a scene checks the
pace it is given), so they live at the bottom, free of Manim. A render is asked for with one frozen
``RenderOptions``; the scene itself still reads its inputs from environment variables (``RenderOptions.env``),
the one way in that also serves the plain ``manim`` CLI running a scene file by itself.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.languages import DEFAULT_LANG, LANGS  # noqa: F401 (LANGS: the choices, beside the others)


@dataclass(frozen=True)
class Quality:
    width: int
    height: int
    fps: int


QUALITIES = {
    "low": Quality(426, 240, 10),  # drafts and the test suite
    "preview": Quality(854, 480, 15),
    "hd": Quality(1920, 1080, 60),
    "4k": Quality(3840, 2160, 60),
}
FORMATS = ("mp4", "webm", "gif", "mov", "png")  # a clip or a still
LECTURE_FORMATS = ("mp4", "webm")  # a lecture, with its subtitle and voice tracks
SLIDE_FORMATS = ("html", "pptx", "pdf")
HANDOUT_FORMATS = ("pdf", "html")
VOICES = ("none", "draft")  # a lecture's voice: silent, or espeak-ng reading the narration
THEMES = ("dark", "light")  # scenes/style.THEMES holds each one's palette
# LANGS: engine/languages.py holds each language's font, reading speed, voice and tags
# How much faster (2) or slower (0.5) a scene may play: --pace, what a scene accepts, and how far a
# recorded voice may stretch or squeeze a lecture's chapter.
PACE_RANGE = (0.5, 2.0)

# The bridge into a scene, which reads its inputs from the environment (scenes/style.py, pacing.py, ...)
SOURCE_ENV = "BACKPROP_SOURCE"
LANG_ENV = "BACKPROP_LANG"
THEME_ENV = "BACKPROP_THEME"
PACE_ENV = "BACKPROP_PACE"
HOLDS_ENV = "BACKPROP_STEP_HOLDS"
TITLE_ENV = "BACKPROP_TITLE"
SUBTITLE_ENV = "BACKPROP_SUBTITLE"


def quality_of(quality: str | Quality) -> Quality:
    """A preset's name or a Quality already made (a preset with --resolution or --fps changed)."""
    return quality if isinstance(quality, Quality) else QUALITIES[quality]


@dataclass(frozen=True)
class Timing:
    """How long a render's steps take: ``pace`` scales every animation (2 is twice as fast), ``holds``
    are least durations in seconds, keyed by step index or name prefix (scenes/pacing.py)."""
    pace: float = 1.0
    holds: tuple[tuple[int | str, float], ...] = ()

    def env(self) -> dict:
        return {PACE_ENV: repr(self.pace), HOLDS_ENV: json.dumps([list(h) for h in self.holds], ensure_ascii=False)}


@dataclass(frozen=True)
class RenderOptions:
    """Everything a render is asked for besides the scene and the file it writes.

    ``quality`` is a preset's name or a Quality; ``fmt`` mp4 (H.264), webm (VP9), gif, mov or png (a still,
    as ``still=True``); ``transparent`` keeps an alpha channel (webm, mov, gif, png); ``upto`` stops at the
    end of animation N. ``progress``: True or "line" (one line on a terminal), False or "none", "manim"
    (Manim's own bars). ``sections_dir``: also write each step as a video of its own there. ``timing``: the
    pace and the steps' least durations. ``plays`` (first, end): draw only animations first..end-1 (end
    None: to the last), one chunk of a clip (pipeline/chunks.py).
    """
    quality: str | Quality = "preview"
    theme: str = "dark"
    lang: str = DEFAULT_LANG
    timing: Timing = field(default_factory=Timing)
    fmt: str = "mp4"
    still: bool = False
    transparent: bool = False
    upto: int | None = None
    progress: bool | str = True
    sections_dir: Path | None = None
    plays: tuple[int, int | None] | None = None

    @property
    def size(self) -> Quality:
        return quality_of(self.quality)

    def env(self) -> dict:
        """The environment a scene reads its language, theme and timing from."""
        return {LANG_ENV: self.lang, THEME_ENV: self.theme, **self.timing.env()}
