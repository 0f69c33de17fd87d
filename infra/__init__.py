"""The infrastructure every room stands on: files read and written safely (io), the content-addressed
cache (cache), where shipped files and caches are (places), worker processes (processes) and the one
user-facing error type (errors).

The bottom of the layering: it imports nothing of the project's (never the engine, never Manim), so the
engine, the scenes, the pipeline and the CLI all use it (tests/test_layers.py).
"""
