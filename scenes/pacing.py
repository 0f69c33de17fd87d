"""A scene's timing, set by whoever renders it: a pace, and steps held long enough to be read or heard.

The pace scales every animation and wait alike (``--pace 2`` plays twice as fast, ``0.5`` takes twice
as long), so what is shown never changes, only how long it takes. A hold is the least time, in seconds
of video, that a step lasts: a step that ends sooner waits on its last frame. Both come from the
environment, as a scene's trace does:

    BACKPROP_PACE=0.5
    BACKPROP_STEP_HOLDS='[["backward: × gate", 4.2], [0, 2.0]]'

A hold's key is a step's index (0 is the first step) or the start of its name. Keys are matched in the
order given, each to the first step after the previous key's step (see ``StepMatcher``), so a lecture
names its steps in the order they play, and a step takes one key at most.
"""
from __future__ import annotations

import json
import math
import os

from manim import Scene, config
from manim.utils.exceptions import EndSceneEarlyException

from engine.settings import HOLDS_ENV, PACE_ENV, PACE_RANGE

class StepMatcher:
    """Which key a step takes, as steps come one by one: an int key names a step by index, a string key
    by the start of its name; each key is tried only once every key before it has found its step."""

    def __init__(self, keys: list[int | str]):
        self.keys = list(keys)
        self.next = 0  # the first key without a step yet

    def see(self, index: int, name: str) -> int | None:
        """The key (its position in ``keys``) that step ``index`` named ``name`` takes, if any."""
        if self.next < len(self.keys) and _matches(self.keys[self.next], index, name):
            self.next += 1
            return self.next - 1
        return None


def _matches(key: int | str, index: int, name: str) -> bool:
    if isinstance(key, int):
        return key == index
    return name.startswith(key)


def match_steps(keys: list[int | str], names: list[str]) -> list[int | None]:
    """For every key, the index of the step it names (None: none did), as a scene matches them."""
    matcher, found = StepMatcher(keys), [None] * len(keys)
    for index, name in enumerate(names):
        k = matcher.see(index, name)
        if k is not None:
            found[k] = index
    return found


def pace_from_env() -> float:
    pace = float(os.environ.get(PACE_ENV) or 1.0)
    lo, hi = PACE_RANGE
    if not lo <= pace <= hi:
        raise ValueError(f"a pace of {pace:g} is outside {lo:g} to {hi:g}")
    return pace


def holds_from_env() -> list[tuple[int | str, float]]:
    return [(key, float(seconds)) for key, seconds in json.loads(os.environ.get(HOLDS_ENV) or "[]")]


class PacedScene(Scene):
    """A scene whose steps are Manim sections, timed by the pace and the holds its renderer asks for.

    ``step_marks`` records every step as (name, start second), for the renderer to return, and
    ``step_plays`` the number of animations played before each step: the places a clip can be cut into
    chunks rendered apart (pipeline/chunks.py). ``step_about`` says, per step, what of the trace it shows
    (a node, a backward step...), for narration written from the trace (pipeline/narration_text.py).
    """

    def setup(self):
        super().setup()
        self.pace = pace_from_env()
        holds = holds_from_env()
        self._hold_seconds = [seconds for _, seconds in holds]
        self._matcher = StepMatcher([key for key, _ in holds])
        self.step_marks: list[tuple[str, float]] = []
        self.step_plays: list[int] = []
        self.step_about: list[dict | None] = []
        self._hold = 0.0  # the current step's least duration

    def compile_animations(self, *args, **kwargs):
        animations = super().compile_animations(*args, **kwargs)
        if self.pace != 1.0:
            for animation in animations:  # a group's parts keep their share of its time
                animation.run_time = animation.run_time / self.pace
        return animations

    def step(self, name: str, about: dict | None = None) -> None:
        """Start the next step: a Manim section (a file of its own with --save_sections), one slide, a place
        a presenter pauses at. Its name says what it shows."""
        name = " ".join(name.split())[:300]
        self.wait_for_hold()
        index = len(self.step_marks)
        self.step_marks.append((name, self.time))
        self.step_plays.append(self.renderer.num_plays)
        self.step_about.append(about)
        on_step = getattr(self.renderer, "on_step", None)
        if on_step is not None:
            on_step()
        key = self._matcher.see(index, name)
        self._hold = 0.0 if key is None else self._hold_seconds[key]
        self.next_section(name)

    def wait_for_hold(self) -> None:
        """Wait on the current frame until the step has lasted its hold (a title card does so before it
        fades; every other step at its end)."""
        if not self.step_marks:
            return
        missing = self._hold - (self.time - self.step_marks[-1][1])
        self._hold = 0.0
        frames = math.ceil(missing * config.frame_rate - 1e-6)
        if frames > 0:
            # Half a frame more: Manim truncates a wait to whole frames, and 0.8 s is 7.999 frames of 0.1 s.
            # The pace divides it again: a hold is in seconds of video.
            self.wait((frames + 0.5) / config.frame_rate * self.pace)

    def tear_down(self):
        try:
            self.wait_for_hold()
        except EndSceneEarlyException:  # --upto stopped the scene: nothing more is played
            pass
        super().tear_down()
