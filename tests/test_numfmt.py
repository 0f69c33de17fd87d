"""How numbers are written for people (expected strings written out, not computed)."""
import pytest

from engine.numfmt import format_number


@pytest.mark.parametrize("x,digits,shown", [
    (float("inf"), 3, "∞"), (float("-inf"), 3, "-∞"), (float("nan"), 3, "NaN"), (0.0, 3, "0"), (-0.0, 3, "0"),
    # plain notation between 1e-3 and 1e5, trailing zeros and a bare point dropped
    (0.5, 3, "0.5"), (2.0, 3, "2"), (-12.0, 3, "-12"), (123.4, 3, "123"), (99999.0, 3, "99999"),
    (0.001, 3, "0.001"), (-0.0012345, 3, "-0.00123"), (0.73105857, 3, "0.731"), (0.73105857, 6, "0.731059"),
    # scientific notation outside it: 1e5 itself is already too long to read as 100000
    (100000.0, 3, "1e5"), (123456.0, 3, "1.2e5"), (3.2e-7, 3, "3.2e-7"), (1e-4, 3, "1e-4"), (2.5e-4, 3, "2.5e-4"),
    (9.99e-4, 3, "1e-3"), (-3.14159e-7, 4, "-3.14e-7"), (-1.5e-20, 3, "-1.5e-20"), (6.02e23, 2, "6e23"),
])
def test_format_number(x, digits, shown):
    assert format_number(x, digits) == shown
