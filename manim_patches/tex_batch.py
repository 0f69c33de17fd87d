"""Many formulas in one LaTeX run.

Each formula Manim typesets is a run of ``latex`` and one of ``dvisvgm``: about 0.3 s, nearly all of it the
two programs starting (loading the format, the fonts, Ghostscript), so a graph of 30 gates whose chain-rule
equations are new cost 30 s before its first frame. A scene that knows its formulas ahead (a graph scene's
are written from the trace) hands them to ``prefetch``, and the ones not typeset yet go through LaTeX as
pages of one document: 50 formulas in 0.4 s.

A page of that document is the formula LaTeX would typeset on its own: the same template and preamble, each
in a page of standalone's ``preview`` box. Only dvisvgm's names for the fonts differ (font numbers count
from the start of the document), so the glyphs, their order and their groups are the same
(tests/test_tex_batch.py parses both). Prefetching changes nothing but the time: a formula it did not
make (a LaTeX error, an unusual template) is typeset later on its own, by Manim, with Manim's error message.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from manim import config
from manim.mobject.text import tex_mobject
from manim.utils import tex_file_writing

from infra.io import write_text_atomic
from manim_patches import tex_colours

SINGLE = r"\documentclass[preview]{standalone}"
PAGED = r"\documentclass[preview,multi=backproppage]{standalone}"  # each backproppage its own preview page
BEGIN, END = r"\begin{document}", r"\end{document}"


class _Recorded(Exception):
    """Raised in place of typesetting, once the expression has been noted."""


def requested(build: Callable[[str], object], texs: Iterable[str]) -> list[tuple]:
    """What Manim would typeset for each ``build(tex)``: (expression, environment, template), the formula built
    only up to the moment it asks for its SVG (MathTex wraps its parts in group markers and an environment)."""
    calls = []

    def record(expression, environment=None, tex_template=None):
        calls.append((expression, environment, tex_template or config["tex_template"]))
        raise _Recorded

    saved = tex_mobject.tex_to_svg_file
    tex_mobject.tex_to_svg_file = record
    try:
        for tex in dict.fromkeys(texs):
            try:
                build(tex)
            except _Recorded:
                pass
            except Exception:  # a hint never fails a render: building this one for real (if ever) says why
                continue
    finally:
        tex_mobject.tex_to_svg_file = saved
    return calls


def prefetch(build: Callable[[str], object], texs: Iterable[str]) -> int:
    """Typeset, one LaTeX run per template, each formula ``build(tex)`` would typeset that has no SVG yet (in
    this render's folder or, through cache_seed, the shared cache). Returns how many SVGs it wrote."""
    missing: dict[tuple, dict[Path, str]] = {}  # by template: each missing SVG and its .tex document
    for expression, environment, template in requested(build, texs):
        if template.output_format != ".dvi" or template.tex_compiler not in ("latex", "pdflatex"):
            continue  # dvisvgm reads pages of a DVI; other set-ups are typeset one by one, as Manim does
        tex_file = tex_file_writing.generate_tex_file(expression, environment, template)
        if tex_file.with_suffix(".svg").exists():
            continue  # made before (or copied in from the shared cache)
        form = tex_colours.typeset_form(expression)
        if form != expression:  # typeset in stand-in colours; tex_colours writes each colouring from that
            tex_file = tex_file_writing.generate_tex_file(form, environment, template)
            if tex_file.with_suffix(".svg").exists():
                continue
        missing.setdefault((template.tex_compiler, template.output_format), {})[tex_file.with_suffix(".svg")] = \
            tex_file.read_text()
    return sum(_typeset_pages(compiler, fmt, documents) for (compiler, fmt), documents in missing.items())


def _typeset_pages(compiler: str, output_format: str, documents: dict[Path, str]) -> int:
    if len(documents) < 2:
        return 0  # nothing to share: Manim typesets it when it is built
    preambles, bodies = set(), []
    for text in documents.values():
        head, sep, rest = text.partition(BEGIN)
        body, sep2, _ = rest.rpartition(END)
        if not (sep and sep2) or head.count(SINGLE) != 1:
            return 0
        preambles.add(head)
        bodies.append(body)
    if len(preambles) != 1:
        return 0
    paged = (preambles.pop().replace(SINGLE, PAGED) + BEGIN + "\n"
             + "".join(f"\\begin{{backproppage}}{body}\\end{{backproppage}}\n" for body in bodies) + END + "\n")
    with tempfile.TemporaryDirectory(prefix="backprop-tex-") as folder:
        work = Path(folder)
        source = work / "pages.tex"
        source.write_text(paged, encoding="utf-8")
        command = tex_file_writing.make_tex_compilation_command(compiler, output_format, source, work)
        if subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            return 0  # a formula LaTeX refuses: each is typeset on its own later, with Manim's message
        subprocess.run(["dvisvgm", "--page=1-", "--no-fonts", "--verbosity=0", f"--output={work.as_posix()}/%p.svg",
                        source.with_suffix(output_format).as_posix()],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pages = {int(p.stem): p for p in work.glob("*.svg") if re.fullmatch(r"\d+", p.stem)}
        if sorted(pages) != list(range(1, len(documents) + 1)):
            return 0  # not one page per formula: use none of them
        for number, svg in enumerate(documents, start=1):
            # the page's group is named by its number: as on its own, page 1 (its id is one of MathTex's groups)
            text = pages[number].read_text().replace(f"<g id='page{number}'>", "<g id='page1'>", 1)
            write_text_atomic(svg, text)
    return len(documents)

