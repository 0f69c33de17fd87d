"""A computational graph of gates with a real forward and backward pass.

The backward loop is generic: reverse topological order, each gate's local gradients from the op table,
downstream = local x upstream, accumulated where a node is used more than once. Each step is recorded
as it happens, so the trace is a by-product of the pass rather than a second computation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ops import OPS, Array, EngineError


@dataclass(eq=False)
class Node:
    id: str
    op: str  # "input", "const" or a key of OPS
    label: str
    inputs: list["Node"] = field(default_factory=list)
    attrs: dict = field(default_factory=dict)  # fixed at parse time: a reduction's axis, a subscript's index
    value: Array | None = None
    grad: Array | None = None
    # Constants (and gates fed only by constants) get no gradient, as with requires_grad=False.
    needs_grad: bool = False


@dataclass
class BackwardStep:
    node: Node
    upstream: Array
    local: list[Array | None]
    downstream: list[Array | None]
    terms: dict[str, Array] | None = None  # what the op's formula is written with (Op.terms)


class Graph:
    """Nodes in creation order, which is already a topological order (inputs precede their users)."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.output: Node | None = None

    def add(self, op: str, label: str, inputs: list[Node] = (), value=None, attrs: dict | None = None) -> Node:
        node = Node(f"n{len(self.nodes)}", op, label, list(inputs), dict(attrs or {}))
        node.needs_grad = op == "input" or any(i.needs_grad for i in inputs)
        if value is not None:
            node.value = np.asarray(value, dtype=np.float64)
        self.nodes.append(node)
        return node

    @property
    def inputs(self) -> list[Node]:
        return [n for n in self.nodes if n.op == "input"]

    def set_inputs(self, values: dict[str, Array]) -> None:
        for n in self.inputs:
            n.value = np.asarray(values[n.label], dtype=np.float64)

    def forward(self) -> Array:
        """Compute every gate's value in topological order; return the output's."""
        for n in self.nodes:
            if n.op in ("input", "const"):
                continue
            vals = [i.value for i in n.inputs]
            try:
                with np.errstate(all="ignore"):
                    n.value = np.asarray(OPS[n.op].forward(*vals, **n.attrs), dtype=np.float64)
            except EngineError:
                raise
            except ValueError as e:  # numpy's own complaint, e.g. shapes that do not broadcast
                where = n.op if n.label == n.op else f"{n.op} at '{n.label}'"
                raise EngineError(f"{where}: {e}") from None
            if not np.all(np.isfinite(n.value)) and np.all([np.all(np.isfinite(v)) for v in vals]):
                raise EngineError(f"{n.op} overflowed to a non-finite value at '{n.label}'")
        return self.output.value

    def backward(self) -> list[BackwardStep]:
        """Reverse-mode pass from the output (seeded with 1); returns the recorded steps."""
        if self.output.value.ndim != 0:
            raise EngineError(f"the output must be a scalar to differentiate, got shape {self.output.value.shape}"
                              " (wrap it in sum(...))")
        for n in self.nodes:
            n.grad = np.zeros_like(n.value) if n.needs_grad else None
        self.output.grad = np.ones_like(self.output.value)
        live = self._ancestors_of_output()
        steps = []
        for n in reversed(self.nodes):
            if n.op in ("input", "const") or not n.needs_grad or n not in live:
                continue
            vals = [i.value for i in n.inputs]
            with np.errstate(all="ignore"):  # an overflow is a value of the trace (inf, NaN), not a warning
                local, down = OPS[n.op].downstream(vals, n.value, n.grad, n.attrs)
                for i, (src, d) in enumerate(zip(n.inputs, down)):
                    if src.needs_grad:
                        src.grad = src.grad + d  # several uses of one node accumulate (inf + -inf is NaN)
                    else:
                        local[i] = down[i] = None
            terms = OPS[n.op].terms(vals, n.value, **n.attrs) if OPS[n.op].terms else None
            steps.append(BackwardStep(n, n.grad.copy(), local, down, terms))
        return steps

    def _ancestors_of_output(self) -> set[Node]:
        live = {self.output}
        for n in reversed(self.nodes):
            if n in live:
                live.update(n.inputs)
        return live
