"""Manim scenes that read traces and animate them. They never compute a gradient."""
