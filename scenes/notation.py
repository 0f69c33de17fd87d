"""How a graph trace is written on screen: names for every node, and rounding noise shown as 0.

Names. The output keeps its own name (L, f, ...; ``f`` when the expression gives it none) and so does
every node the config names; every other gate is q1, q2, ... in forward order (skipping names the
config already uses), and every gate shows its name inside its circle, so an equation never names a
node the viewer cannot find.

Rounding noise. A value or gradient whose magnitude is below NOISE_ULPS units in the last place of the
largest magnitude that went into computing it is within rounding error of 0 (x + y - x giving 2.8e-17
where x = 0.1) and is shown as 0. The scale of a forward value is the largest input (their product
for ×, matmul and addmm's A B); the scale of a gradient is the largest term it was summed from, each term being
|local| x the scale of its upstream gradient. 64 ulps allows for a few dozen roundings in a row, far
fewer than any value a viewer would care about: 64 x 2.2e-16 = 1.4e-14 of the scale.
"""
from __future__ import annotations

import numpy as np

from scenes import style
from scenes.trace_data import GraphTrace, Step

NOISE_ULPS = 64
# ops that multiply two of their inputs, and which two (the slots of the factors): addmm is c + A B
PRODUCT_OPS = {"mul": (0, 1), "matmul": (0, 1), "addmm": (1, 2)}


class Notation:
    """Names and noise-free numbers for one graph trace (read from it, nothing new computed)."""

    def __init__(self, trace: GraphTrace):
        self.trace = trace
        self.uses = {nid: 0 for nid in trace.nodes}
        for n in trace.nodes.values():
            for src in n.inputs:
                self.uses[src] += 1
        self.names = self._names()
        self.value_scale: dict[str, float] = {}
        for nid in trace.forward:  # inputs before the nodes that use them
            self.value_scale[nid] = self._value_scale(nid)
        self.grad_scale = self._grad_scales()
        # the step that sends each input its last contribution (backward order: the last one to mention it)
        self.done_at: dict[str, str] = {}
        for s in self.trace.backward:
            for src, down in zip(self.trace.nodes[s.node].inputs, s.downstream):
                if down is not None:
                    self.done_at[src] = s.node

    # --- names ------------------------------------------------------------------------------------
    def _names(self) -> dict[str, str]:
        t = self.trace
        taken = {n.label for n in t.nodes.values()}
        names, k = {}, 0
        for nid in t.forward:
            n = t.nodes[nid]
            if nid == t.output and n.label == n.op:
                names[nid] = "f" if "f" not in taken else "out"
            elif n.is_leaf or n.label != n.op:
                names[nid] = n.label
            else:
                k += 1
                while f"q{k}" in taken:
                    k += 1
                names[nid] = f"q{k}"
        return names

    def tex(self, node_id: str) -> str:
        """The node in a formula: its name (w_{0}, q_{2}), or the number a literal constant holds."""
        n = self.trace.nodes[node_id]
        return style.node_tex(self.names[node_id], n.value, n.attrs.get("module"))

    @property
    def output_tex(self) -> str:
        return self.tex(self.trace.output)

    def shows_name(self, node_id: str) -> bool:
        """A gate with a name the formulas use (q1..., or the config's h, L): the graph writes it in the gate.
        An output the config did not name is f, said by the title and the equations alone."""
        n = self.trace.nodes[node_id]
        return not n.is_leaf and (node_id != self.trace.output or n.label != n.op)

    def d(self, node_id: str) -> str:
        r"""\frac{\partial L}{\partial x}: the output's total derivative with respect to a node."""
        return rf"\frac{{\partial {self.output_tex}}}{{\partial {self.tex(node_id)}}}"

    def d_via(self, node_id: str, head: str) -> str:
        r"""One path's share of \partial L/\partial x: the part that reaches x through ``head``. The path under the
        bar is set at the text's size, not a script's: it is what tells two shares apart, and reads at 10 px."""
        return rf"\left.{self.d(node_id)}\right|_{{\textstyle {self.tex(node_id)} \to {self.tex(head)}}}"

    def local(self, head: str, node_id: str) -> str:
        return rf"\frac{{\partial {self.tex(head)}}}{{\partial {self.tex(node_id)}}}"

    # --- numbers without rounding noise -----------------------------------------------------------
    def _value_scale(self, nid: str) -> float:
        """The magnitude a node's value was computed from: noise in an input stays noise downstream."""
        n = self.trace.nodes[nid]
        if not n.inputs:
            return _maxabs(n.value)
        scales = [self.value_scale[i] for i in n.inputs]
        own = _maxabs(n.value)
        if n.op == "div":
            b = _minabs(self.trace.nodes[n.inputs[1]].value)
            return max(scales[0] / b if b > 0 else own, own)
        if n.op in PRODUCT_OPS:
            factors = PRODUCT_OPS[n.op]
            first = self.trace.nodes[n.inputs[factors[0]]].value
            terms = np.shape(first)[-1] if n.op != "mul" and np.ndim(first) else 1  # a dot product's sum
            added = [s for k, s in enumerate(scales) if k not in factors]  # addmm's c
            return max(float(np.prod([scales[k] for k in factors])) * terms, *added, own)
        return max(*scales, own)

    def _grad_scales(self) -> dict[str, float]:
        """The magnitude each gradient was summed from: each term is |local| x its upstream's scale, where
        a product's local gradient (the other factor) counts at that factor's value scale."""
        t = self.trace
        scale = {t.output: 1.0}
        self.term_scale: dict[tuple[str, int], float] = {}
        for step in t.backward:
            node = t.nodes[step.node]
            up = scale.get(step.node, _maxabs(step.upstream))
            for slot, (src, local, down) in enumerate(zip(node.inputs, step.local, step.downstream)):
                if down is None:
                    continue
                if local is None:
                    term = _maxabs(down)
                else:
                    factor = _maxabs(local)
                    factors = PRODUCT_OPS.get(node.op, ())
                    if slot in factors:  # the other factor, at its value's scale
                        factor = max([factor] + [self.value_scale[node.inputs[k]] for k in factors if k != slot])
                    term = max(factor * up * _inner(local, step.upstream), _maxabs(down))
                self.term_scale[(step.node, slot)] = term
                scale[src] = max(scale.get(src, 0.0), term)
        return scale

    def value(self, node_id: str) -> np.ndarray:
        return _flush(self.trace.nodes[node_id].value, self.value_scale.get(node_id, 0.0))

    def grad(self, node_id: str) -> np.ndarray:
        return _flush(self.trace.nodes[node_id].grad, self.grad_scale.get(node_id, 0.0))

    def downstream(self, step: Step, slot: int) -> np.ndarray:
        return _flush(step.downstream[slot], self.term_scale.get((step.node, slot), 0.0))

    def upstream(self, step: Step) -> np.ndarray:
        return _flush(step.upstream, self.grad_scale.get(step.node, 0.0))

    # --- branches ---------------------------------------------------------------------------------
    def completes(self, step: Step) -> list[str]:
        """Inputs used more than once whose last contribution arrives in ``step``: their sum is shown."""
        node = self.trace.nodes[step.node]
        return [src for src in dict.fromkeys(node.inputs)
                if self.uses[src] > 1 and self.done_at.get(src) == step.node]

    def contributions(self, node_id: str) -> list[tuple[str, int, np.ndarray]]:
        """(head, slot, what it sent back) for every use of ``node_id``, in backward order."""
        out = []
        for s in self.trace.backward:
            for slot, (src, down) in enumerate(zip(self.trace.nodes[s.node].inputs, s.downstream)):
                if src == node_id and down is not None:
                    out.append((s.node, slot, self.downstream(s, slot)))
        return out


def _maxabs(a) -> float:
    a = np.asarray(a, dtype=float)
    finite = a[np.isfinite(a)]
    return float(np.max(np.abs(finite))) if finite.size else 0.0


def _minabs(a) -> float:
    a = np.abs(np.asarray(a, dtype=float))
    return float(a.min()) if a.size else 0.0


def _inner(local, upstream) -> int:
    """How many terms a matrix product sums (1 for scalars and elementwise gates)."""
    return int(np.shape(upstream)[-1]) if np.ndim(local) >= 2 and np.ndim(upstream) >= 1 else 1


def _flush(a, scale: float) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    tiny = np.isfinite(a) & (np.abs(a) <= NOISE_ULPS * np.finfo(float).eps * scale)
    return np.where(tiny, 0.0, a) if tiny.any() else a

