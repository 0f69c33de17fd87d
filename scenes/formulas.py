"""The chain rule written out: one formula per input of a backward step, a branch's sum, the summary.

Every number comes from the trace through Notation (names, rounding noise shown as 0); nothing here
computes a gradient. A formula that does not fit one page is split into pages by the scene.
"""
from __future__ import annotations

import numpy as np

from scenes import style
from scenes.notation import PRODUCT_OPS, Notation
from scenes.trace_data import Step


def chain_rule_pages(nt: Notation, step: Step, compact: bool = False, sums: bool = True) -> list[str]:
    """One line per input: d out / d input = local x upstream = downstream (numbers from the trace).

    A vector or layer gate writes its rule as symbols, then with the trace's matrices; ``compact`` writes
    each symbol under its matrix instead (a brace), for a line too wide to read at full size.

    An input used more than once gets a share from each use: that line is written as one path's share
    (d L/d x restricted to x -> q), and once the last share has arrived the total is written as their sum
    (``sums=False``: not, for a scene that shows the sum on a page of its own).
    """
    trace = nt.trace
    node = trace.nodes[step.node]
    lines = []
    for slot, (src, local, down) in enumerate(zip(node.inputs, step.local, step.downstream)):
        if down is None:
            continue
        lhs = nt.d(src) if nt.uses[src] == 1 else nt.d_via(src, step.node)
        shown = nt.downstream(step, slot)
        grad = style.colored(style.latex_array(shown, True), style.GRADIENT)
        if any(too_large(a) for a in (local, step.upstream, down)):  # unreadable written out in full
            lines.append(magnified_line(lhs, shown) if too_large(down) else rf"{lhs} = {grad}")
        elif local is not None and np.ndim(down) == 0 and np.ndim(local) == 0:
            up = style.colored(style.latex_number(float(nt.upstream(step)), True), style.GRADIENT)
            # local x upstream, first as symbols (the output's own step has the seed 1 as its upstream)
            symbols = "" if step.node == trace.output else rf"{nt.local(step.node, src)}\,{nt.d(step.node)} = "
            lines.append(rf"{lhs} = {symbols}{style.latex_number(float(local))} \times ({up}) = {grad}")
        elif local is not None and node.op == "addmm" and slot == 0:
            lines.append(added_line(nt, step, slot, lhs, compact))
        elif local is not None and node.op in ("matmul", "addmm"):
            lines.append(matmul_line(nt, step, slot, lhs, compact))
        elif node.op == "softmax_cross_entropy" and slot == 0 and _one_hot_terms(step):
            lines += softmax_loss_lines(nt, step, lhs, compact)
        elif local is not None and np.shape(local) == np.shape(down):  # elementwise: local ⊙ upstream
            lines += elementwise_lines(nt, step, slot, lhs, compact)
        else:  # a matrix, or no simple factor (a transpose, a softmax's Jacobian): the product itself
            lines.append(rf"{lhs} = {grad}" + (rf"\;\; ({style.latex_shape(down)})" if np.ndim(down) else ""))
    for src in nt.completes(step) if sums else []:
        lines.append(branch_sum_line(nt, src))
    return pages(lines)


# A larger matrix is drawn too small to read in the equation area (1.75 units tall, 13 wide, at 38 points)
MAX_ROWS, MAX_COLS = 4, 6


def _window(n: int, at: int, size: int) -> slice:
    """``size`` consecutive indices of n, as centred on ``at`` as the ends allow."""
    start = min(max(at - size // 2, 0), max(n - size, 0))
    return slice(start, min(start + size, n))


def too_large(a) -> bool:
    """More rows or columns than read in the equation area (a vector is written as a column)."""
    if a is None or np.ndim(a) == 0:
        return False
    rows, cols = (np.size(a), 1) if np.ndim(a) == 1 else np.shape(a)[:2]
    return rows > MAX_ROWS or cols > MAX_COLS or np.ndim(a) > 2


def magnified_line(lhs: str, grad: np.ndarray, color: str | None = None, signed: bool = True) -> str:
    """A gradient too large to read whole: the block of at most 4 x 6 entries around its largest entry,
    named by its rows and columns (counted from 1), at a size that reads."""
    full = grad
    grad = grad.reshape(-1, 1) if grad.ndim == 1 else grad.reshape(grad.shape[0], -1)
    finite = np.where(np.isfinite(grad), np.abs(grad), np.inf)
    i, j = np.unravel_index(int(np.argmax(finite)), grad.shape)
    rows, cols = _window(grad.shape[0], i, MAX_ROWS), _window(grad.shape[1], j, MAX_COLS)
    where = rf"{rows.start + 1}..{rows.stop}" + (rf",\ {cols.start + 1}..{cols.stop}" if full.ndim == 2 else "")
    block = style.colored(style.latex_array(grad[rows, cols], signed), color or style.GRADIENT)
    return rf"\left[{lhs}\right]_{{{where}}} = {block}\;\; ({style.latex_shape(full)})"


def _up(nt: Notation, step: Step, shape=None) -> str:
    """The step's upstream gradient, in the gradient colour (reshaped to how a product writes it)."""
    up = nt.upstream(step)
    tex = style.colored(_matrix(up if shape is None else np.reshape(up, shape), True), style.GRADIENT)
    return rf"({tex})" if np.size(up) == 1 else tex  # a signed number after an operator: in parentheses


def _matrix(a, signed: bool = False) -> str:
    """A 1x1 as its number, anything else as a bmatrix (2-D arrays keep their rows: a row stays a row)."""
    a = np.asarray(a)
    return style.latex_number(float(a.reshape(())), signed) if a.size == 1 else style.latex_array(a, signed)


def _down(nt: Notation, step: Step, slot: int, shape=None) -> str:
    d = nt.downstream(step, slot)
    return style.colored(_matrix(d if shape is None else np.reshape(d, shape), True), style.GRADIENT)


def _product(lhs: str, factors: list[tuple[str, str]], times: str, result: str, compact: bool) -> str:
    """lhs = s1 · s2 = M1 · M2 = result; compact: lhs = M1 · M2 = result with each symbol under its matrix."""
    if compact:
        body = f" {times} ".join(rf"\underbrace{{{m}}}_{{\displaystyle {s}}}" for s, m in factors)
        return rf"{lhs} = {body} = {result}"
    symbols = f" {times} ".join(s for s, _ in factors)
    return rf"{lhs} = {symbols} = {f' {times} '.join(m for _, m in factors)} = {result}"


def _d(nt: Notation, node_id: str, compact: bool) -> str:
    """d out / d node: a fraction, or on one line (under a brace, where a fraction would be tiny)."""
    return rf"\partial {nt.output_tex}/\partial {nt.tex(node_id)}" if compact else nt.d(node_id)


def matmul_line(nt: Notation, step: Step, slot: int, lhs: str, compact: bool = False) -> str:
    """q = A B (or addmm's c + A B): dA = upstream · Bᵀ, dB = Aᵀ · upstream, symbols first, then the
    trace's matrices.

    A vector is written the way the product uses it (numpy's matmul: a 1-D left operand is a row, a 1-D
    right operand a column), so the written product has the shapes it needs; every entry is the trace's
    (the local gradient is the other operand transposed, as recorded; upstream and result as recorded)."""
    node = nt.trace.nodes[step.node]
    first, second = PRODUCT_OPS[node.op]
    a_src, b_src = node.inputs[first], node.inputs[second]
    a, b = nt.trace.nodes[a_src].value, nt.trace.nodes[b_src].value
    rows = 1 if np.ndim(a) == 1 else np.shape(a)[0]
    cols = 1 if np.ndim(b) == 1 else np.shape(b)[1]
    inner = np.shape(a)[-1]
    up_shape = (rows, cols)
    local = step.local[slot]
    up = (_d(nt, step.node, compact), _up(nt, step, up_shape))
    if slot == first:  # dA = upstream · Bᵀ
        factors = [up, (rf"{nt.tex(b_src)}^{{T}}", _matrix(np.reshape(local, (cols, inner))))]
        result = _down(nt, step, slot, (rows, inner))
    else:  # dB = Aᵀ · upstream
        factors = [(rf"{nt.tex(a_src)}^{{T}}", _matrix(np.reshape(local, (inner, rows)))), up]
        result = _down(nt, step, slot, (inner, cols))
    return _product(lhs, factors, r"\cdot", result, compact)


# What addmm's added term c was broadcast over (by which of the product's axes it has size 1), as the sum
# that undoes it is written: nn.Linear's bias is added to every row, one row per example of the batch
SUMMED_OVER = {(0,): "rows", (1,): "columns", (0, 1): "entries"}


def bias_summed(step: Step) -> bool:
    """Whether addmm's c (slot 0) gets its upstream summed (a batch: c was added to every row), not as it is."""
    return np.size(step.upstream) > np.size(step.downstream[0])


def added_line(nt: Notation, step: Step, slot: int, lhs: str, compact: bool = False) -> str:
    """addmm's c in c + A B: its local gradient is 1, so it gets the upstream, summed over the rows (or
    columns) it was added to: dc = Σ_rows upstream, written as the row (or column) it adds to each; with
    nothing to sum (one row), dc = upstream."""
    node = nt.trace.nodes[step.node]
    up = nt.upstream(step)
    rows, cols = np.shape(up)
    c = np.shape(nt.trace.nodes[node.inputs[slot]].value)
    c_rows, c_cols = (c[0] if len(c) == 2 else 1), (c[-1] if c else 1)
    over = tuple(axis for axis, (n, k) in enumerate(((rows, c_rows), (cols, c_cols))) if k == 1 and n > 1)
    result = _down(nt, step, slot, (1 if 0 in over else rows, 1 if 1 in over else cols))
    if not over:  # (short whole: no compact form)
        return rf"{lhs} = {nt.d(step.node)} = {result}"
    d = _d(nt, step.node, compact)
    total = rf"\sum_{{\textstyle\text{{{SUMMED_OVER[over]}}}}}"  # the word under the Σ set at the text's size
    if compact:
        return rf"{lhs} = {total} \underbrace{{{_up(nt, step)}}}_{{\displaystyle {d}}} = {result}"
    return rf"{lhs} = {total} {d} = {total} {_up(nt, step)} = {result}"


# The local gradient of an elementwise layer, as the books write it (the gate's own name, or its input's)
def _local_symbol(nt: Notation, step: Step, slot: int, compact: bool = False) -> str:
    node = nt.trace.nodes[step.node]
    src = node.inputs[slot]
    if node.op == "relu":
        return rf"\mathbf{{1}}[{nt.tex(src)} > 0]"
    if node.op == "sigmoid":
        y = nt.tex(step.node)
        return rf"{y}\,(1 - {y})"
    if compact:
        return rf"\partial {nt.tex(step.node)}/\partial {nt.tex(src)}"
    return nt.local(step.node, src)


def elementwise_lines(nt: Notation, step: Step, slot: int, lhs: str, compact: bool = False) -> list[str]:
    """downstream = local ⊙ upstream, entry by entry: ReLU's mask, Sigmoid's y(1 − y) with y shown."""
    node = nt.trace.nodes[step.node]
    local = step.local[slot]
    lines = []
    if node.op == "sigmoid":  # the cached output y, then its y(1 - y): the numbers the mask is made of
        y = style.colored(style.latex_array(nt.value(step.node)), style.FORWARD)
        lines.append(rf"{_local_symbol(nt, step, slot)} = {y} \odot \left(1 - {y}\right) = {style.latex_array(local)}")
    # a scalar upstream (a sum's) multiplies every entry; the output's own step has the seed 1 as upstream
    times = r"\cdot" if np.ndim(step.upstream) == 0 else r"\odot"
    if step.node == nt.trace.output:
        lines.append(rf"{lhs} = {style.latex_array(local)} {times} {_up(nt, step)} = {_down(nt, step, slot)}")
    else:
        factors = [(_local_symbol(nt, step, slot, compact), style.latex_array(local)),
                   (_d(nt, step.node, compact), _up(nt, step))]
        lines.append(_product(lhs, factors, times, _down(nt, step, slot), compact))
    return lines


def _one_hot_terms(step: Step) -> bool:
    """Softmax-with-loss's y, t and N are in the trace and every row of t sums to 1 (one-hot or soft
    targets): then its local gradient is (y − t) / N."""
    terms = step.terms or {}
    if not {"y", "t", "N"} <= set(terms):
        return False
    t = np.asarray(terms["t"])
    return bool(np.all(np.isfinite(t)) and np.allclose(t.sum(axis=-1), 1.0))


def softmax_loss_lines(nt: Notation, step: Step, lhs: str, compact: bool = False) -> list[str]:
    """Softmax-with-Loss: y = softmax(scores), then (y − t) / N with y, t and N from the trace."""
    node = nt.trace.nodes[step.node]
    terms = step.terms
    y = style.colored(style.latex_array(terms["y"]), style.FORWARD)
    t = style.latex_array(terms["t"])
    n = style.latex_number(float(terms["N"]))
    first = rf"y = \mathrm{{softmax}}({nt.tex(node.inputs[0])}) = {y}"
    if compact:
        rule = rf"\frac{{1}}{{{n}}}\left(\underbrace{{{y}}}_{{\displaystyle y}} - \underbrace{{{t}}}_{{\displaystyle t}}\right)"
    else:
        rule = rf"\frac{{y - t}}{{N}} = \frac{{1}}{{{n}}}\left({y} - {t}\right)"
    if step.node == nt.trace.output:  # the seed 1 upstream: the local gradient is the whole gradient
        return [first, rf"{lhs} = {rule} = {_down(nt, step, 0)}"]
    factors = [(r"(y - t)/N", style.latex_array(step.local[0])), (_d(nt, step.node, compact), _up(nt, step))]
    return [first, _product(lhs, factors, r"\times", _down(nt, step, 0), compact)]


def pages(lines: list[str]) -> list[str]:
    """Formulas to show one after another: scalar lines two side by side on one page; a line with a
    matrix on a page of its own, so that its entries stay readable."""
    if not any("bmatrix" in line for line in lines):
        rows = [r" \qquad ".join(lines[i:i + 2]) for i in range(0, len(lines), 2)]
        return [r" \\ ".join(rows)] if rows else []
    return lines


def chain_rule_tex(nt: Notation, step: Step) -> str:
    """All of a step's formulas in one (the scene shows them page by page: chain_rule_pages)."""
    return r" \\ ".join(chain_rule_pages(nt, step))


def branch_sum_line(nt: Notation, node_id: str) -> str:
    """A node used several times: its gradient is the sum of what each use sent back."""
    terms = " + ".join(rf"({style.latex_array(c, True)})" for _, _, c in nt.contributions(node_id))
    return rf"{nt.d(node_id)} = {terms} = " + style.colored(style.latex_array(nt.grad(node_id), True), style.GRADIENT)


def summary_pages(nt: Notation) -> list[str]:
    parts = [magnified_line(nt.d(n.id), nt.grad(n.id)) if too_large(n.grad) else
             rf"{nt.d(n.id)} = " + style.colored(style.latex_array(nt.grad(n.id), True), style.GRADIENT)
             for n in nt.trace.inputs]
    if all(np.ndim(n.grad) == 0 for n in nt.trace.inputs):
        return [r",\quad ".join(parts)]
    return parts


def summary_tex(nt: Notation) -> str:
    return r" \\ ".join(summary_pages(nt))


def branch_sum_tex(nt: Notation, nodes) -> str:
    return r" \\ ".join(branch_sum_line(nt, n.id) for n in nodes)
