"""Animations that change a mobject in place instead of copying it.

Manim's FadeIn, FadeOut and Indicate are Transforms: each play deep-copies the mobject twice (a start
and a target), and for a line of LaTeX or a table that copy costs more than drawing every frame of the
fade (docs/benchmark.md). These scale the alpha channel and the points that are already there, and
put every value back exactly when the animation ends.
"""
from __future__ import annotations

import numpy as np
from manim import Animation, Group, Mobject, VMobject, there_and_back
from manim.utils.color import ManimColor

_RGBAS = ("fill_rgbas", "stroke_rgbas", "background_stroke_rgbas")


class _InPlace(Animation):
    """Base: remembers every point and colour on begin and can put them back with ``_restore``."""

    def __init__(self, *mobjects: Mobject, **kwargs):
        mobject = mobjects[0] if len(mobjects) == 1 else Group(*mobjects)
        super().__init__(mobject, **kwargs)

    def create_starting_mobject(self) -> Mobject:
        return Mobject()  # nothing to copy: the start is remembered as arrays in begin()

    def begin(self) -> None:
        self.with_points = self.mobject.family_members_with_points()
        self.points = [m.points.copy() for m in self.with_points]
        self.parts = [m for m in self.with_points if isinstance(m, VMobject)]
        self.colours = [[getattr(m, name).copy() for name in _RGBAS] for m in self.parts]
        super().begin()

    def _restore(self) -> None:
        """Every point and colour exactly as begin() found them (not within rounding of them)."""
        for m, pts in zip(self.with_points, self.points):
            m.points = pts.copy()
        for m, saved in zip(self.parts, self.colours):
            for name, rgbas in zip(_RGBAS, saved):
                setattr(m, name, rgbas.copy())


class Fade(_InPlace):
    """Fade in (an introducer) or out (a remover), optionally sliding along ``shift``."""

    def __init__(self, *mobjects: Mobject, fade_in: bool, shift=None, **kwargs):
        super().__init__(*mobjects, introducer=fade_in, remover=not fade_in, **kwargs)
        self.fade_in = fade_in
        self.shift_vector = np.zeros(3) if shift is None else np.asarray(shift, dtype=float)

    def begin(self) -> None:
        self.offset = 0.0  # where along shift_vector the mobject sits now, as a multiple of it
        super().begin()

    def interpolate_mobject(self, alpha: float) -> None:
        t = self.rate_func(alpha)
        visible = t if self.fade_in else 1.0 - t
        for m, saved in zip(self.parts, self.colours):
            for name, rgbas in zip(_RGBAS, saved):
                getattr(m, name)[:, 3] = rgbas[:, 3] * visible
        # FadeIn arrives from -shift; FadeOut leaves towards +shift.
        offset = t - 1.0 if self.fade_in else t
        if self.shift_vector.any():
            self.mobject.shift((offset - self.offset) * self.shift_vector)
        self.offset = offset

    def finish(self) -> None:
        super().finish()
        if self.fade_in:
            self._restore()  # begin() saw the mobject as it should end up

    def clean_up_from_scene(self, scene) -> None:
        super().clean_up_from_scene(scene)
        if not self.fade_in:
            self._restore()  # as Manim's FadeOut: the removed mobject is whole again if re-added


def fade_in(*mobjects: Mobject, shift=None, **kwargs) -> Fade:
    return Fade(*mobjects, fade_in=True, shift=shift, **kwargs)


def fade_out(*mobjects: Mobject, shift=None, **kwargs) -> Fade:
    return Fade(*mobjects, fade_in=False, shift=shift, **kwargs)


class Pulse(_InPlace):
    """Manim's Indicate without its copies: grow by ``scale_factor`` and tint to ``color``, then back."""

    def __init__(self, mobject: Mobject, color, scale_factor: float = 1.2, rate_func=there_and_back, **kwargs):
        super().__init__(mobject, rate_func=rate_func, **kwargs)
        self.rgba = np.array(ManimColor(color).to_rgba())
        self.scale_factor = scale_factor

    def begin(self) -> None:
        self.center = self.mobject.get_center()
        super().begin()

    def interpolate_mobject(self, alpha: float) -> None:
        t = self.rate_func(alpha)
        scale = 1.0 + (self.scale_factor - 1.0) * t
        for m, pts in zip(self.with_points, self.points):
            m.points = self.center + (pts - self.center) * scale
        for m, saved in zip(self.parts, self.colours):
            for name, rgbas in zip(_RGBAS[:2], saved):  # fill and stroke, as set_color tints
                getattr(m, name)[:, :3] = rgbas[:, :3] + (self.rgba[:3] - rgbas[:, :3]) * t

    def finish(self) -> None:
        super().finish()
        self._restore()


class Pan(_InPlace):
    """Slide mobjects by ``shift`` (the graph under a window too small for it); no copies, as above."""

    def __init__(self, *mobjects: Mobject, shift, **kwargs):
        super().__init__(*mobjects, **kwargs)
        self.shift_vector = np.asarray(shift, dtype=float)

    def interpolate_mobject(self, alpha: float) -> None:
        t = self.rate_func(alpha)
        for m, pts in zip(self.with_points, self.points):
            m.points = pts + t * self.shift_vector

    def finish(self) -> None:
        super().finish()
        for m, pts in zip(self.with_points, self.points):
            m.points = pts + self.shift_vector
