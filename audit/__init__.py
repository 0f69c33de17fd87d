from infra.manim_import import lighter

lighter()  # before any of this package's modules imports Manim
