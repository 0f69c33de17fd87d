"""The maths: a small autograd engine over gates, numerical gradient checks, and trace export.

Never imports manim: scenes read the traces this package writes.
"""
__version__ = "0.1.0"
