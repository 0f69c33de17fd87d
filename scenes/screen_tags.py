"""What a drawn shape is, for the screen audit (audit/screen.py): set where the scene makes the shape.

The audit recognises most shapes by their class (a graph's gate circles and edges, Manim's Axes); a
curve, a bar chart or a legend entry is a plain VMobject or Text, so the scene says what it is with
``tag_shape`` (one call where it is made). Scenes import this module, never audit/.
"""
from __future__ import annotations

SHAPE_KINDS = ("gate", "edge", "axis", "curve", "bar", "legend")


def tag_shape(mob, kind: str, label: str | None = None):
    """Mark ``mob`` as a ``kind`` of shape; ``label`` ties a legend entry to its curves (the same label).
    Returns ``mob``, so a tag fits where the mobject is made."""
    if kind not in SHAPE_KINDS:
        raise ValueError(f"unknown shape kind {kind!r}: one of {', '.join(SHAPE_KINDS)}")
    mob.audit_shape = kind
    mob.audit_label = label
    return mob
