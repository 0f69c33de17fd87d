"""Formulas announced ahead are typeset in one LaTeX run, and draw exactly as if typeset one by one."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from manim import MathTex, tempconfig
from manim.utils import tex_file_writing

from manim_patches import svg_cache, tex_batch, tex_colours
from scenes import style

FORMULAS = [
    r"\frac{\partial L}{\partial x} = \frac{\partial q}{\partial x}\,\frac{\partial L}{\partial q} = 1 \times -4",
    r"\left.\frac{\partial L}{\partial a}\right|_{\textstyle a \to q_{2}} = \frac{\partial q_{2}}{\partial a}",
    r"\setcounter{MaxMatrixCols}{12}\begin{bmatrix} 1 & 2 & 3 & 4 & 5 & 6 & 7 & 8 & 9 & 10 & 11 & 12 \end{bmatrix}",
    r"\mathrm{fc2.bias} = " + style.colored(r"\begin{bmatrix} -0.676 \\ -0.468 \end{bmatrix}", "#56B4E9")
    + r"\;\; (\mathbb{R}^{\scriptstyle 2})",
    r"q_{1} = x + y \\ f = q_{1} z",
    r"\sigma(x) = \frac{1}{1 + e^{-x}}",  # a matrix of 12 columns above: a later page is not changed by it
]
ROOT = Path(__file__).resolve().parent.parent
GLYPH_DEF = re.compile(r"g\d+-\d+")  # dvisvgm's names of font glyphs, numbered from the document's start


def _math(tex):
    return MathTex(tex, tex_template=style.TEX_TEMPLATE, color="#E69F00")


def _drawn(mob):
    """What a MathTex draws: its glyphs' points in order, its size, and its named groups' glyph counts."""
    glyphs = mob.family_members_with_points()
    groups = {k: len(v.family_members_with_points()) for k, v in mob.id_to_vgroup_dict.items()
              if not GLYPH_DEF.fullmatch(k)}
    return [g.points for g in glyphs], (mob.width, mob.height), groups


@pytest.fixture
def runs(monkeypatch):
    """Every LaTeX run from here on: Manim's own (one formula) and the batch's (many)."""
    calls = []
    compile_tex, run = tex_file_writing.compile_tex, subprocess.run
    monkeypatch.setattr(tex_file_writing, "compile_tex", lambda *a, **k: calls.append("one") or compile_tex(*a, **k))

    def counted(command, *a, **k):
        if command[0] in ("latex", "pdflatex") and command[-1].endswith("/pages.tex"):  # (Manim's go through here too)
            calls.append("batch")
        return run(command, *a, **k)
    monkeypatch.setattr(tex_batch.subprocess, "run", counted)
    return calls


@pytest.fixture
def plain_parse():
    """Manim parses each SVG itself (the glyph cache would key the two typesettings apart anyway)."""
    before = svg_cache._state["dir"] if svg_cache._state["original"] is not None else None
    svg_cache.uninstall()
    yield
    if before is not None:
        svg_cache.install(before)


def test_announced_formulas_take_one_latex_run_and_draw_as_typeset_one_by_one(tmp_path, runs, plain_parse):
    with tempconfig({"tex_dir": str(tmp_path / "one")}):
        alone = [_drawn(_math(tex)) for tex in FORMULAS]
    assert runs.count("one") == len(FORMULAS)
    runs.clear()
    with tempconfig({"tex_dir": str(tmp_path / "batch")}):
        assert tex_batch.prefetch(_math, FORMULAS) == len(FORMULAS)
        assert runs == ["batch"]
        together = [_drawn(_math(tex)) for tex in FORMULAS]
        assert runs == ["batch"]  # every formula found typeset
        assert tex_batch.prefetch(_math, FORMULAS) == 0  # and not typeset again
    for (points_a, size_a, groups_a), (points_b, size_b, groups_b) in zip(alone, together):
        assert size_a == size_b and groups_a == groups_b and len(points_a) == len(points_b)
        assert all(np.array_equal(a, b) for a, b in zip(points_a, points_b))


def test_a_coloured_formula_is_typeset_with_its_stand_in_colours(tmp_path, runs):
    installed = tex_colours._original is not None  # (the test session installs it, as renders do)
    tex_colours.install()
    try:
        with tempconfig({"tex_dir": str(tmp_path)}):
            dark = [FORMULAS[3], style.colored("+3", "#E69F00") + r" \times -4"]
            light = [t.replace("56B4E9", "0072B2").replace("E69F00", "AD5A00") for t in dark]
            assert tex_batch.prefetch(_math, dark) == 2
            for tex in dark + light:  # both themes from the one run
                _math(tex)
            assert runs == ["batch"]
    finally:
        if not installed:
            tex_colours.uninstall()


def test_a_formula_latex_refuses_leaves_each_to_be_typeset_alone_with_manims_message(tmp_path, runs):
    with tempconfig({"tex_dir": str(tmp_path)}):
        assert tex_batch.prefetch(_math, [FORMULAS[0], r"\notamacro{x}", FORMULAS[5]]) == 0
        _math(FORMULAS[0])
        assert runs == ["batch", "one"]
        with pytest.raises(ValueError, match="latex error"):
            _math(r"\notamacro{x}")


@pytest.mark.slow  # a whole scene built with empty caches: LaTeX, Pango and parsing
@pytest.mark.parametrize("config,typeset_at_least,alone_at_most", [
    ("vectors", 20, 2),
    ("sigmoid_gate", 20, 0),  # the routes' table names its columns in Manim's own template
    ("vanishing", 3, 0),  # the gradient norms' axes: powers of ten
])
def test_a_scene_announces_the_formulas_it_builds(tmp_path, monkeypatch, config, typeset_at_least, alone_at_most):
    """Built with an empty LaTeX cache, a scene typesets its formulas in a few runs, not one run each."""
    from engine.source import trace_path_for
    from manim_patches.speedups import SkipsDrawing
    from pipeline import render_job

    trace = trace_path_for(ROOT / f"assets/configs/{config}.yaml")
    singles = []
    compile_tex = tex_file_writing.compile_tex
    monkeypatch.setattr(tex_file_writing, "compile_tex",
                        lambda tex, *a: singles.append(tex.read_text().split(r"\begin{document}")[1][:90])
                        or compile_tex(tex, *a))
    monkeypatch.setattr(style, "_BUILT", type(style._BUILT)())  # nothing built before in this process
    monkeypatch.setattr(render_job, "CACHE", tmp_path)  # no formula typeset before either
    glyphs = svg_cache._state["dir"]
    try:
        with render_job.undrawn(trace, render_job.RenderOptions()) as scene_cls:
            scene = scene_cls(renderer=SkipsDrawing(skip_animations=True))
            scene.render()
    finally:
        svg_cache.install(glyphs)
    typeset = len(list((tmp_path / "tex").glob("*.svg")))
    assert typeset >= typeset_at_least and len(singles) <= alone_at_most, singles


def test_a_formula_that_cannot_be_built_is_left_out_of_the_batch(tmp_path, runs):
    """Announcing is only a hint: a formula whose MathTex fails before LaTeX is skipped, the rest typeset."""
    def build(tex):
        if tex == "unbuildable":
            raise ValueError("not a formula")
        return _math(tex)

    with tempconfig({"tex_dir": str(tmp_path)}):
        assert tex_batch.prefetch(build, [FORMULAS[0], "unbuildable", FORMULAS[5]]) == 2
        _math(FORMULAS[0]), _math(FORMULAS[5])
        assert runs == ["batch"]
