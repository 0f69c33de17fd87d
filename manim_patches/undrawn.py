"""Renderers that build a scene without drawing it, noting something after each animation (Manim's `play`).

``CostingRenderer`` records what each animation will cost to draw and encode, for the chunk plan
(pipeline/chunks.py); ``SnapshotRenderer`` is Manim's renderer with every animation skipped and a hook
before and after each, which the screen audit's renderer fills in (audit/screen.AuditRenderer).
"""
from __future__ import annotations

from manim_patches.speedups import SkipsDrawing


class CostingRenderer(SkipsDrawing):
    """Each animation's frames at ``fps`` and its expected cost: frames x objects on screen, the part of a
    render that grows with the scene."""

    def __init__(self, fps: int, **kwargs):
        super().__init__(skip_animations=True, **kwargs)
        self.fps = fps
        self.costs: list[float] = []
        self.frames: list[int] = []

    def play(self, scene, *args, **kwargs):
        super().play(scene, *args, **kwargs)
        n = max(1, round(scene.duration * self.fps))
        self.frames.append(n)
        self.costs.append(n * (1 + len(scene.get_mobject_family_members())))


class SnapshotRenderer(SkipsDrawing):
    """Manim's renderer with every animation skipped (no frame is drawn, not even the static image Manim
    draws and throws away for a skipped animation), calling ``before_play(scene,
    args)`` and ``after_play(scene, args, start)`` around each animation (``start``: its start time)."""

    def __init__(self, **kwargs):
        super().__init__(skip_animations=True, **kwargs)

    def play(self, scene, *args, **kwargs):
        start = self.time
        self.before_play(scene, args)
        super().play(scene, *args, **kwargs)
        self.after_play(scene, args, start)

    def before_play(self, scene, args) -> None:
        pass

    def after_play(self, scene, args, start: float) -> None:
        pass
