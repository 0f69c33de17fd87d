r"""What the formulas on screen claim, checked against the trace.

A line of the form \frac{\partial OUT}{\partial v} = ... = VALUE names v's *total* derivative, so its last
value must be v's gradient in the trace (to the three significant digits shown). One path's share is
written differently (\left.\frac{\partial L}{\partial x}\right|_{x \to q}) and claims nothing about the
total. The formula is read from its LaTeX source, independently of how the scene built it.
"""
from __future__ import annotations

import re

import numpy as np

from scenes.style import split_top_level

# a name: text and braced groups nested up to twice (w_{0}, w_{\mathrm{in}}, \mathrm{Linear}_{0}.\mathrm{bias})
_NAME = r"(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})+"
TOTAL = re.compile(rf"^\\frac\{{\\partial (?P<out>{_NAME})\}}"
                   rf"\{{\\partial (?P<var>{_NAME})\}}\s*=(?P<rhs>.*)$", re.S)
COLOR = re.compile(r"\\textcolor\[HTML\]\{[0-9A-Fa-f]{6}\}")
# relative agreement of a number shown with 3 significant digits, and what counts as 0 beside rounding noise
REL_TOL, ABS_TOL = 6e-3, 1e-12


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


def parse_number(tex: str) -> float:
    t = tex.strip().strip("()").strip().replace(r"\,", "").replace(" ", "")
    t = t.replace("−", "-").replace(r"\infty", "inf").replace(r"\mathrm{NaN}", "nan")
    m = re.fullmatch(r"([-+]?[0-9.]+)\\times10\^\{(-?[0-9]+)\}", t)
    if m:
        return float(m.group(1)) * 10.0 ** int(m.group(2))
    return float(t)


def parse_value(tex: str) -> np.ndarray:
    """A number or a bmatrix (rows by \\\\, columns by &) as an array."""
    tex = _strip_color(tex).strip()
    tex = re.sub(r"\\;\\;\s*\(.*\)\s*$", "", tex).strip()  # a shape note after the value
    tex = re.sub(r"^\\setcounter\{MaxMatrixCols\}\{\d+\}", "", tex)  # a wide matrix's column count
    m = re.fullmatch(r"\\begin\{bmatrix\}(.*)\\end\{bmatrix\}", tex, re.S)
    if not m:
        return np.asarray(parse_number(tex))
    rows = [[parse_number(c) for c in row.split("&")] for row in m.group(1).split(r"\\") if row.strip()]
    return np.asarray(rows)


def claims(tex: str) -> list[tuple[str, str, str]]:
    """(output, variable, value's LaTeX) for every total-derivative line of a formula."""
    out = []
    for row in split_top_level(tex, r"\\"):
        for part in split_top_level(row, r"\qquad"):
            for piece in split_top_level(part, r",\quad"):
                m = TOTAL.match(_strip_color(piece.strip()))
                if m:
                    out.append((m["out"].strip(), m["var"].strip(), split_top_level(m["rhs"], "=")[-1]))
    return out


def agrees(shown: np.ndarray, truth: np.ndarray) -> bool:
    truth = np.asarray(truth, dtype=float)
    if shown.size != truth.size:
        return False
    shown = shown.reshape(truth.shape)  # vectors are written as columns
    both_nan = np.isnan(shown) & np.isnan(truth)
    close = np.abs(shown - truth) <= REL_TOL * np.abs(truth) + ABS_TOL
    return bool(np.all(both_nan | close | (np.isinf(truth) & (shown == truth))))


def check_equation(tex: str, output_name: str, gradients: dict[str, np.ndarray]) -> list[str]:
    """Messages for every line that names a total derivative the trace does not have.

    ``gradients`` maps each node's name as the formulas write it (w_{0}, q_{1}) to its gradients (one per
    graph the scene draws under that name).
    """
    problems = []
    for out, var, value in claims(tex):
        if out != output_name:
            problems.append(f"∂{out}/∂{var}: the output is {output_name}, not {out}")
            continue
        if var not in gradients:
            problems.append(f"∂{out}/∂{var}: no node is named {var}")
            continue
        try:
            shown = parse_value(value)
        except ValueError:
            problems.append(f"∂{out}/∂{var}: cannot read the value {value.strip()[:40]!r}")
            continue
        if not any(agrees(shown, g) for g in gradients[var]):
            problems.append(f"∂{out}/∂{var} = {value.strip()[:60]!r} but the trace's total gradient is "
                            " or ".join(np.array2string(np.asarray(g), precision=4) for g in gradients[var]))
    return problems
