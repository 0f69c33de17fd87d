"""Manim scenes that read traces and animate them. They never compute a gradient."""
from infra.manim_import import lighter

lighter()  # before any of this package's modules imports Manim
