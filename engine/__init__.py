"""The maths: a small autograd engine over gates, numerical gradient checks, and trace export (files, caches
and processes are infra/, below it).

Never imports manim: scenes read the traces this package writes.
"""
__version__ = "0.1.0"
