"""Build a scene as `render` would, without drawing, and audit every frame a viewer can pause on."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from audit.captions import CaptionCheck
from audit.equations import arithmetic_problems, check_equation
from audit.screen import AuditRenderer, Frame, Play, Violation, check_frames
from engine.languages import DEFAULT_LANG


@dataclass
class Report:
    source: str
    quality: str
    theme: str
    lang: str
    width: int
    height: int
    frames: list[Frame]
    violations: list[Violation]
    plays: list[Play]
    poster: float | None = None  # the moment the scene marked as its most informative
    steps: list[tuple[str, float]] = field(default_factory=list)  # (name, start) of every step

    @property
    def poster_index(self) -> int | None:
        """The animation (as --upto counts) that ends at the poster moment."""
        from pipeline.render_job import animation_ending_by
        return animation_ending_by([p.end for p in self.plays], self.poster)

    def to_json(self) -> dict:
        return {"source": self.source, "quality": self.quality, "theme": self.theme, "lang": self.lang,
                "frame_size": [self.width, self.height], "frames": [f.to_json() for f in self.frames],
                "violations": [{"frame": v.frame, "time": round(v.time, 3), "rule": v.rule, "message": v.message}
                               for v in self.violations]}


def audit_trace(trace_path: Path, quality: str = "preview", theme: str = "dark", lang: str = DEFAULT_LANG,
                source: str | None = None) -> Report:
    from manim import config

    from pipeline.render_job import RenderOptions, undrawn
    from scenes import style
    from scenes.notation import Notation
    from scenes.trace_data import GraphTrace, read_trace
    from scenes.training_scenes import ACT_NAMES

    trace = read_trace(trace_path)
    caption_claims = CaptionCheck(trace, ACT_NAMES)
    equation_truth = _equation_truth(trace, GraphTrace, Notation) if trace["kind"] == "graph" else None
    with undrawn(trace_path, RenderOptions(quality=quality, lang=lang, theme=theme)) as scene_cls:
        renderer = AuditRenderer()
        scene = scene_cls(renderer=renderer)
        scene.render()

        def claims(frame: Frame) -> list[str]:
            problems = []
            for t in frame.texts:
                if t.kind != "equation":
                    continue
                problems += arithmetic_problems(t.string)
                if equation_truth is not None:
                    out_name, grads = equation_truth
                    problems += check_equation(t.string, out_name, grads, style.GRADIENT)
            return problems

        violations = check_frames(renderer.frames, quality, claims, caption_claims)
        width, height = config.pixel_width, config.pixel_height
    return Report(source or str(trace_path), quality, theme, lang, width, height, renderer.frames, violations,
                  renderer.plays, getattr(scene, "poster_time", None), list(scene.step_marks))


def _equation_truth(trace: dict, GraphTrace, Notation):
    """The output's name and every node's total gradient, keyed by the name formulas use.

    A sigmoid_gate trace draws two graphs one after the other, whose generated names (q1, ...) may name
    different nodes: a name then has one gradient per graph, and a formula must match one of them.
    """
    grads = {}
    out_name = None
    for part in ([trace, trace["alternative"]] if "alternative" in trace else [trace]):
        g = GraphTrace.from_dict(trace, part)
        nt = Notation(g)
        out_name = out_name or nt.output_tex
        for nid, n in g.nodes.items():
            if n.grad is not None:
                grads.setdefault(nt.tex(nid), []).append(n.grad)
    return out_name, grads
