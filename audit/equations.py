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


def _group_end(tex: str, start: int, pair: str = "{}") -> int | None:
    """The index of the bracket (``pair``: opening, closing) that closes the one at ``start``; None if none does."""
    depth = 0
    for j in range(start, len(tex)):
        depth += {pair[0]: 1, pair[1]: -1}.get(tex[j], 0)
        if depth == 0:
            return j
    return None


def _strip_color(tex: str) -> str:
    """\\textcolor[HTML]{..}{X} -> X (the colour says nothing about the value)."""
    while (m := COLOR.search(tex)) and (j := _group_end(tex, m.end())) is not None:
        tex = tex[:m.start()] + tex[m.end() + 1:j] + tex[j + 1:]
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
    for piece in pieces(tex):
        m = TOTAL.match(_strip_color(piece.strip()))
        if m:
            value = split_top_level(m["rhs"], "=")[-1]
            if coloured:
                value = split_top_level(piece, "=")[-1]
            out.append((m["out"].strip(), m["var"].strip(), value))
    return out


def pieces(tex: str) -> list[str]:
    """Each equation of a formula: its rows (a row that starts with = carries on the line above, a long
    chain), split where a \\qquad or a ,\\quad puts two equations side by side."""
    rows: list[str] = []
    for row in split_top_level(tex, r"\\"):
        if row.strip().startswith("=") and rows:
            rows[-1] += row
        else:
            rows.append(row)
    return [piece for row in rows for part in split_top_level(row, r"\qquad")
            for piece in split_top_level(part, r",\quad")]


def value_colour(value_tex: str) -> str | None:
    """The colour (#RRGGBB) a value is written in, if one \\textcolor wraps the whole of it."""
    value_tex = SHAPE_NOTE.sub("", value_tex.strip()).strip()
    m = COLOR.match(value_tex)
    j = _group_end(value_tex, m.end()) if m else None
    if j is None or value_tex[j + 1:].strip():  # the coloured group must be the whole value
        return None
    return "#" + m.group(1).upper()


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
    with np.errstate(invalid="ignore"):  # an infinity is equal to itself or nothing (inf <= inf holds for any value)
        close = np.isfinite(truth) & (np.abs(shown - truth) <= REL_TOL * np.abs(truth) + ABS_TOL)
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


# --- the arithmetic a formula shows: local x upstream = downstream, shares that add up -----------------
SCIENTIFIC = re.compile(r"([-+−]?[0-9.]+)\s*\\times\s*10\^\{(-?[0-9]+)\}")
OPERATORS = {r"\odot": "elementwise", r"\cdot": "product", r"\times": "product"}
FRACTION_TIMES = re.compile(r"\\frac\{(?P<num>\d+)\}\{(?P<den>\d+)\}\s*(?P<rest>\(.*\))", re.S)
# a sum that undoes a broadcast (addmm's c, added to every row): \sum_{\text{rows}} M sums M's rows into one
SUM_OVER = re.compile(r"\\sum_\{(?:\\textstyle\s*)?\\text\{(?P<over>rows|columns|entries)\}\}\s*(?P<rest>.*)", re.S)
SUM_AXES = {"rows": 0, "columns": 1, "entries": None}
# three significant digits: a shown number is within 0.5% of its value, a product of two within about 1%
# of the product of their sizes (sums of products included: a matrix product's cancelling terms)
ARITHMETIC_REL = 1.2e-2


def _split_outside(tex: str, sep: str) -> list[str]:
    """``tex`` split at ``sep`` where no brace, parenthesis or matrix is open."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        if tex.startswith(r"\begin{", i) or tex[i] in "{(":
            depth += 1
        elif tex.startswith(r"\end{", i) or tex[i] in "})":
            depth -= 1
        elif depth == 0 and tex.startswith(sep, i):
            parts.append(tex[start:i])
            i = start = i + len(sep)
            continue
        i += 1
    return parts + [tex[start:]]


def _unwrap(tex: str) -> str:
    """``tex`` without parentheses around the whole of it (\\left( \\right) too)."""
    t = tex.strip().replace(r"\left(", "(").replace(r"\right)", ")")
    while t.startswith("(") and _group_end(t, 0, "()") == len(t) - 1:
        t = t[1:-1].strip()
    return t


def _operand(tex: str) -> np.ndarray | None:
    """A number or a matrix as written, in parentheses or not; None for anything else (a symbol, a name)."""
    try:
        return parse_value(_unwrap(tex))
    except (ValueError, IndexError):
        return None


def _binary(t: str, sep: str) -> tuple[str, str] | None:
    """``t`` split at its last top-level ``sep`` with something on both sides (a leading sign is no operator)."""
    parts = _split_outside(t, sep)
    for k in range(len(parts) - 1, 0, -1):
        left, right = sep.join(parts[:k]), sep.join(parts[k:])
        if sep == "-" and re.search(r"\de$", left):  # the exponent of 3.2e-7, not a subtraction
            continue
        return (left, right) if left.strip() and right.strip() else None
    return None


def _evaluate(term: str, top: bool = True) -> tuple[np.ndarray, np.ndarray] | None:
    """A term of arithmetic on written values: (a) + (b), a - b, a \\odot b, a \\cdot b, a \\times b,
    \\frac{1}{N}(a), \\sum_{\\text{rows}} a, nested: its value and the size its rounding error scales with
    (the same arithmetic on the values' magnitudes). None for anything with a symbol in it, and (``top``) for
    a single value."""
    t = _unwrap(term)
    if not top:
        value = _operand(t)
        if value is not None:
            return value, np.abs(value)
    for sep in ("+", "-"):
        split = _binary(t, sep)
        if split:
            a, b = (_evaluate(x, top=False) for x in split)
            if a is None or b is None or not _broadcasts(a[0], b[0]):
                return None
            return (a[0] + b[0] if sep == "+" else a[0] - b[0]), a[1] + b[1]
    for op, kind in OPERATORS.items():
        split = _binary(t, op)
        if not split:
            continue
        a, b = (_evaluate(x, top=False) for x in split)
        if a is None or b is None:
            return None
        if kind == "elementwise" or a[0].size == 1 or b[0].size == 1:
            if not _broadcasts(a[0], b[0]):
                return None
            return a[0] * b[0], a[1] * b[1]
        (x, dx), (y, dy) = ((_as_matrix(v), _as_matrix(e)) for v, e in (a, b))
        if x.shape[1] != y.shape[0]:
            return None
        return x @ y, dx @ dy
    m = FRACTION_TIMES.fullmatch(t)
    if m:
        inner = _evaluate(m["rest"], top=False)
        if inner is not None:
            k = float(m["num"]) / float(m["den"])
            return k * inner[0], abs(k) * inner[1]
    m = SUM_OVER.fullmatch(t)
    if m:
        inner = _evaluate(m["rest"], top=False)
        if inner is not None:
            axis = SUM_AXES[m["over"]]
            return tuple(_as_matrix(v).sum(axis=axis, keepdims=True) for v in inner)
    return None


def _as_matrix(a: np.ndarray) -> np.ndarray:
    return a.reshape(1, 1) if a.ndim == 0 else a


def _broadcasts(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape or a.size == 1 or b.size == 1


def arithmetic_problems(tex: str) -> list[str]:
    """Messages for every step of a formula whose written values do not give the value written after its
    = (to the rounding of the three digits shown): "3 x (+1) = +3", a local gradient times its upstream,
    a branch's shares adding up. Symbols (\\frac{\\partial f}{\\partial q}) are not arithmetic and are skipped."""
    problems = []
    for piece in pieces(tex):
        plain = SCIENTIFIC.sub(lambda m: f"{m[1]}e{m[2]}", _strip_underbraces(_strip_color(SHAPE_NOTE.sub("", piece))))
        terms = _split_outside(plain, "=")
        for left, right in zip(terms, terms[1:]):
            with np.errstate(invalid="ignore", over="ignore"):
                combined = _evaluate(left)
            shown = _operand(right)
            if combined is None or shown is None:
                continue
            value, scale = combined
            if value.size != shown.size:
                problems.append(f"{_short(left)} has {value.size} entries, {_short(right)} {shown.size}")
                continue
            value, scale, shown = value.reshape(-1), scale.reshape(-1), shown.reshape(-1)
            with np.errstate(invalid="ignore"):
                close = (np.isfinite(value) & np.isfinite(shown)
                         & (np.abs(value - shown) <= ARITHMETIC_REL * scale + REL_TOL * np.abs(shown) + ABS_TOL))
            # an infinity written as itself agrees; 0 x inf is not arithmetic's to decide (a router gives the
            # input it did not choose exactly 0, as torch does, whatever the upstream)
            bad = ~(close | (value == shown) | (np.isnan(value) & (np.isnan(shown) | np.isnan(scale))))
            if bad.any():
                k = int(np.argmax(bad))
                problems.append(f"{_short(left)} = {_short(right)}: it makes {value[k]:.4g}, not {shown[k]:.4g}"
                                + (f" (entry {k})" if value.size > 1 else ""))
    return problems


def _strip_underbraces(tex: str) -> str:
    """\\underbrace{M}_{\\displaystyle s} -> M: a compact page writes each symbol under its matrix."""
    while (i := tex.find(r"\underbrace{")) >= 0:
        last = len(tex) - 1  # (a group left open runs to the end)
        j = _group_end(tex, i + len(r"\underbrace"))
        j = last if j is None else j
        k = j + 1
        if tex.startswith("_{", k):
            end = _group_end(tex, k + 1)
            k = (last if end is None else end) + 1
        tex = tex[:i] + tex[i + len(r"\underbrace{"):j] + tex[k:]
    return tex


def _short(tex: str) -> str:
    t = " ".join(tex.replace(r"\begin{bmatrix}", "[").replace(r"\end{bmatrix}", "]").split())
    return t if len(t) <= 40 else t[:37] + "..."
