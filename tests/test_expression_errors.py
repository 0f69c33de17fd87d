"""What the expression parser says about what it refuses: every construct named, word for word."""
import pytest

from engine.expr import ExpressionError, parse_expression

BIG = "1" + "0" * 400


@pytest.mark.parametrize("source,message", [
    ("lambda: x", "line 1, column 1: lambda is not allowed"),
    ("[a for a in x]", "line 1, column 1: a comprehension is not allowed"),
    ("(a for a in x)", "line 1, column 1: a comprehension is not allowed"),
    ("{a: 1 for a in x}", "line 1, column 1: a comprehension is not allowed"),
    ("{a for a in x}", "line 1, column 1: a comprehension is not allowed"),
    ("x < y", "line 1, column 1: a comparison is not allowed"),
    ("x and y", "line 1, column 1: and/or is not allowed"),
    ("x if y else z", "line 1, column 1: a conditional expression is not allowed"),
    ("[x, y]", "line 1, column 1: a list literal is not allowed"),
    ("(x, y)", "line 1, column 1: a tuple is not allowed"),
    ("{1: x}", "line 1, column 1: a dict literal is not allowed"),
    ('f"{x}"', "line 1, column 1: an f-string is not allowed"),
    ("(y := x)", "line 1, column 2: := is not allowed"),
    ("{x}", "line 1, column 1: a set literal is not allowed"),
    ("not x", "line 1, column 1: the unary operator Not is not allowed"),
    ("~x", "line 1, column 1: the unary operator Invert is not allowed"),
    ("*x", "line 1, column 1: a starred expression is not allowed"),
    ("y + exp(*x)", "line 1, column 5: starred arguments are not allowed"),
    ("y + __x", "line 1, column 5: name '__x' is not allowed"),
    ("x +", "line 1, column 4: syntax error: invalid syntax"),
    ("q = x\nq <<= y", "line 2, column 1: the operator LShift is not allowed"),
    ("y + α", "line 1, column 5: name 'α' is not allowed: use ASCII letters, digits and _, starting with a letter "
              "(write alpha for α)"),
    ("y + np.exp(x)", "line 1, column 5: module functions are not available: use exp(...) without 'np.'"),
    ("await x", "line 1, column 1: await is not allowed"),
    ("yield x", "line 1, column 1: Yield is not allowed"),
    ("x << y", "line 1, column 1: the operator LShift is not allowed"),
    ("x.y", "line 1, column 1: attribute access is not allowed (only W.T, the transpose), got .y"),
    ("x[0](y)", "line 1, column 1: only calls of named functions are allowed"),
    ("exp(x, y)", "line 1, column 1: exp() takes 1 argument(s), got 2"),
    ("x[1:2]", "line 1, column 3: slices are not supported: index with integers, e.g. x[0] or W[1, 2]"),
    ("x[1.5]", "line 1, column 3: an index must be an integer constant"),
    ("x[True]", "line 1, column 3: an index must be an integer constant"),
    ("x[2147483648]", "line 1, column 3: an index must be an integer constant"),
    ("sum(x, axis=y)", "line 1, column 13: sum()'s axis must be an integer constant"),
    ('"abc" * x', "line 1, column 1: only numbers are allowed as literals, got 'abc'"),
    ("True + x", "line 1, column 1: only numbers are allowed as literals, got True"),
    ("1e999 * x", "line 1, column 1: literal inf is not finite"),
    (f"{BIG} + x", f"line 1, column 1: the literal {BIG[:20]}... is too large (not a finite float)"),
])
def test_refused_constructs_are_named(source, message):
    with pytest.raises(ExpressionError) as e:
        parse_expression(source, ["x", "y", "z"] if "y" in source or "z" in source else ["x"])
    assert str(e.value) == message


@pytest.mark.parametrize("source", ["x[0]", "x[-1]", "x[2147483647]", "x[-2147483647]", "sum(x, axis=-1)"])
def test_integer_indices_and_axes_are_accepted(source):
    parse_expression(source, ["x"])


def test_a_double_minus_index_is_not_an_integer_constant():
    with pytest.raises(ExpressionError) as e:
        parse_expression("x[--1]", ["x"])
    assert str(e.value) == "line 1, column 4: an index must be an integer constant"


def test_a_long_literal_is_quoted_only_in_part():
    with pytest.raises(ExpressionError) as e:
        parse_expression("'" + "a" * 300 + "' * x", ["x"])
    text = str(e.value)
    assert text == "line 1, column 1: " + ("only numbers are allowed as literals, got '" + "a" * 300)[:120]


def test_an_error_without_a_place_has_no_prefix():
    assert str(ExpressionError("bad")) == "bad"
    assert str(ExpressionError("bad", 3, None)) == "bad"  # a line without a column is no place
    assert str(ExpressionError("bad", 3, 0)) == "line 3, column 1: bad"


def test_a_subscript_is_a_gate_labelled_index():
    from engine.expr import parse_expression as parse
    graph = parse("x[1]", ["x"])
    node = next(n for n in graph.nodes if n.op == "index")
    assert node.label == "index" and node.attrs == {"index": (1,)}


def test_a_name_labels_the_gate_it_first_names_but_never_an_input_or_a_constant():
    g = parse_expression("k = 3\nq = x * y\nr = q\nz = x\nr + z * k", ["x", "y"])
    assert [(n.op, n.label) for n in g.nodes] == [("const", "3"), ("input", "x"), ("input", "y"), ("mul", "q"),
                                                  ("mul", "mul"), ("add", "add")]
