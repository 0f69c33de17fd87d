"""Subtitles drawn into the picture, for players that ignore subtitle tracks and sidecar files.

The scene's own captions and equations sit at the bottom of the frame, so subtitles drawn over them
would hide what they explain. The picture is scaled down instead, into the frame above a band that
holds the subtitle, in the theme's background and text colours: nothing of the scene is covered.
Text is drawn by Pillow (Manim's own dependency) in the captions' font, found through fontconfig.
"""
from __future__ import annotations

import functools
import subprocess

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.narration import Cue

BAND = 0.18  # of the frame's height, below the picture
MAX_LINES = 2


@functools.cache
def font_file(family: str) -> str:
    out = subprocess.run(["fc-match", "-f", "%{file}", family], capture_output=True, text=True, timeout=30)
    if out.returncode != 0 or not out.stdout:
        raise RuntimeError(f"fontconfig finds no font for {family!r}")
    return out.stdout


def _hex(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap of each line of ``text`` to ``width`` pixels (a word longer than that stays whole)."""
    lines = []
    for paragraph in text.splitlines():
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if line and font.getlength(trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        if line:
            lines.append(line)
    return lines


class Burner:
    """Frames of ``width`` x ``height`` with the picture scaled above a subtitle band."""

    def __init__(self, width: int, height: int, cues: list[Cue], background: str, text: str, family: str):
        self.width, self.height, self.cues = width, height, sorted(cues, key=lambda c: c.start)
        band = int(round(height * BAND))
        scale = (height - band) / height
        self.pic_w, self.pic_h = 2 * round(width * scale / 2), 2 * round((height - band) / 2)
        self.x0 = (width - self.pic_w) // 2
        self.background, self.text = _hex(background), _hex(text)
        self.family = family
        self._band_of: dict[int, np.ndarray] = {}

    def cue_at(self, t: float) -> int | None:
        for i, c in enumerate(self.cues):
            if c.start <= t < c.end:
                return i
        return None

    def _band(self, index: int | None) -> np.ndarray:
        """The band's pixels (RGB) with cue ``index`` written in it, made once per cue."""
        if index not in self._band_of:
            h = self.height - self.pic_h
            img = Image.new("RGB", (self.width, h), self.background)
            if index is not None:
                self._write(ImageDraw.Draw(img), self.cues[index].text, h)
            self._band_of[index] = np.asarray(img)
        return self._band_of[index]

    def _write(self, draw: ImageDraw.ImageDraw, text: str, h: int) -> None:
        size = max(10, int(h / (MAX_LINES + 0.8)))
        while True:  # the largest size at which the cue takes at most MAX_LINES lines
            font = ImageFont.truetype(font_file(self.family), size)
            lines = wrap(text, font, self.width * 0.92)
            if len(lines) <= MAX_LINES or size <= 10:
                break
            size -= 1
        line_h = size * 1.2
        top = (h - line_h * len(lines)) / 2
        for k, line in enumerate(lines):
            draw.text((self.width / 2, top + k * line_h + line_h / 2), line, font=font, fill=self.text, anchor="mm")

    def frame(self, rgb: np.ndarray, t: float) -> np.ndarray:
        """The output frame at time ``t`` for the scene's frame ``rgb`` (height x width x 3, uint8)."""
        picture = np.asarray(Image.fromarray(rgb).resize((self.pic_w, self.pic_h), Image.LANCZOS))
        out = np.empty((self.height, self.width, 3), np.uint8)
        out[:self.pic_h] = self.background
        out[:self.pic_h, self.x0:self.x0 + self.pic_w] = picture
        out[self.pic_h:] = self._band(self.cue_at(t))
        return out
