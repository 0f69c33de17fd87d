r"""What the formulas on screen claim, checked against the trace.

A line of the form \frac{\partial OUT}{\partial v} = ... = VALUE names v's *total* derivative, so its last
value must be v's gradient in the trace (to the three significant digits shown). One path's share is
written differently (\left.\frac{\partial L}{\partial x}\right|_{x \to q}) and claims nothing about the
total. The formula is read from its LaTeX source, independently of how the scene built it.
"""
from __future__ import annotations

import re

import numpy as np

from scenes.style import latex_number, split_top_level

# a name: text and braced groups nested up to twice (w_{0}, w_{\mathrm{in}}, \mathrm{Linear}_{0}.\mathrm{bias})
_NAME = r"(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})+"
TOTAL = re.compile(rf"^\\frac\{{\\partial (?P<out>{_NAME})\}}"
                   rf"\{{\\partial (?P<var>{_NAME})\}}\s*=(?P<rhs>.*)$", re.S)
COLOR = re.compile(r"\\textcolor\[HTML\]\{([0-9A-Fa-f]{6})\}")
# relative agreement of a number shown with 3 significant digits, and what counts as 0 beside rounding noise
REL_TOL, ABS_TOL = 6e-3, 1e-12
TIMES = r"\times"
SHAPE_NOTE = re.compile(r"\\;\\;\s*\(.*\)\s*$")  # "\;\; (2x3)" after a matrix


def _strip_color(tex: str) -> str:
    """\\textcolor[HTML]{..}{X} -> X (the colour says nothing about the value)."""
    while (m := COLOR.search(tex)):
        i, depth = m.end(), 0
        for j in range(i, len(tex)):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            if depth == 0:
                tex = tex[:m.start()] + tex[i + 1:j] + tex[j + 1:]
                break
        else:
            break
    return tex


def _plain_token(tex: str) -> str:
    return tex.strip().strip("()").strip().replace(r"\,", "").replace(" ", "").replace("−", "-")


def parse_number(tex: str) -> float:
    t = _plain_token(tex).replace(r"\infty", "inf").replace(r"\mathrm{NaN}", "nan")
    m = re.fullmatch(r"([-+]?[0-9.]+)\\times10\^\{(-?[0-9]+)\}", t)
    if m:
        return float(m.group(1)) * 10.0 ** int(m.group(2))
    return float(t)


def parse_cells(tex: str) -> tuple[list[str], tuple[int, ...]]:
    """The entries of a number or a bmatrix (rows by \\\\, columns by &) as written, and its shape."""
    tex = _strip_color(tex).strip()
    tex = SHAPE_NOTE.sub("", tex).strip()
    tex = re.sub(r"^\\setcounter\{MaxMatrixCols\}\{\d+\}", "", tex)  # a wide matrix's column count
    m = re.fullmatch(r"\\begin\{bmatrix\}(.*)\\end\{bmatrix\}", tex, re.S)
    if not m:
        return [tex], ()
    rows = [[c.strip() for c in row.split("&")] for row in m.group(1).split(r"\\") if row.strip()]
    if len({len(r) for r in rows}) > 1:
        raise ValueError("rows of different lengths")
    return [c for r in rows for c in r], (len(rows), len(rows[0]))


def parse_value(tex: str) -> np.ndarray:
    """A number or a bmatrix as an array."""
    cells, shape = parse_cells(tex)
    return np.asarray([parse_number(c) for c in cells]).reshape(shape)


def _as_shown(x: float) -> str:
    """How the screen writes x (numfmt's digits, ×10ⁿ for the tiny and the huge), unsigned and without spaces."""
    return _plain_token(latex_number(float(x))).lstrip("+-")


def entry_agrees(cell: str, truth: float) -> bool:
    """A written entry agrees with the trace's value if it is that value as the screen writes it (three
    significant digits, two in scientific notation: 3.2×10⁻⁷ for 3.2456e-7), or equal to it within the
    rounding of three digits (a value that is zero within rounding noise is written 0)."""
    shown = parse_number(cell)
    if np.isnan(truth) or np.isnan(shown):
        return bool(np.isnan(truth) and np.isnan(shown))
    if np.isinf(truth):
        return shown == truth
    same_sign = (shown < 0) == (truth < 0) or shown == 0 or truth == 0
    if same_sign and _plain_token(_strip_color(cell)).lstrip("+-") == _as_shown(abs(truth)):
        return True
    return abs(shown - truth) <= REL_TOL * abs(truth) + ABS_TOL


def claims(tex: str, coloured: bool = False) -> list[tuple[str, str, str]]:
    """(output, variable, value's LaTeX) for every total-derivative line of a formula; the value keeps its
    \\textcolor wrapping if ``coloured``."""
    out = []
    rows: list[str] = []
    for row in split_top_level(tex, r"\\"):  # a row that starts with = carries on the line above (a long chain)
        if row.strip().startswith("=") and rows:
            rows[-1] += row
        else:
            rows.append(row)
    for row in rows:
        for part in split_top_level(row, r"\qquad"):
            for piece in split_top_level(part, r",\quad"):
                m = TOTAL.match(_strip_color(piece.strip()))
                if m:
                    value = split_top_level(m["rhs"], "=")[-1]
                    if coloured:
                        value = split_top_level(piece, "=")[-1]
                    out.append((m["out"].strip(), m["var"].strip(), value))
    return out


def value_colour(value_tex: str) -> str | None:
    """The colour (#RRGGBB) a value is written in, if one \\textcolor wraps the whole of it."""
    value_tex = SHAPE_NOTE.sub("", value_tex.strip()).strip()
    m = COLOR.match(value_tex)
    if not m:
        return None
    depth = 0
    for j in range(m.end(), len(value_tex)):
        depth += {"{": 1, "}": -1}.get(value_tex[j], 0)
        if depth == 0:  # the coloured group closes here: it is the whole value only if nothing follows
            return None if value_tex[j + 1:].strip() else "#" + m.group(1).upper()
    return None


def mismatch(cells: list[str], truth: np.ndarray) -> str | None:
    """None if every written entry agrees with the trace; else what differs, in words."""
    truth = np.asarray(truth, dtype=float)
    if len(cells) != truth.size:
        return f"{len(cells)} entries are written where the trace has {truth.size} ({'x'.join(map(str, truth.shape))})"
    flat = truth.reshape(-1)  # vectors are written as columns, matrices row by row
    for k, (cell, t) in enumerate(zip(cells, flat)):
        if not entry_agrees(cell, float(t)):
            where = "" if truth.ndim == 0 else f" at entry {[int(i) for i in np.unravel_index(k, truth.shape)]}"
            shown = _plain_token(_strip_color(cell)).replace(TIMES, "×")
            expected = latex_number(float(t)).replace(" ", "").replace(TIMES, "×")
            return f"shows {shown}{where} where the trace has {expected}"
    return None


def agrees(shown: np.ndarray, truth: np.ndarray) -> bool:
    """Whether values (as read by parse_value) equal the trace's within the rounding of three digits."""
    truth = np.asarray(truth, dtype=float)
    if shown.size != truth.size:
        return False
    shown = shown.reshape(truth.shape)
    both_nan = np.isnan(shown) & np.isnan(truth)
    close = np.abs(shown - truth) <= REL_TOL * np.abs(truth) + ABS_TOL
    return bool(np.all(both_nan | close | (np.isinf(truth) & (shown == truth))))


def check_equation(tex: str, output_name: str, gradients: dict[str, np.ndarray],
                   gradient_colour: str | None = None) -> list[str]:
    """Messages for every line that names a total derivative the trace does not have, or (given
    ``gradient_colour``) whose value is not written in the gradients' colour.

    ``gradients`` maps each node's name as the formulas write it (w_{0}, q_{1}) to its gradients (one per
    graph the scene draws under that name).
    """
    problems = []
    if gradient_colour is not None:
        for out, var, value in claims(tex, coloured=True):
            shown = value_colour(value)
            if shown != gradient_colour.upper():
                problems.append(f"∂{out}/∂{var}: the gradient {_plain_token(_strip_color(value))[:20]} is written in "
                                f"{shown or 'the text colour'}, not the gradients' colour {gradient_colour.upper()}")
    for out, var, value in claims(tex):
        if out != output_name:
            problems.append(f"∂{out}/∂{var}: the output is {output_name}, not {out}")
            continue
        if var not in gradients:
            problems.append(f"∂{out}/∂{var}: no node is named {var}")
            continue
        try:
            cells, _ = parse_cells(value)
            for c in cells:
                parse_number(c)
        except ValueError:
            problems.append(f"∂{out}/∂{var}: cannot read the value {value.strip()[:40]!r}")
            continue
        differences = [mismatch(cells, g) for g in gradients[var]]
        if all(differences):
            problems.append(f"∂{out}/∂{var} (the total gradient) " + " or ".join(dict.fromkeys(differences)))
    return problems
