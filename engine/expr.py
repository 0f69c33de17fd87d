"""Parse an expression from a config into a Graph, through an explicit whitelist of syntax.

Accepted: numbers, names, + - * / ** @, unary minus and plus, parentheses, calls of the functions in
``ops.FUNCTIONS``, and several lines of ``name = expr`` (a name may be reassigned; the last line is the
output). Everything else (attributes, subscripts, lambdas, comprehensions, keywords, imports...) is
refused with the position of the offending syntax. Nothing is ever ``eval``ed.
"""
from __future__ import annotations

import ast
import difflib

import numpy as np

from .graph import Graph, Node
from .ops import FUNCTIONS, LEAKY_SLOPE

MAX_EXPRESSION_CHARS = 10_000

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow", ast.MatMult: "matmul"}


class ExpressionError(ValueError):
    """The expression is not in the accepted language; the message says where and why."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        where = f"line {line}, column {col + 1}: " if line is not None and col is not None else ""
        super().__init__(where + message)


def parse_expression(source: str, input_names: list[str], constants: dict | None = None) -> Graph:
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
    return _Builder(input_names, constants or {}).build(tree.body)


class _Builder:
    def __init__(self, input_names: list[str], constants: dict):
        self.graph = Graph()
        self.names: dict[str, Node] = {}
        self.unused_inputs = list(input_names) + list(constants)
        self.input_names = set(input_names)
        self.constants = constants

    def build(self, body: list[ast.stmt]) -> Graph:
        if not body:
            raise ExpressionError("expression is empty")
        last: Node | None = None
        for stmt in body:
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    raise ExpressionError("only `name = expression` assignments are allowed", stmt.lineno, stmt.col_offset)
                name = self._check_name(stmt.targets[0])
                if name in self.input_names or name in self.constants:
                    raise ExpressionError(f"'{name}' is an input and cannot be reassigned", stmt.lineno, stmt.col_offset)
                node = self.visit(stmt.value)
                if node.op not in ("input", "const") and all(v is not node for v in self.names.values()):
                    node.label = name  # an intermediate name becomes the gate's label
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
        if isinstance(e, ast.Constant):
            if isinstance(e.value, bool) or not isinstance(e.value, (int, float)):
                raise ExpressionError(f"only numbers are allowed as literals, got {e.value!r}", e.lineno, e.col_offset)
            if not np.isfinite(float(e.value)):
                raise ExpressionError(f"literal {e.value!r} is not finite", e.lineno, e.col_offset)
            return self.graph.add("const", f"{e.value:g}", value=float(e.value))
        if isinstance(e, ast.Name):
            return self._lookup(e)
        if isinstance(e, ast.BinOp) and type(e.op) in _BINOPS:
            left, right = self.visit(e.left), self.visit(e.right)
            op = _BINOPS[type(e.op)]
            return self.graph.add(op, op, [left, right])
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
            operand = self.visit(e.operand)
            if isinstance(e.op, ast.UAdd):
                return operand
            if operand.op == "const" and not operand.inputs:
                operand.value = -operand.value  # a negative literal is a number, not a gate
                operand.label = f"{float(operand.value):g}"
                return operand
            return self.graph.add("neg", "neg", [operand])
        if isinstance(e, ast.Call):
            return self._call(e)
        raise ExpressionError(f"{_describe(e)} is not allowed", e.lineno, e.col_offset)

    def _call(self, e: ast.Call) -> Node:
        if not isinstance(e.func, ast.Name):
            raise ExpressionError("only calls of named functions are allowed", e.lineno, e.col_offset)
        fname = self._check_name(e.func)
        if fname not in FUNCTIONS:
            hint = difflib.get_close_matches(fname, FUNCTIONS, n=1)
            raise ExpressionError(f"unknown function '{fname}'" + (f" (did you mean '{hint[0]}'?)" if hint else "")
                                  + f"; allowed: {', '.join(sorted(FUNCTIONS))}", e.lineno, e.col_offset)
        if e.keywords:
            raise ExpressionError(f"{fname}() takes no keyword arguments", e.lineno, e.col_offset)
        arity = FUNCTIONS[fname]
        allowed = arity if isinstance(arity, tuple) else (arity,)
        if len(e.args) not in allowed:
            raise ExpressionError(f"{fname}() takes {' or '.join(map(str, allowed))} argument(s), got {len(e.args)}",
                                  e.lineno, e.col_offset)
        if any(isinstance(a, ast.Starred) for a in e.args):
            raise ExpressionError("starred arguments are not allowed", e.lineno, e.col_offset)
        args = [self.visit(a) for a in e.args]
        if fname == "leaky_relu" and len(args) == 1:
            args.append(self.graph.add("const", f"{LEAKY_SLOPE:g}", value=LEAKY_SLOPE))
        return self.graph.add(fname, fname, args)

    def _lookup(self, e: ast.Name) -> Node:
        name = self._check_name(e)
        if name in self.names:
            return self.names[name]
        if name in self.input_names:
            node = self.graph.add("input", name)
            self.names[name] = node
            return node
        if name in self.constants:
            node = self.graph.add("const", name, value=self.constants[name])
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
        return e.id


def _describe(e: ast.AST) -> str:
    names = {ast.Attribute: "attribute access", ast.Subscript: "subscripting", ast.Lambda: "lambda",
             ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension", ast.DictComp: "a comprehension",
             ast.SetComp: "a comprehension", ast.Compare: "a comparison", ast.BoolOp: "and/or",
             ast.IfExp: "a conditional expression", ast.List: "a list literal", ast.Tuple: "a tuple",
             ast.Dict: "a dict literal", ast.JoinedStr: "an f-string", ast.Await: "await", ast.NamedExpr: ":="}
    if isinstance(e, ast.BinOp):
        return f"the operator {type(e.op).__name__}"
    if isinstance(e, ast.UnaryOp):
        return f"the unary operator {type(e.op).__name__}"
    return names.get(type(e), type(e).__name__)
