"""The render pipeline: from a trace to files. Traces for scenes (source), Manim runs (render_job, with
the speed-ups of manim_patches installed), clips joined into lectures (lecture, video) and the gallery.
`scenes/` holds only what draws."""
from infra.manim_import import lighter

lighter()  # before any of this package's modules imports Manim
