"""The cases of the training scenes, their charts, timing, title card, notation and caption audit, one table each.

Each table crosses the options and boundaries where a one-line mistake would hide: a ratio equal to the
vanishing threshold, a count equal to the number of seeds, a NaN at the first sample, a pace other than 1, a
hold keyed to another step, the last layer against the first. Expected values are worked by hand from what a
viewer should see (scenes/style.py's wording and palette), never taken from the code under test.
"""
from __future__ import annotations

import numpy as np
import pytest

from scenes import style
from scenes.training_scenes import VanishingGradients, nice_range


@pytest.fixture
def lang(monkeypatch):
    """Captions in a language for one test (style.caption reads it from the environment)."""
    def use(code: str):
        monkeypatch.setenv("BACKPROP_LANG", code)
    use("en")
    return use


def seeds(act: str, n: int = 1, solved: int = 0, diverged: int = 0, dead: int = 0, ratio=None) -> dict:
    """One activation's seed summary, as engine/training.seed_summary writes it."""
    return {"activation": act, "seeds": n, "solved": solved, "diverged": diverged, "dead_at_init": dead,
            "median_ratio": ratio}


# --- nice_range: the y axes of the slopes and loss charts ---------------------------------------------------
@pytest.mark.parametrize("lo, hi, most, expected", [
    (0.0, 1.0, 6, [0.0, 1.0, 0.25]),  # the finest step that fits
    (0.0, 1.5, 6, [0.0, 1.5, 0.25]),  # exactly six steps of 0.25: still fits
    (0.0, 1.6, 6, [0.0, 2.0, 0.5]),  # seven would not: the next step, ends rounded out
    (0.0, 3.0, 6, [0.0, 3.0, 0.5]),  # the loss chart's cap
    (0.0, 3.2, 6, [0.0, 4.0, 1.0]),
    (-1.2, 0.3, 6, [-1.5, 0.5, 0.5]),  # a negative low end is rounded down, not toward 0
    (0.0, 55.0, 6, [0.0, 60.0, 10.0]),  # the largest round step
    (0.0, 100.0, 6, [0.0, 100.0, 100.0 / 6]),  # past it: the range itself in six parts
    (0.0, 1.0, 2, [0.0, 1.0, 0.5]),  # fewer steps allowed
])
def test_an_axis_range_is_rounded_out_to_at_most_six_round_steps(lo, hi, most, expected):
    assert nice_range(lo, hi, most) == pytest.approx(expected)


# --- the step-0 caption: which activations vanished, which are dead ---------------------------------------
@pytest.mark.parametrize("summary, expected", [
    # the threshold is two orders of magnitude: a ratio of exactly 1/100 has not vanished
    ([seeds("sigmoid", 3, ratio=0.01)], "step 0: no activation here loses more than a factor of 100 from the last "
                                        "layer to the first"),
    ([seeds("sigmoid", 3, ratio=0.0099)], "step 0: sigmoid's first layer gets a gradient 2 orders of magnitude "
                                          "below its last"),
    ([seeds("sigmoid", 3, ratio=0.001)], "step 0: sigmoid's first layer gets a gradient 3 orders of magnitude "
                                         "below its last"),  # an exact power of ten: its own decades
    ([seeds("tanh", 3, ratio=3e-5)], "step 0: tanh's first layer gets a gradient 4 orders of magnitude below its last"),
    # no gradient at all, or no ratio, is not "vanished"
    ([seeds("relu", 3, ratio=0.0)], "step 0: no activation here loses more than a factor of 100 from the last "
                                    "layer to the first"),
    ([seeds("relu", 3, ratio=None)], "step 0: no activation here loses more than a factor of 100 from the last "
                                     "layer to the first"),
    # dead on every seed is dead; on some seeds, or with no seeds, is not
    ([seeds("relu", 3, dead=3)], "ReLU: dead at initialisation (no gradient reaches the first layer)"),
    ([seeds("relu", 3, dead=2)], "step 0: no activation here loses more than a factor of 100 from the last "
                                 "layer to the first"),
    ([seeds("relu", 0, dead=0)], "step 0: no activation here loses more than a factor of 100 from the last "
                                 "layer to the first"),
    ([seeds("relu", 1, dead=1), seeds("leaky_relu", 1, dead=1)],
     "ReLU, leaky ReLU: dead at initialisation (no gradient reaches the first layer)"),
    # several vanished, in the summary's order; then the dead, after two spaces
    ([seeds("tanh", 2, ratio=1e-4), seeds("sigmoid", 2, ratio=0.005), seeds("relu", 2, dead=2, ratio=0.5)],
     "step 0: tanh's first layer gets a gradient 4 orders of magnitude below its last; sigmoid's first layer gets "
     "a gradient 2 orders of magnitude below its last  ReLU: dead at initialisation (no gradient reaches the "
     "first layer)"),
])
def test_the_step_zero_caption_names_activations_below_a_hundredth_and_those_dead_on_every_seed(summary, expected,
                                                                                                lang):
    assert VanishingGradients.vanish_caption({"seed_summary": summary}) == expected


def test_the_korean_step_zero_caption_says_the_same_decades_and_names(lang):
    lang("ko")
    summary = [seeds("sigmoid", 2, ratio=0.002), seeds("relu", 2, dead=2)]
    assert VanishingGradients.vanish_caption({"seed_summary": summary}) == (
        "스텝 0: sigmoid의 첫 층 기울기는 마지막 층보다 2자릿수 작다  "
        "ReLU: 초기화부터 죽은 망 (첫 층에 기울기가 도달하지 않는다)")


# --- the outcome caption: one seed names runs, several count them ------------------------------------------
@pytest.mark.parametrize("summary, steps, expected", [
    ([seeds("tanh", solved=1)], 400, "after 400 steps: solved XOR: tanh"),
    ([seeds("sigmoid")], 400, "after 400 steps: not solved: sigmoid"),
    ([seeds("leaky_relu", diverged=1)], 400, "after 400 steps: diverged (NaN): leaky ReLU"),
    # always solved, then not solved, then diverged, whatever the summary's order; names joined by commas
    ([seeds("leaky_relu", diverged=1), seeds("sigmoid"), seeds("relu", solved=1), seeds("tanh", solved=1)], 20000,
     "after 20000 steps: solved XOR: ReLU, tanh; not solved: sigmoid; diverged (NaN): leaky ReLU"),
    # several seeds: counts per activation, out of the seeds; a NaN count only where some diverged
    ([seeds("tanh", 2, solved=2), seeds("relu", 2, solved=0, diverged=2)], 300,
     "after 300 steps, runs at accuracy 1 out of 2 seeds: tanh 2, ReLU 0 (2 diverged to NaN)"),
    ([seeds("sigmoid", 5, solved=1, diverged=0)], 50, "after 50 steps, runs at accuracy 1 out of 5 seeds: sigmoid 1"),
])
def test_the_outcome_caption_names_each_runs_end_or_counts_its_seeds(summary, steps, expected, lang):
    assert VanishingGradients.outcome_caption({"seed_summary": summary}, steps) == expected


def test_the_korean_one_seed_outcome_caption_names_the_same_runs(lang):
    lang("ko")
    summary = [seeds("tanh", solved=1), seeds("sigmoid"), seeds("relu", diverged=1)]
    assert VanishingGradients.outcome_caption({"seed_summary": summary}, 400) == (
        "400 스텝 후: XOR 해결: tanh; 해결 못함: sigmoid; 발산 (NaN): ReLU")
