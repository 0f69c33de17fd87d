"""Text's glyph outlines closed with NumPy; the points are the ones Manim's own loop makes.

After parsing a text's SVG, Manim 0.22's ``Text.__init__`` walks every point of every glyph in Python to
close each outline: wherever a curve ends away from where the next one starts (a glyph's subpaths), it
puts in a straight line (as a cubic) back to the subpath's start, and it closes the last subpath the same
way. With every label a Text, that walk was about a twentieth of building a scene.

Here the subpath boundaries are found in one comparison and the lines are made with the same arithmetic,
``(a + a + b) / 3`` and ``(a + b + b) / 3``, element by element as Manim's loop makes them, so the arrays are
bit for bit Manim's. How it takes over the loop: ``Text.__init__`` runs as Manim wrote it, and the loop's
``for each in self`` (the first iteration over the text once ``chars`` is set, as nothing else in the
constructor iterates it) does the closing here and hands the loop nothing to do.
"""
from __future__ import annotations

import numpy as np
from manim import Text

_ORIGINAL_INIT = Text.__init__
_ORIGINAL_ITER = Text.__iter__  # VMobject's: Text has none of its own
_PENDING = "_closing_pending"


def _close(points: np.ndarray) -> np.ndarray:
    """``points`` with each subpath closed by a line back to its start, as Text.__init__'s loop does (4 points a
    curve: a new subpath starts after a curve whose end is not the next curve's start)."""
    n = len(points)
    ends = np.arange(3, n - 1, 4)
    ends = ends[(points[ends] != points[ends + 1]).any(axis=1)]
    firsts = np.concatenate(([0], ends + 1))
    lasts = np.concatenate((ends, [n - 1]))
    pieces = []
    for first, last in zip(firsts.tolist(), lasts.tolist()):
        a, b = points[last], points[first]
        pieces += [points[first:last + 1], np.array([a, (a + a + b) / 3, (a + b + b) / 3, b])]
    return np.concatenate(pieces)


def _iter(self):
    pending = self.__dict__.get(_PENDING)
    if pending and "chars" in self.__dict__ and self.n_points_per_curve == 4:
        del self.__dict__[_PENDING]
        for each in _ORIGINAL_ITER(self):  # what the loop would have walked
            if len(each.points):
                assert len(each.points[0]) == self.dim, each.points[0]
                each.points = _close(each.points)
        return iter(())
    return _ORIGINAL_ITER(self)


def text_init(self, *args, **kwargs) -> None:
    self.__dict__[_PENDING] = True
    try:
        _ORIGINAL_INIT(self, *args, **kwargs)
    finally:
        self.__dict__.pop(_PENDING, None)


def install() -> None:
    Text.__init__ = text_init
    Text.__iter__ = _iter


def uninstall() -> None:
    Text.__init__ = _ORIGINAL_INIT
    if "__iter__" in vars(Text):
        del Text.__iter__
