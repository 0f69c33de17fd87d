"""Graph scenes built as a still is (nothing drawn) and read at every paused frame: what the viewer sees
during each step (its caption, the graph inside the frame)."""
import functools

import pytest

from audit.run import audit_trace
from engine.source import trace_path_for
from render import CONFIG_DIR
from scenes import style
from helpers import slow_except


@functools.cache
def report(name: str, theme: str = "dark", lang: str = "en"):
    return audit_trace(trace_path_for(CONFIG_DIR / f"{name}.yaml"), "preview", theme, lang)


def frames_of_steps(rep):
    """(step name, frames paused on during it) for every step of the scene."""
    starts = [t for _, t in rep.steps] + [float("inf")]
    return [(name, [f for f in rep.frames if starts[i] < f.time <= starts[i + 1]])
            for i, (name, _) in enumerate(rep.steps)]


def texts(frame, kind):
    return [t.string for t in frame.texts if t.kind == kind]


OP_OF_SYMBOL = {"×": "mul", "+": "add", "max": "max"}


@pytest.mark.slow
def test_each_backward_step_is_captioned_by_its_own_gate():
    # gates.yaml: q = x * y, m = max(z, w), s = q + m, f = s * x. The x gate q completes x's sum: it is
    # captioned as a mul gate while its formula shows, and as a branch only on the page with x's sum.
    rep = report("gates")
    branch, seen = style.caption("branch"), set()
    for name, frames in frames_of_steps(rep):
        if not name.startswith("backward: ") or "gate" not in name:
            continue
        symbol = name.split()[1]
        gate_caption = style.caption(OP_OF_SYMBOL[symbol])
        for f in frames:
            caption = texts(f, "caption")
            if not texts(f, "equation"):  # the step's formula has gone (the pass's end): nothing to match
                continue
            if caption == [gate_caption]:
                seen.add(name)
            else:
                assert caption == [branch], f"{name}: captioned {caption}"
                # the branch caption stands over a sum of shares: (a) + (b) = total
                assert any(") + (" in e for e in texts(f, "equation")), texts(f, "equation")
    steps = [n for n, _ in rep.steps if n.startswith("backward: ") and "gate" in n]
    assert len(steps) == 4 and seen == set(steps)


SAFE = 0.02  # of the frame's width and height, as the audit's safe area
GRAPH_KINDS = ("name", "gate", "value", "gradient")


def _inside(t, rep) -> bool:
    x0, y0, x1, y1 = t.bbox
    return (SAFE * rep.width <= x0 and x1 <= (1 - SAFE) * rep.width
            and SAFE * rep.height <= y0 and y1 <= (1 - SAFE) * rep.height)


@pytest.mark.parametrize("name,theme,lang", slow_except(
    [("sigmoid_neuron", "dark", "en"), ("sigmoid_neuron", "light", "ko"), ("sigmoid_gate", "dark", "en"),
     ("gates", "dark", "en"), ("chain_rule", "light", "ko")], {("gates", "dark", "en"), ("chain_rule", "light", "ko")}))
def test_a_small_graph_is_whole_and_readable_at_every_paused_frame(name, theme, lang):
    # a graph of up to 20 nodes is never panned: from the moment it is drawn until it is cleared, every
    # paused frame shows every name (inputs, constants, named gates), all inside the frame's safe area, and
    # every name, gate, value and gradient at least 10 px tall at 854x480
    rep = report(name, theme, lang)
    runs, run = [], []
    for f in rep.frames:
        names = sorted(t.string for t in f.texts if t.kind == "name")
        if names:
            run.append((f, names))
        elif run:
            runs.append(run)
            run = []
    runs += [run] if run else []
    assert len(runs) == (2 if name == "sigmoid_gate" else 1)
    for run in runs:
        everything = run[-1][1]
        for f, names in run:
            assert names == everything, f"frame {f.index}: names {names}, not {everything}"
    for f in rep.frames:
        for t in f.texts:
            if t.kind in GRAPH_KINDS:
                assert _inside(t, rep), f"frame {f.index}: {t.kind} {t.string!r} at {t.bbox}"
                assert t.height_px >= 10, f"frame {f.index}: {t.kind} {t.string!r} is {t.height_px:.1f} px"


# --- a graph wider than the frame: the pan ------------------------------------------------------------
def pan_records(config):
    """(step name, {node: (shown, left, right)}, {leaf: name shown and inside}) at every paused frame of
    ``config``'s scene built undrawn: where each gate's circle and each name is, in scene units."""
    from manim import config as manim_config

    from audit.screen import AuditRenderer
    from pipeline.render_job import undrawn
    from scenes.graph_mobject import ComputationalGraph

    class Recorder(AuditRenderer):
        # a pan may leave a graph's parts in the scene without the graph itself (not ``graphs``: the
        # AuditRenderer keeps its own by that name)
        records, seen_graphs = [], []

        def play(self, scene, *args, **kwargs):
            super().play(scene, *args, **kwargs)
            step = scene.step_marks[-1][0] if scene.step_marks else ""
            members = scene.get_mobject_family_members()
            family = {id(m) for m in members}
            self.seen_graphs += [m for m in members if isinstance(m, ComputationalGraph) and m not in self.seen_graphs]
            for graph in self.seen_graphs:
                if not any(id(e) in family for e in graph.edges.values()):
                    continue  # cleared
                circles = {n: (id(c) in family, c.get_left()[0], c.get_right()[0])
                           for n, c in graph.circles.items()}
                names = {n: (id(m) in family and abs(m.get_left()[0]) <= half and abs(m.get_right()[0]) <= half,
                             m.get_left()[0], m.get_right()[0]) for n, m in graph.leaf_mobs.items()}
                labels = {k: id(m) in family and abs(m.get_left()[0]) <= half and abs(m.get_right()[0]) <= half
                          for k, m in graph.grad_labels.items()}
                self.records.append((step, graph, circles, names, labels))

    with undrawn(trace_path_for(config)) as scene_cls:
        half = manim_config.frame_width / 2 * (1 - 2 * SAFE)
        frame_half = manim_config.frame_width / 2
        renderer = Recorder()
        scene_cls(renderer=renderer).render()
    return renderer.records, frame_half


@pytest.mark.slow
@pytest.mark.parametrize("config", ["tests/screen/graph17.yaml"])
def test_a_panned_graph_keeps_the_active_gate_and_cuts_no_circle(config):
    from pathlib import Path
    records, frame_half = pan_records(Path(__file__).parent.parent / config)
    assert any(not shown or abs(left) > frame_half for _, _, circles, _, _ in records
               for shown, left, _ in circles.values()), "the graph was not panned"
    for step, graph, circles, names, _ in records:
        for node, (shown, left, right) in circles.items():
            cut = left < -frame_half < right or left < frame_half < right
            assert not (shown and cut), f"{step}: gate {graph.notation.names[node]} cut by the frame's edge"
    # the last frame of each backward step: its gate and the gradients it sent in the frame, and each of
    # its inputs (named) that fits in the frame with it; a long wire's far end may be out of view
    last = {step: (graph, circles, names, labels) for step, graph, circles, names, labels in records}
    checked = 0
    for step, (graph, circles, names, labels) in last.items():
        if not step.startswith("backward: ") or " gate " not in step:
            continue
        name = step.split(" gate ")[1].split(",")[0]
        node = next(n for n, v in graph.notation.names.items() if v == name)
        shown, left, right = circles[node]
        assert shown and -frame_half <= left and right <= frame_half, f"{step}: its gate is not in the frame"
        for slot, src in enumerate(graph.trace.nodes[node].inputs):
            assert labels.get((src, node, slot), True), f"{step}: the gradient sent to {src} is not in the frame"
            seen, src_left, src_right = circles[src] if src in circles else names[src]
            if max(right, src_right) - min(left, src_left) > 2 * frame_half * (1 - 2 * SAFE) - 1:
                continue  # too far apart to be in the frame together
            assert seen, f"{step}: input {graph.notation.names[src]} not in the frame (or its name not)"
        checked += 1
    assert checked == len(graph.trace.backward)
