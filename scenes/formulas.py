"""The chain rule written out: one formula per input of a backward step, a branch's sum, the summary.

Every number comes from the trace through Notation (names, rounding noise shown as 0); nothing here
computes a gradient. A formula that does not fit one page is split into pages by the scene.
"""
from __future__ import annotations

import numpy as np

from scenes import style
from scenes.notation import Notation
from scenes.trace_data import Step


def chain_rule_pages(nt: Notation, step: Step, sums: bool = True) -> list[str]:
    """One line per input: d out / d input = local x upstream = downstream (numbers from the trace).

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
        if local is not None and np.ndim(down) == 0 and np.ndim(local) == 0:
            up = style.colored(style.latex_number(float(nt.upstream(step)), True), style.GRADIENT)
            # local x upstream, first as symbols (the output's own step has the seed 1 as its upstream)
            symbols = "" if step.node == trace.output else rf"{nt.local(step.node, src)}\,{nt.d(step.node)} = "
            lines.append(rf"{lhs} = {symbols}{style.latex_number(float(local))} \times ({up}) = {grad}")
        else:  # a matrix, or no simple factor (a transpose, a softmax's Jacobian): the product itself
            lines.append(rf"{lhs} = {grad}" + (rf"\;\; ({style.latex_shape(down)})" if np.ndim(down) else ""))
    for src in nt.completes(step) if sums else []:
        lines.append(branch_sum_line(nt, src))
    return pages(lines)


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
    parts = [rf"{nt.d(n.id)} = " + style.colored(style.latex_array(nt.grad(n.id), True), style.GRADIENT)
             for n in nt.trace.inputs]
    if all(np.ndim(n.grad) == 0 for n in nt.trace.inputs):
        return [r",\quad ".join(parts)]
    return parts


def summary_tex(nt: Notation) -> str:
    return r" \\ ".join(summary_pages(nt))


def branch_sum_tex(nt: Notation, nodes) -> str:
    return r" \\ ".join(branch_sum_line(nt, n.id) for n in nodes)
