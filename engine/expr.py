"""Parse an expression from a config into a Graph, through an explicit whitelist of syntax.

Accepted: numbers, names, + - * / ** @, unary minus and plus, parentheses, calls of the functions in
``ops.FUNCTIONS`` (``axis=k`` where ``ops.KEYWORDS`` allows it), subscripts with integer constants
(``x[i]``, ``W[i, j]``), the one attribute ``W.T``, and several lines of ``name = expr`` or
``name += expr`` (a name may be reassigned, an input's too; the last line is the output). Everything else (other
attributes, slices, lambdas, comprehensions, imports...) is refused with the position of the offending
syntax, and common near-misses (``x ^ 2``, ``np.exp(x)``, ``pow(x, 2)``) say what to write instead.
Nothing is ever ``eval``ed.
"""
from __future__ import annotations

import ast
import difflib
import math
import re

from .graph import Graph, Node
from .ops import FUNCTIONS, KEYWORDS, LEAKY_SLOPE

MAX_EXPRESSION_CHARS = 10_000
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # a variable's name: ASCII, so every formula can typeset it
# a torch module's parameter (fc1.weight, layers.0.bias, 0.weight in an nn.Sequential): names and indices
# joined by dots, plain ASCII, with at least one letter (so that no number, 0.5, reads as one)
PARAM_NAME = re.compile(r"(?=[A-Za-z0-9_.]*[A-Za-z])[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow", ast.MatMult: "matmul"}
# Operators people reach for from other languages, with what this language spells them as.
_NEAR_MISS_OPS = {ast.BitXor: "use x ** 2 for a power (^ is bitwise xor in Python)",
                  ast.FloorDiv: "use / (// is floor division, which has no useful gradient)",
                  ast.Mod: "% (remainder) is not supported"}
_NEAR_MISS_CALLS = {"pow": "use x ** y", "power": "use x ** y", "dot": "use A @ B", "matmul": "use A @ B",
                    "ln": "use log(x) (the natural logarithm)", "sign": "sign has no useful gradient",
                    "square": "use x ** 2", "maximum": "use max(x, y)", "minimum": "use min(x, y)"}

MAX_NAME_CHARS = 24  # a name is drawn beside its node and in every formula: longer ones squeeze the graph away


def name_too_long(name: str) -> str | None:
    """Why a name is too long to draw, or None."""
    if len(name) > MAX_NAME_CHARS:
        return f"name '{name[:MAX_NAME_CHARS]}...' is {len(name)} characters; a name is at most {MAX_NAME_CHARS}"
    return None


class ExpressionError(ValueError):
    """The expression is not in the accepted language; the message says where and why."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        where = f"line {line}, column {col + 1}: " if line is not None and col is not None else ""
        super().__init__(where + message)


def parse_expression(source: str, input_names: list[str], constants: dict | None = None,
                     max_nodes: int | None = None) -> Graph:
    """Build the graph of ``source`` over variables ``input_names`` and named ``constants`` (no gradient)."""
    if len(source) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression is {len(source)} characters long (at most {MAX_EXPRESSION_CHARS})")
    if not source.strip():
        raise ExpressionError("expression is empty")
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as e:
        raise ExpressionError(f"syntax error: {e.msg}", e.lineno, (e.offset or 1) - 1) from None
    except (ValueError, MemoryError, RecursionError) as e:
        raise ExpressionError(f"cannot parse: {e}") from None
    try:
        return _Builder(input_names, constants or {}, max_nodes).build(tree.body)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None


class _Builder:
    def __init__(self, input_names: list[str], constants: dict, max_nodes: int | None):
        self.graph = Graph()
        self.names: dict[str, Node] = {}
        self.unused_inputs = list(input_names) + list(constants)
        self.input_names = set(input_names)
        self.constants = constants
        self.max_nodes = max_nodes

    def add(self, op: str, label: str, inputs: list[Node] = (), value=None, attrs: dict | None = None) -> Node:
        # Checked as the graph grows, so a huge expression stops early instead of being built first.
        if self.max_nodes is not None and len(self.graph.nodes) >= self.max_nodes:
            raise ExpressionError(f"the graph has more than {self.max_nodes} nodes (at most {self.max_nodes})")
        return self.graph.add(op, label, inputs, value, attrs)

    def build(self, body: list[ast.stmt]) -> Graph:
        if not body:
            raise ExpressionError("expression is empty")
        last: Node | None = None
        for stmt in body:
            if isinstance(stmt, (ast.Assign, ast.AugAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                    raise ExpressionError("only `name = expression` assignments are allowed", stmt.lineno, stmt.col_offset)
                name = self._check_name(targets[0])
                if isinstance(stmt, ast.AugAssign):  # c += e is c = c + e: a new node, c rebound to it
                    value = ast.BinOp(left=ast.Name(name, ast.Load(), lineno=stmt.lineno, col_offset=stmt.col_offset),
                                      op=stmt.op, right=stmt.value, lineno=stmt.lineno, col_offset=stmt.col_offset)
                else:
                    value = stmt.value
                node = self.visit(value)
                # an intermediate name becomes the gate's label; an input's name stays the input's (x += 1
                # makes a new value named x, as x = x + 1 does in torch, drawn as q1 beside the input x)
                if node.op not in ("input", "const") and all(v is not node for v in self.names.values()) \
                        and name not in self.input_names and name not in self.constants:
                    node.label = name
                self.names[name] = node
                last = node
            elif isinstance(stmt, ast.Expr):
                last = self.visit(stmt.value)
            else:
                raise ExpressionError(f"{type(stmt).__name__} statements are not allowed", stmt.lineno, stmt.col_offset)
        used = {n.label for n in self.graph.nodes if n.op in ("input", "const")}
        unused = [n for n in self.unused_inputs if n not in used]
        if unused:
            raise ExpressionError(f"input(s) {', '.join(repr(n) for n in unused)} not used by the expression")
        self.graph.output = last
        return self.graph

    def visit(self, e: ast.expr) -> Node:
        if isinstance(e, ast.BinOp):
            return self._binop_chain(e)
        if isinstance(e, ast.Constant):
            return self.add("const", _literal_label(e), value=_literal(e))
        if isinstance(e, ast.Name):
            return self._lookup(e)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
            if isinstance(e.op, ast.UAdd):
                return self.visit(e.operand)
            if isinstance(e.operand, ast.Constant):  # a negative literal is a number, not a gate
                value = -_literal(e.operand)
                return self.add("const", f"{value:g}", value=value)
            # Anything else, a named constant included, gets a gate: shared nodes are never changed.
            return self.add("neg", "neg", [self.visit(e.operand)])
        if isinstance(e, ast.Call):
            return self._call(e)
        if isinstance(e, ast.Subscript):
            return self._subscript(e)
        if isinstance(e, ast.Attribute):
            if e.attr == "T":
                return self.add("transpose", "transpose", [self.visit(e.value)])
            raise ExpressionError(f"attribute access is not allowed (only W.T, the transpose), got .{e.attr}",
                                  e.lineno, e.col_offset)
        raise ExpressionError(f"{_describe(e)} is not allowed", e.lineno, e.col_offset)

    def _binop_chain(self, e: ast.BinOp) -> Node:
        # a + b + c + ... nests to the left; walk that spine in a loop so a long sum needs no deep recursion.
        chain = []
        while isinstance(e, ast.BinOp):
            chain.append(e)
            e = e.left
        node = self.visit(e)
        for b in reversed(chain):
            if type(b.op) not in _BINOPS:
                hint = _NEAR_MISS_OPS.get(type(b.op))
                raise ExpressionError(f"the operator {type(b.op).__name__} is not allowed" + (f": {hint}" if hint else ""),
                                      b.lineno, b.col_offset)
            op = _BINOPS[type(b.op)]
            node = self.add(op, op, [node, self.visit(b.right)])
        return node

    def _call(self, e: ast.Call) -> Node:
        if isinstance(e.func, ast.Attribute) and isinstance(e.func.value, ast.Name):
            raise ExpressionError(f"module functions are not available: use {e.func.attr}(...) without "
                                  f"'{e.func.value.id}.'", e.lineno, e.col_offset)
        if not isinstance(e.func, ast.Name):
            raise ExpressionError("only calls of named functions are allowed", e.lineno, e.col_offset)
        fname = self._check_name(e.func)
        if fname not in FUNCTIONS:
            if fname in _NEAR_MISS_CALLS:
                raise ExpressionError(f"unknown function '{fname}': {_NEAR_MISS_CALLS[fname]}", e.lineno, e.col_offset)
            hint = difflib.get_close_matches(fname, FUNCTIONS, n=1)
            raise ExpressionError(f"unknown function '{fname}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                                  + f"; allowed: {', '.join(sorted(FUNCTIONS))}", e.lineno, e.col_offset)
        if any(isinstance(a, ast.Starred) for a in e.args):
            raise ExpressionError("starred arguments are not allowed", e.lineno, e.col_offset)
        attrs = {}
        for kw in e.keywords:
            if kw.arg not in KEYWORDS.get(fname, ()):
                allowed = KEYWORDS.get(fname)
                raise ExpressionError(f"{fname}() takes " + (f"only the keyword {', '.join(allowed)}" if allowed
                                                             else "no keyword arguments")
                                      + (f", got {kw.arg}=" if kw.arg else ""), e.lineno, e.col_offset)
            attrs[kw.arg] = _integer(kw.value, f"{fname}()'s {kw.arg}")
        arities = FUNCTIONS[fname]
        if len(e.args) not in arities:
            raise ExpressionError(f"{fname}() takes {' or '.join(map(str, arities))} argument(s), got {len(e.args)}",
                                  e.lineno, e.col_offset)
        args = [self.visit(a) for a in e.args]
        op = arities[len(e.args)]
        if fname == "leaky_relu" and len(args) == 1:
            args.append(self.add("const", f"{LEAKY_SLOPE:g}", value=LEAKY_SLOPE))
        return self.add(op, op, args, attrs=attrs)

    def _subscript(self, e: ast.Subscript) -> Node:
        parts = e.slice.elts if isinstance(e.slice, ast.Tuple) else [e.slice]
        index = tuple(_integer(p, "an index") for p in parts)
        return self.add("index", "index", [self.visit(e.value)], attrs={"index": index})

    def _lookup(self, e: ast.Name) -> Node:
        name = self._check_name(e)
        if name in self.names:
            return self.names[name]
        if name in self.input_names:
            node = self.add("input", name)
            self.names[name] = node
            return node
        if name in self.constants:
            node = self.add("const", name, value=self.constants[name])
            self.names[name] = node
            return node
        known = sorted(self.names.keys() | self.input_names | self.constants.keys())
        hint = difflib.get_close_matches(name, known, n=1)
        raise ExpressionError(f"undefined variable '{name}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                              + (f"; defined: {', '.join(known)}" if known else "; the config gives no inputs"),
                              e.lineno, e.col_offset)

    @staticmethod
    def _check_name(e: ast.Name) -> str:
        if e.id.startswith("__"):
            raise ExpressionError(f"name '{e.id}' is not allowed", e.lineno, e.col_offset)
        if not NAME.fullmatch(e.id):  # it is drawn in LaTeX: ASCII only, as inputs are
            raise ExpressionError(f"name '{e.id}' is not allowed: use ASCII letters, digits and _, starting with "
                                  "a letter (write alpha for α)", e.lineno, e.col_offset)
        if name_too_long(e.id):
            raise ExpressionError(name_too_long(e.id), e.lineno, e.col_offset)
        return e.id


def _literal(e: ast.Constant) -> float:
    """A numeric literal as a finite float."""
    if isinstance(e.value, bool) or not isinstance(e.value, (int, float)):
        raise ExpressionError(f"only numbers are allowed as literals, got {e.value!r}"[:120], e.lineno, e.col_offset)
    try:
        value = float(e.value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ExpressionError(f"the literal {str(e.value)[:20]}... is too large (not a finite float)"
                              if isinstance(e.value, int) else f"literal {e.value!r} is not finite", e.lineno, e.col_offset)
    return value


def _literal_label(e: ast.Constant) -> str:
    return f"{_literal(e):g}"


def _integer(e: ast.expr, what: str) -> int:
    """An integer constant (a negative one too) for an axis or an index."""
    sign = 1
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        sign, e = -1, e.operand
    if isinstance(e, ast.Constant) and isinstance(e.value, int) and not isinstance(e.value, bool) \
            and abs(e.value) < 2**31:
        return sign * e.value
    if isinstance(e, ast.Slice):
        raise ExpressionError("slices are not supported: index with integers, e.g. x[0] or W[1, 2]",
                              e.lineno, e.col_offset)
    raise ExpressionError(f"{what} must be an integer constant", e.lineno, e.col_offset)


def _describe(e: ast.AST) -> str:
    names = {ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension",
             ast.DictComp: "a comprehension", ast.SetComp: "a comprehension", ast.Compare: "a comparison",
             ast.BoolOp: "and/or", ast.IfExp: "a conditional expression", ast.List: "a list literal",
             ast.Tuple: "a tuple", ast.Dict: "a dict literal", ast.JoinedStr: "an f-string", ast.Await: "await",
             ast.NamedExpr: ":=", ast.Starred: "a starred expression", ast.Set: "a set literal"}
    if isinstance(e, ast.UnaryOp):
        return f"the unary operator {type(e.op).__name__}"
    return names.get(type(e), type(e).__name__)

