"""How a number is written for people: the same in reports and on screen.

Three significant digits in plain notation for ordinary magnitudes, scientific notation for tiny or
huge ones (3.2e-7, not 0.0000003), and words for what is not a number.
"""
from __future__ import annotations

import math


def format_number(x: float, digits: int = 3) -> str:
    """A short, readable rendering of one float: ``digits`` significant digits (at least 1) in plain
    notation, ``digits - 1`` in scientific notation."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    mag = abs(x)
    if mag < 1e-3 or mag >= 1e5:
        mantissa, exp = f"{x:.{max(digits - 2, 1)}e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exp)}"
    decimals = max(digits - 1 - math.floor(math.log10(mag)), 0)
    text = f"{x:.{decimals}f}"
    # at least one significant digit survives the rounding (x >= 1e-3 and digits >= 1), so never "-0"
    return text.rstrip("0").rstrip(".") if "." in text else text
