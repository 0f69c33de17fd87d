"""Everything that patches or subclasses Manim, in one room: what to read first when Manim is upgraded.

- ``speedups``: faster parts for Manim's Cairo pipeline (one encoder stream per scene, keyframes at steps,
  frames handed over without copies, Cairo paths built once, nothing drawn for a skipped animation).
- ``svg_cache``: a verified disk cache of the mobjects Manim builds from SVG (every Text and MathTex).
- ``tex_colours``: a formula typeset by LaTeX once whatever its colours (each theme's), then recoloured.
- ``cache_seed``: a render's private LaTeX/text cache folders filled from the shared cache on demand.
- ``undrawn``: renderers that build a scene without drawing it and note something after each animation:
  the chunk plan's costs (pipeline/chunks.py) and the base of the screen audit's renderer (audit/screen.py).

Each draws and encodes what Manim itself would; tests/test_manim_patches.py compares them with Manim's own
pixels and frames. Below the pipeline and the audit, which install and use them; it imports only the
infrastructure (the cache's checks) and Manim, never the scenes, which stay plain Manim scenes the `manim`
CLI can run.
"""
from infra.manim_import import lighter

lighter()  # before any of this package's modules imports Manim
