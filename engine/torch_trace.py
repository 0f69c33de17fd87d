"""Trace a real torch forward and backward pass into the same version-1 graph trace the scenes read.

How the numbers are captured (none is recomputed by our engine):
- forward values: a ``TorchDispatchMode`` sees every aten op as it runs and keeps its outputs; the
  autograd node that torch attached to each output (``tensor.grad_fn``, ``output_nr``) names its op;
- the graph: torch's own, walked from the output through ``grad_fn.next_functions``; a leaf is an
  ``AccumulateGrad`` node and its ``variable``;
- the backward pass: a hook on every autograd node (``Node.register_hook``) records the gradients it
  received (upstream) and sent on (downstream) during one real ``backward()``, in the order torch ran.

Ops that match a gate of ``engine.ops`` (AddBackward0 -> add, MulBackward0 -> mul, MmBackward0 -> matmul,
AddmmBackward0 -> addmm, nn.Linear's bias + x W^T, ...) take that gate's name, so its captions and patterns
apply, and its local gradient is the table's, kept only when local x upstream reproduces torch's downstream.
An op scaled by an option the gate does not have (add's alpha, addmm's beta and alpha) is not that gate,
whatever its numbers. Any other op is drawn with its torch name, its value, upstream and downstream, and
no local factor.

Supported: any differentiable function of float tensors built from torch ops (functional, modules,
views, in-place ops on non-leaf tensors, ops with several outputs, such as split). Not supported: an
in-place change to a view whose base is used later (torch rewrites the history into CopySlices/AsStrided
nodes whose forward values are never produced by an op of their own), custom autograd.Function subclasses
whose backward is called by torch but whose forward is not an aten op (their node is drawn when its
value can be found, and refused with a clear message otherwise), double backward and complex numbers.
"""
from __future__ import annotations

import math
import re
import sysconfig
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from infra.errors import ConfigError
from .expr import NAME, PARAM_NAME
from .gradcheck import DEFAULT_H, numerical_gradient
from .ops import OPS, TORCH_OP
from .trace import header, node_entry, step_entry

# torch's autograd node names -> our gate table's ops (verified per node before use: see _gate)
GATES = {
    "AddBackward0": "add", "SubBackward0": "sub", "MulBackward0": "mul", "DivBackward0": "div",
    "NegBackward0": "neg", "ReciprocalBackward0": "reciprocal", "PowBackward0": "pow", "PowBackward1": "pow", "ExpBackward0": "exp",
    "LogBackward0": "log", "SqrtBackward0": "sqrt", "AbsBackward0": "abs", "SigmoidBackward0": "sigmoid",
    "TanhBackward0": "tanh", "ReluBackward0": "relu", "LeakyReluBackward0": "leaky_relu",
    "MmBackward0": "matmul", "MvBackward0": "matmul", "DotBackward0": "matmul", "AddmmBackward0": "addmm",
    "SumBackward0": "sum", "MeanBackward0": "mean", "MaxBackward1": "amax", "MinBackward1": "amin",
    "MaximumBackward0": "max", "MinimumBackward0": "min", "TBackward0": "transpose",
    "SoftmaxBackward0": "softmax", "LogSoftmaxBackward0": "log_softmax",
}
MAX_TRACED_NODES = 500
MAX_TRACED_ELEMENTS = 1_000_000  # in one tensor the user's code makes: a hundred times an input's limit


class TorchTraceError(ConfigError):
    """A torch function that cannot be traced (str() is one line, as every ConfigError)."""


@dataclass
class _Record:
    func: object
    args: tuple
    kwargs: dict
    outputs: list  # the output tensors (None for non-tensors), kept to read their grad_fn afterwards
    values: list  # their values at the time, copied (a later in-place op changes the tensor)
    where: traceback.FrameSummary | None = None  # an in-place op: the line of the user's code that ran it
    version: int = 0  # an in-place op: the version of the tensor it changed, after the change


class _Recorder(TorchDispatchMode):
    """Keeps every aten op's inputs and outputs as the forward pass runs."""

    def __init__(self):
        super().__init__()
        self.records: list[_Record] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        tensors = [o if isinstance(o, torch.Tensor) else None for o in outs]
        for t in tensors:  # refused as it is made, not minutes later (every op on it is recorded and probed)
            if t is not None and t.is_complex():
                raise TorchTraceError(f"{func} made a {t.dtype} tensor: complex numbers are not supported")
            if t is not None and t.numel() > MAX_TRACED_ELEMENTS:
                raise TorchTraceError(f"{func} made a tensor of {t.numel():,} elements; a traced tensor has at most "
                                      f"{MAX_TRACED_ELEMENTS:,} (an input at most 10,000)")
        self.records.append(_Record(func, args, kwargs, tensors,
                                    [None if t is None else t.detach().clone() for t in tensors]))
        if func._schema.is_mutable and args and isinstance(args[0], torch.Tensor):
            # kept to name the user's line should the backward pass find the change (below: _in_place_error)
            self.records[-1].where = _user_frame(traceback.extract_stack())
            self.records[-1].version = args[0]._version + 1  # (torch counts the change after this call)
        return out

    def view_names(self, names: dict[int, str]) -> dict[int, str]:
        """``names`` of constants, extended to views of them (nn.Linear unsqueezes a 1-D input)."""
        names = dict(names)
        for r in self.records:
            if getattr(r.func, "is_view", False) and r.args and id(r.args[0]) in names:
                for t in r.outputs:
                    if t is not None and not t.requires_grad:
                        names[id(t)] = names[id(r.args[0])]
        return names


@dataclass(eq=False)
class _TNode:
    """One node of the trace being built."""
    id: str
    op: str
    label: str
    value: np.ndarray
    inputs: list["_TNode"] = field(default_factory=list)
    slots: list[int | None] = field(default_factory=list)  # per input: its index in next_functions
    symbol: str = ""
    torch_name: str = ""  # the autograd node's name (MulBackward0), recorded in the trace
    torch_symbol: str = ""  # its short form (mul), drawn when the op is not one of our gates
    grad: np.ndarray | None = None


def torch_name(node) -> str:
    """A short name for an autograd node: NativeLayerNormBackward0 -> layer_norm."""
    name = re.sub(r"Backward\d*$", "", node.name().split("::")[-1])
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return re.sub(r"^native_", "", name)[:12]


def trace_torch(fn, inputs: dict[str, torch.Tensor], constants: dict[str, torch.Tensor] | None = None,
                names: dict[int, str] | None = None, config: dict | None = None, h: float = DEFAULT_H,
                check_numeric: bool = True, modules: dict[str, str] | None = None) -> dict:
    """The trace of ``fn(**inputs, **constants)``, a scalar tensor, through one real torch backward pass.

    ``inputs`` are leaves that get gradients (made float64 and requires_grad here); ``names`` labels
    other leaves found in the graph by ``id(tensor)`` (a module's parameters), and ``modules`` gives a
    parameter's layer class by its label (0.weight -> Linear: drawn Linear₀.weight). ``config`` is recorded
    in the trace as it is; ``check_numeric``: probe every input by central differences too.
    """
    constants = constants or {}
    leaves = {name: _leaf(v) for name, v in inputs.items()}
    consts = {name: torch.as_tensor(v, dtype=torch.float64) if not isinstance(v, torch.Tensor) else v
              for name, v in constants.items()}
    names = {**{id(t): n for n, t in leaves.items()}, **(names or {})}  # inputs first, then parameters
    recorder = _Recorder()
    with recorder:
        out = fn(**leaves, **consts)
        if not isinstance(out, torch.Tensor) or out.numel() != 1 or not out.is_floating_point():
            raise TorchTraceError(f"the function must return a scalar float tensor, got "
                                  f"{_describe(out)} (reduce it, e.g. with .sum(), or set 'loss')")
        if out.grad_fn is None:
            raise TorchTraceError("the output does not depend on any input that gets a gradient")
        out = out.reshape(()) if out.dim() else out  # a loss of shape (1,): drawn as the scalar it is
    builder = _Builder(recorder.records, names, recorder.view_names({id(t): n for n, t in consts.items()}))
    nodes, output = builder.build(out.grad_fn, out.output_nr)
    for n in nodes:  # every label is drawn in LaTeX: a name (fc1.weight, 0.bias), never other text
        if n.op == "input" and not PARAM_NAME.fullmatch(n.label):
            raise TorchTraceError(f"the parameter name {n.label[:40]!r} cannot be drawn: use ASCII letters, digits "
                                  "and _ (parts joined by dots, as torch names a module's parameters)")
    modules = {k: v for k, v in (modules or {}).items() if NAME.fullmatch(v)}
    # A module's parameters may hold gradients already: ours start from none, and theirs are given back.
    earlier = {tn: var.grad for tn, var in builder.leaf_var.items()}
    for var in builder.leaf_var.values():
        var.grad = None
    try:
        try:
            fired = builder.run_backward(out)
        except RuntimeError as e:
            raise _in_place_error(e, recorder.records) or e
        steps = builder.steps(fired)
        for tn, var in builder.leaf_var.items():
            tn.grad = np.zeros(tn.value.shape) if var.grad is None else _np(var.grad)
    finally:
        for tn, var in builder.leaf_var.items():
            var.grad = earlier[tn]
    _check_sums(nodes, steps, output)
    nodes, steps, output = _fold_reciprocal_times_one(nodes, steps, output)
    numeric = _numeric(fn, leaves, consts, nodes, builder, h) if check_numeric else {}
    if config is None:  # called from Python rather than from a config: a graph scene, titled by the function
        name = getattr(fn, "__name__", "")
        config = {"scene": "graph", **({"title": f"{name} in PyTorch"} if name.isidentifier() else {})}
    return {**header("graph", config, "torch"),
            "nodes": [node_entry(n.id, n.op, n.label, n.value, n.grad, [i.id for i in n.inputs],
                                 None if n.op in ("input", "const") else n.symbol,
                                 {"module": modules[n.label]} if n.op == "input" and n.label in modules else None,
                                 numeric.get(n.id),
                                 **({"torch_op": n.torch_name} if n.torch_name else {})) for n in nodes],
            "output": output.id, "forward": [n.id for n in nodes],
            "backward": [step_entry(tn.id, up, local, down) for tn, up, local, down in steps]}


_NOT_USER_CODE = tuple(str(p) for p in (Path(torch.__file__).parent, Path(__file__).parent,
                                          sysconfig.get_paths()["stdlib"]))
IN_PLACE = re.compile(r"modified by an inplace operation: \[(?P<tensor>[^\]]*\])\], which is output (?P<nr>\d+) of "
                      r"(?P<op>\w+), is at version (?P<now>\d+); expected version (?P<saved>\d+)")


def _user_frame(stack: list[traceback.FrameSummary]) -> traceback.FrameSummary | None:
    """The innermost frame of the user's code: not torch's, ours or the standard library's."""
    for frame in reversed(stack):
        if not frame.filename.startswith(_NOT_USER_CODE) and not frame.filename.startswith("<"):
            return frame
    return None


def _in_place_error(e: RuntimeError, records: list[_Record]) -> TorchTraceError | None:
    """torch's "modified by an inplace operation ... output 0 of MulBackward0" said with the user's line that
    made the change: the in-place op that took the tensor from the version its user saved to the next."""
    m = IN_PLACE.search(str(e))
    if m is None:
        return None
    saved = int(m["saved"])
    for r in records:
        if r.where is not None and r.version == saved + 1 and f"[{', '.join(map(str, r.args[0].shape))}]" \
                in m["tensor"].replace("torch.Size(", ""):
            line = f"{Path(r.where.filename).name}, line {r.where.lineno}" + (f": {r.where.line}" if r.where.line else "")
            return TorchTraceError(
                f"{line} changes a tensor in place (output {m['nr']} of {m['op']}) that an operation before it "
                "saved for the backward pass; compute a new tensor instead (z = z + 1, not z += 1) or clone() it first")
    return None


def _leaf(v) -> torch.Tensor:
    t = v.detach().clone() if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(v, dtype=np.float64))
    return t.to(torch.float64).requires_grad_(True)


def _describe(v) -> str:
    if isinstance(v, torch.Tensor):
        return f"a {v.dtype} tensor of shape {tuple(v.shape)}"
    return f"a {type(v).__name__}"


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().to(torch.float64).numpy().copy()
    return np.asarray(float(t), dtype=np.float64)


class _Builder:
    def __init__(self, records: list[_Record], names: dict[int, str], const_names: dict[int, str]):
        self.records = records
        self.names = names
        self.const_names = const_names
        self.owner = self._owners()
        self.nodes: dict[tuple, _TNode] = {}  # (autograd node, output_nr) or ("leaf", id) -> node
        self.leaf_var: dict[_TNode, torch.Tensor] = {}
        self.consts: list[_TNode] = []
        self.outputs_of: dict[object, list[int]] = {}  # autograd node -> its output numbers in the trace

    def _owners(self) -> dict[tuple, int]:
        """(autograd node, output_nr) -> the record whose output it is. A tensor changed in place is the
        output of several records; its grad_fn is the last one's node, and each in-place node's first
        input is the node of the version before it."""
        by_tensor: dict[int, list[tuple[int, int]]] = {}
        for i, r in enumerate(self.records):
            for k, t in enumerate(r.outputs):
                if t is not None and t.requires_grad:
                    by_tensor.setdefault(id(t), []).append((i, k))
        owner = {}
        for made in by_tensor.values():
            i, k = made[-1]
            t = self.records[i].outputs[k]
            node, nr = t.grad_fn, t.output_nr
            for i, k in reversed(made):
                if node is None:
                    break
                owner.setdefault((node, nr), i)
                if not self.records[i].func._schema.is_mutable:
                    break
                node, nr = node.next_functions[0] if node.next_functions else (None, 0)
        return owner

    # --- the graph ------------------------------------------------------------------------------------
    def build(self, root, root_nr: int) -> tuple[list[_TNode], _TNode]:
        used: dict[object, set[int]] = {root: {root_nr}}
        order, seen, stack = [], {root}, [root]
        while stack:
            node = stack.pop()
            order.append(node)
            for nxt, nr in node.next_functions:
                if nxt is None:
                    continue
                used.setdefault(nxt, set()).add(nr)
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        if len(order) > MAX_TRACED_NODES:
            raise TorchTraceError(f"the autograd graph has {len(order)} nodes (at most {MAX_TRACED_NODES} are drawn)")
        for node in order:
            if hasattr(node, "variable"):
                self._leaf_node(node.variable)
        ops = []
        for node in order:
            if hasattr(node, "variable"):
                continue
            nrs = self.outputs_of[node] = sorted(used[node])
            for nr in nrs:
                rec = self.owner.get((node, nr))
                if rec is None:
                    raise TorchTraceError(
                        f"{node.name()}: its forward value was not recorded (an in-place change to a view of "
                        "another tensor, or a custom autograd.Function?); clone() before changing a tensor in place")
                tn = _TNode("", TORCH_OP, TORCH_OP, _np(self.records[rec].values[nr]))
                tn.torch_name = node.name()
                self.nodes[(node, nr)] = tn
                ops.append((rec, nr, node, tn))
        ops.sort(key=lambda o: o[0])  # by record; an op's outputs stay in the order of their numbers (stable)
        for rec, nr, node, tn in ops:
            self._connect(node, nr, tn, self.records[rec])
        leaves = [n for n in self.nodes.values() if n.op == "input"]
        leaves.sort(key=lambda n: self._leaf_rank(n))
        nodes = leaves + self.consts + [o[3] for o in ops]
        for i, n in enumerate(nodes):
            n.id = f"n{i}"
        return nodes, self.nodes[(root, root_nr)]

    def _leaf_rank(self, n: _TNode) -> int:
        return list(self.names.values()).index(n.label) if n.label in self.names.values() else len(self.names)

    def _leaf_node(self, var: torch.Tensor) -> _TNode:
        key = ("leaf", id(var))
        if key not in self.nodes:
            label = self.names.get(id(var)) or f"w{sum(n.op == 'input' for n in self.nodes.values()) + 1}"
            tn = _TNode("", "input", label, _np(var))
            self.nodes[key] = tn
            self.leaf_var[tn] = var
        return self.nodes[key]

    def _const_node(self, arg) -> _TNode:
        value = _np(arg)
        if isinstance(arg, torch.Tensor) and id(arg) in self.const_names:
            label = self.const_names[id(arg)]
        elif value.ndim == 0 and math.isfinite(float(value)):
            label = f"{float(value):g}"
        else:
            label = f"c{len(self.consts) + 1}"
        tn = _TNode("", "const", label, value)
        self.consts.append(tn)
        return tn

    def _connect(self, node, nr: int, tn: _TNode, rec: _Record) -> None:
        """Inputs in the op's own argument order: a tensor argument that gets a gradient is the node it
        came from; one that gets none (a constant, a number) is a constant node."""
        operands = _operands(rec)
        nexts = node.next_functions
        gate = GATES.get(type(node).__name__)
        tensors = [k for k, o in enumerate(operands) if o[0] == "tensor"]
        if len(operands) == len(nexts):
            pairs = [(arg, k) for k, (_, arg) in enumerate(operands)]
        elif gate is not None and len(tensors) == len(nexts):  # numbers after the tensors: pow's exponent
            pairs = [(arg, tensors.index(k) if kind == "tensor" else None) for k, (kind, arg) in enumerate(operands)]
        else:  # no reliable alignment: only the inputs that get gradients, in torch's order
            gate = None
            pairs = [(None, k) for k, (nxt, _) in enumerate(nexts) if nxt is not None]
        for arg, k in pairs:
            nxt, nxt_nr = nexts[k] if k is not None else (None, 0)
            if nxt is not None:
                src = self.nodes[("leaf", id(nxt.variable))] if hasattr(nxt, "variable") else self.nodes[(nxt, nxt_nr)]
                tn.inputs.append(src)
                tn.slots.append(k)
            elif arg is not None:
                tn.inputs.append(self._const_node(arg))
                tn.slots.append(None)
        tn.symbol = tn.torch_symbol = torch_name(node)
        if gate is not None and not _scaled(rec) and self._forward_matches(gate, tn):
            tn.op = tn.label = gate
            tn.symbol = OPS[gate].symbol

    def _forward_matches(self, gate: str, tn: _TNode) -> bool:
        try:
            with np.errstate(all="ignore"):
                ours = OPS[gate].forward(*[i.value for i in tn.inputs])
            return np.shape(ours) == tn.value.shape and np.allclose(ours, tn.value, rtol=1e-12, atol=1e-300,
                                                                     equal_nan=True)
        except Exception:  # noqa: BLE001 - a gate that does not fit these operands is just not this gate
            return False

    # --- the backward pass ------------------------------------------------------------------------------
    def run_backward(self, out: torch.Tensor) -> list[tuple]:
        fired, handles = [], []
        for node in {key[0] for key in self.nodes if key[0] != "leaf"}:
            handles.append(node.register_hook(
                lambda grad_in, grad_out, node=node: fired.append((node, grad_in, grad_out))))
        try:
            # kept for the ops with several outputs, whose shares are asked of their node afterwards
            out.backward(retain_graph=any(len(nrs) > 1 for nrs in self.outputs_of.values()))
        finally:
            for h in handles:
                h.remove()
        return fired

    def steps(self, fired: list[tuple]) -> list[tuple]:
        steps = []
        for node, grad_in, grad_out in fired:
            nrs = self.outputs_of[node]
            for nr in nrs:
                tn = self.nodes[(node, nr)]
                up = grad_out[nr]
                up = np.zeros(tn.value.shape) if up is None else _np(up)
                if len(nrs) > 1:  # one output's share: backward is linear in the upstream gradients
                    share = [torch.as_tensor(up) if k == nr else None if g is None else torch.zeros_like(g)
                             for k, g in enumerate(grad_out)]
                    grad_in = node(*share)
                    grad_in = grad_in if isinstance(grad_in, tuple) else (grad_in,)
                down = [None if s is None else (np.zeros(i.value.shape) if grad_in[s] is None else _np(grad_in[s]))
                        for i, s in zip(tn.inputs, tn.slots)]
                tn.grad = up
                steps.append((tn, up, self._local(tn, up, down), down))
        return steps

    def _local(self, tn: _TNode, up: np.ndarray, down: list) -> list:
        """The gate table's local gradients, when local x upstream gives what torch sent; else none."""
        none = [None] * len(down)
        if tn.op == TORCH_OP:
            return none
        try:
            with np.errstate(all="ignore"):
                local, ours = OPS[tn.op].downstream([i.value for i in tn.inputs], tn.value, up)
        except Exception:  # noqa: BLE001
            return none
        for o, d in zip(ours, down):
            if d is not None and not (o.shape == d.shape and np.allclose(o, d, rtol=1e-9, atol=1e-12, equal_nan=True)):
                tn.op, tn.label, tn.symbol = TORCH_OP, TORCH_OP, tn.torch_symbol
                return none
        return [None if d is None else lg for lg, d in zip(local, down)]


# Argument types as torch's schemas print them (str(arg.type); every aten schema uses only these for tensors
# and numbers: Tensor, Optional[Tensor], List[Tensor], List[Optional[Tensor]], number, float, int).
TENSOR_TYPES = ("Tensor", "Optional[Tensor]")
TENSOR_LIST_TYPES = ("List[Tensor]", "List[Optional[Tensor]]")
NUMBER_TYPES = ("number", "float")  # where a tensor could stand (an int is a dim or a size, not an operand)


def _operands(rec: _Record) -> list[tuple[str, object]]:
    """The op's operands in its schema's order: tensor arguments (lists flattened; absent optional ones
    kept as None so positions line up with next_functions), then numbers given where a tensor could be."""
    out = []
    scalars = []
    for i, arg in enumerate(rec.func._schema.arguments):
        if i < len(rec.args):
            v = rec.args[i]
        else:
            v = rec.kwargs.get(arg.name, arg.default_value if arg.has_default_value() else None)
        t = str(arg.type)
        if arg.kwarg_only:  # alpha, out=, memory_format: options, not operands
            continue
        if t in TENSOR_TYPES:
            out.append(("tensor", v))
        elif t in TENSOR_LIST_TYPES:
            out.extend(("tensor", x) for x in (v or []))
        elif t in NUMBER_TYPES and isinstance(v, (int, float)):
            scalars.append(("scalar", v))
    return out + scalars


def _scaled(rec: _Record) -> bool:
    """Whether the op was given a scale our gates do not have: a number option away from its default (add's
    alpha, addmm's beta and alpha). The numbers alone can miss it (beta times a zero bias adds nothing, a zero
    upstream sends nothing back), and the gate's local gradient for the bias, 1, would be drawn where torch's is beta."""
    for arg in rec.func._schema.arguments:
        if arg.kwarg_only and str(arg.type) in NUMBER_TYPES and arg.name in rec.kwargs and arg.has_default_value() \
                and rec.kwargs[arg.name] != arg.default_value:
            return True
    return False


def _fold_reciprocal_times_one(nodes: list[_TNode], steps: list[tuple], output: _TNode):
    """torch computes ``1 / t`` as ``reciprocal(t) * 1``: that multiply by the number 1 is how torch is built,
    not a gate the user wrote, and drawn it adds a column to the circuit (cs231n's sigmoid neuron ends at a
    1/x gate). Such a multiply is dropped and its reciprocal stands for it: its value and gradients are
    the multiply's exactly (times 1 in floating point is exact), and every number left is still torch's."""
    def is_one(n: _TNode) -> bool:
        return n.op == "const" and n.value.shape == () and float(n.value) == 1.0

    users: dict[_TNode, int] = {}
    for n in nodes:
        for i in n.inputs:
            users[i] = users.get(i, 0) + 1
    replaced: dict[_TNode, _TNode] = {}
    for n in nodes:
        if n.op == "mul" and len(n.inputs) == 2 and any(map(is_one, n.inputs)):
            other = n.inputs[1] if is_one(n.inputs[0]) else n.inputs[0]
            if other.op == "reciprocal" and users.get(other) == 1 and np.array_equal(other.value, n.value):
                replaced[n] = other
    if not replaced:
        return nodes, steps, output
    dropped = set(replaced) | {i for n in replaced for i in n.inputs if is_one(i) and users.get(i) == 1}
    for n in nodes:
        n.inputs = [replaced.get(i, i) for i in n.inputs]
    for mul, recip in replaced.items():
        recip.grad = mul.grad
    kept = [n for n in nodes if n not in dropped]
    for i, n in enumerate(kept):
        n.id = f"n{i}"
    return kept, [s for s in steps if s[0] not in dropped], replaced.get(output, output)


def _check_sums(nodes: list[_TNode], steps: list[tuple], output: _TNode) -> None:
    """Every node's gradient is the sum of the contributions the backward steps sent it (torch's .grad
    for a leaf): a hook that missed a step, or an input wired to the wrong node, is caught here."""
    got: dict[_TNode, np.ndarray] = {}
    for tn, _, _, down in steps:
        for src, d in zip(tn.inputs, down):
            if d is not None:
                got[src] = got.get(src, 0) + d
    for n in nodes:
        if n.grad is None or n is output:
            continue
        total = got.get(n, np.zeros(n.value.shape))
        if np.shape(total) != n.grad.shape or not np.allclose(total, n.grad, rtol=1e-9, atol=1e-12, equal_nan=True):
            raise TorchTraceError(f"torch trace check: the contributions into '{n.label}' do not add up to its "
                                  "gradient (an op this tracer does not support?)")


class _Probe:
    """What engine.gradcheck needs of a graph: inputs whose value it can set, and forward()."""

    def __init__(self, fn, leaves, consts, nodes, builder):
        self.fn, self.leaves, self.consts = fn, leaves, consts
        self.inputs = [n for n in nodes if n.op == "input"]
        self.builder = builder
        self.output = type("Out", (), {})()
        self.output.value = self.forward()

    def forward(self):
        with torch.no_grad():
            for n in self.inputs:
                self.builder.leaf_var[n].copy_(torch.as_tensor(n.value))
            try:
                value = float(self.fn(**self.leaves, **self.consts))
            except Exception as e:  # noqa: BLE001 - a probe outside the function's domain
                from .ops import EngineError
                raise EngineError(str(e).splitlines()[0] if str(e) else type(e).__name__) from None
        self.output.value = np.asarray(value)
        return self.output.value


def _numeric(fn, leaves, consts, nodes, builder, h: float) -> dict:
    probe = _Probe(fn, leaves, consts, nodes, builder)
    return {n.id: numerical_gradient(probe, n, h) for n in probe.inputs}
