"""LaTeX once per formula, whatever its colours.

Scenes colour a formula's numbers inside LaTeX (``\\textcolor[HTML]{E69F00}{+3}``: the gradient colour), so
the same formula in the dark and in the light theme was two LaTeX runs (a third of a second each: about
four in ten of a fresh test run's 950). Here a formula is typeset once with stand-in colours, one per
distinct colour in order of appearance, and each real colouring is that SVG with the stand-ins' hex codes
replaced. dvisvgm writes a colour only as a ``fill``/``stroke`` value (lower case, #aabbcc as #abc), and the
glyphs do not depend on it, so the result is the SVG LaTeX would have written (tests/test_manim_patches.py
compares them byte for byte). A formula coloured black (the page's colour, for which LaTeX writes no group)
or already using a stand-in colour is typeset as it is.
"""
from __future__ import annotations

import re
from pathlib import Path

from manim.mobject.text import tex_mobject
from manim.utils import tex_file_writing

from infra.io import write_text_atomic

HTML_COLOUR = re.compile(r"\\textcolor\[HTML\]\{([0-9A-Fa-f]{6})\}")
# Stand-ins that dvisvgm cannot shorten (#aabbcc is written #abc) and no palette uses.
STAND_INS = [f"0A0B{i:02X}" for i in range(1, 256)]
_original = None


def _stand_ins(expression: str) -> dict[str, str] | None:
    """Each colour of ``expression`` and its stand-in, or None if the formula is typeset as it is."""
    colours = list(dict.fromkeys(c.upper() for c in HTML_COLOUR.findall(expression)))
    # black is the page's own colour: LaTeX writes no group for it, so its SVG is not a recolouring
    if not colours or len(colours) > len(STAND_INS) or set(colours) & {*STAND_INS, "000000"}:
        return None
    return dict(zip(colours, STAND_INS))


def typeset_form(expression: str) -> str:
    """What LaTeX typesets for ``expression`` (its colours replaced by stand-ins, or itself)."""
    stand_in = _stand_ins(expression)
    if stand_in is None:
        return expression
    return HTML_COLOUR.sub(lambda m: rf"\textcolor[HTML]{{{stand_in[m.group(1).upper()]}}}", expression)


def tex_to_svg_file(expression: str, environment: str | None = None, tex_template=None) -> Path:
    stand_in = _stand_ins(expression)
    if stand_in is None:
        return _original(expression, environment, tex_template)
    tex_file = tex_file_writing.generate_tex_file(expression, environment, tex_template)
    svg_file = tex_file.with_suffix(".svg")
    if svg_file.exists():  # made before (or copied in from the shared cache)
        return svg_file
    svg = _original(typeset_form(expression), environment, tex_template).read_text()
    for real, stand in stand_in.items():
        svg = re.sub(f"#{stand}", _as_dvisvgm_writes(real), svg, flags=re.IGNORECASE)
    write_text_atomic(svg_file, svg)  # Manim only ever sees a whole file; a failed write leaves none
    return svg_file


def _as_dvisvgm_writes(hex6: str) -> str:
    """A colour as dvisvgm writes it: lower case, #aabbcc as #abc."""
    h = hex6.lower()
    return f"#{h[0]}{h[2]}{h[4]}" if h[0::2] == h[1::2] else f"#{h}"


def install() -> None:
    """MathTex's LaTeX through the stand-in colours (idempotent)."""
    global _original
    if _original is None:
        _original = tex_file_writing.tex_to_svg_file
        tex_mobject.tex_to_svg_file = tex_to_svg_file


def uninstall() -> None:
    global _original
    if _original is not None:
        tex_mobject.tex_to_svg_file = _original
        _original = None
