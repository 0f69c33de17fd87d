"""The screen audit: its rules on hand-made frames, the defects it exists to catch, and every shipped config
and stress config (tests/screen) passing it in both themes and both languages."""
import functools
from pathlib import Path

import numpy as np
import pytest
from manim import tempconfig

from audit.equations import check_equation, claims, parse_value
from audit.screen import (AuditRenderer, Frame, NodeSeen, ShapeRecord, TextRecord, check_frames, contrast_ratio,
                          glyph_kind)
from render import CONFIG_DIR
from engine.source import trace_path_for
from helpers import run_cli, slow_except

STRESS = Path(__file__).parent / "screen"


def frame(*texts, edges=()):
    return Frame(0, 0.0, list(texts), [list(map(list, e)) for e in edges])


def text(bbox, height=12.0, contrast=10.0, string="abc", kind="caption"):
    return TextRecord(string, kind, list(bbox), height, "#FFFFFF", "#000000", contrast)


def rules(*frames_):
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        return [v.rule for v in check_frames(list(frames_), "preview")]


# --- the rules, one at a time -------------------------------------------------------------------------
def test_wcag_contrast_ratios():
    assert contrast_ratio((1, 1, 1), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast_ratio((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)) == pytest.approx(1.0)
    # #777777 on white is the classic just-failing grey: 4.48:1
    assert contrast_ratio(np.array([0x77] * 3) / 255, (1, 1, 1)) == pytest.approx(4.48, abs=0.01)


def test_a_clean_frame_passes():
    assert rules(frame(text([100, 100, 200, 120]), text([100, 130, 200, 150]))) == []


@pytest.mark.parametrize("bbox", [[5, 100, 100, 120], [800, 100, 850, 120], [100, 2, 200, 20], [100, 470, 200, 479]])
def test_text_outside_the_safe_area(bbox):
    assert rules(frame(text(bbox))) == ["off-frame"]


def test_small_text_low_contrast_and_overlap():
    assert rules(frame(text([100, 100, 200, 120], height=9.9))) == ["too-small"]
    assert rules(frame(text([100, 100, 200, 120], contrast=4.49))) == ["contrast"]
    assert rules(frame(text([100, 100, 200, 120]), text([190, 110, 300, 130]))) == ["overlap"]
    assert rules(frame(text([100, 100, 200, 120]), text([200, 100, 300, 120]))) == []  # touching is not overlapping


def test_an_edge_through_a_label_but_not_one_ending_at_it():
    through = [(50, 110), (150, 110), (250, 110)]
    ending = [(50, 110), (99, 110)]
    assert rules(frame(text([100, 100, 200, 120]), edges=[through])) == ["edge-through-text"]
    assert rules(frame(text([100, 100, 200, 120]), edges=[ending])) == []


@pytest.mark.parametrize("quality", ["low", "preview", "hd", "4k"])
def test_the_text_floor_is_10_px_at_480_lines_and_follows_the_quality(quality):
    from pipeline.render_job import QUALITIES
    from audit.screen import MIN_GLYPH_PX
    q = QUALITIES[quality]
    floor = 10 * q.height / 480  # 5 px at low, 10 at preview, 22.5 at hd, 45 at 4k
    assert MIN_GLYPH_PX[quality] == pytest.approx(floor)
    box = [0.1 * q.width, 0.4 * q.height, 0.3 * q.width, 0.45 * q.height]
    with tempconfig({"pixel_width": q.width, "pixel_height": q.height}):
        def rules_at(height):
            return [v.rule for v in check_frames([frame(text(box, height=height))], quality)]
        assert rules_at(floor) == [] and rules_at(0.99 * floor) == ["too-small"]
        assert rules_at(9.9 * q.height / 480) == ["too-small"]  # under 10 px at 854x480, at any quality


def test_exponents_and_superscripts_are_measured_too():
    from manim import MathTex, Text
    from audit.screen import _glyph_height_px
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        base = _glyph_height_px(MathTex("10", font_size=40), "10")
        power = _glyph_height_px(MathTex("10^{-3}", font_size=40), "10^{-3}")
        assert power == pytest.approx(0.696 * base, rel=0.01)  # the exponent, in TeX's script size
        word = _glyph_height_px(Text("norm", font_size=40), "norm")
        squared = _glyph_height_px(Text("norm²", font_size=40), "norm²")
        assert squared < 0.9 * word  # the ² is smaller than the x-height: it sets the text's height


def test_a_curve_through_a_note():
    from audit.screen import Stroke
    line = np.array([[[50 + 10 * k, 110] for k in range(12)]], dtype=float)  # 50..160 px along y = 110
    across = Frame(0, 0.0, [text([100, 100, 200, 120])], strokes=[Stroke("ReLU", line, 1.0)])
    assert rules(across) == ["curve-through-text"]
    beside = Frame(0, 0.0, [text([100, 100, 200, 120])], strokes=[Stroke("ReLU", line + [0, 20], 1.0)])
    assert rules(beside) == []


def test_glyph_height_is_measured_on_the_smallest_kind_of_glyph():
    assert glyph_kind("layer 1", tex=False) == "x"
    assert glyph_kind("−0.534", tex=False) == "digit"
    assert glyph_kind("첫 층 1.6e−7", tex=False) == "x"  # the e of 1.6e−7 is lower case
    assert glyph_kind("스텝 0", tex=False) == "hangul"
    assert glyph_kind(r"\textcolor[HTML]{AD5A00}{\begin{bmatrix} 1 \\ 2 \end{bmatrix}}", tex=True) == "digit"
    assert glyph_kind(r"\frac{\partial f}{\partial x}", tex=True) == "x"


def test_capitals_alone_are_measured_by_their_own_height_as_digits_are():
    # a capital stands as tall as a digit (DejaVu Sans: "XOR" and "0" both 0.504 at 48 pt), half again an x:
    # held to the x-height, a readable "XOR" or "L" would be failed as too small
    from manim import Text

    assert Text("XOR").height == pytest.approx(Text("0").height, rel=0.05)
    assert Text("XOR").height > 1.3 * Text("x").height
    for capitals in ("XOR", "L", "MSE"):
        assert glyph_kind(capitals, tex=False) == "digit"
    assert glyph_kind(r"\mathrm{XOR}", tex=True) == "digit"
    assert glyph_kind("XOR 해결", tex=False) == "hangul"


def test_a_shape_cut_by_the_frame_edge():
    inside = ShapeRecord("gate", "q", [100, 100, 160, 160])
    cut = ShapeRecord("gate", "q", [820, 100, 880, 160])
    gone = ShapeRecord("axis", None, [900, 100, 960, 160])  # wholly outside: not drawn, not cut
    wire = ShapeRecord("edge", "x → q", [820, 100, 880, 160])  # a wire may lead out of a panned view
    assert rules(Frame(0, 0.0, shapes=[inside, gone, wire])) == []
    assert rules(Frame(0, 0.0, shapes=[cut])) == ["shape-cut"]


def _node(name_shown=True, size=5, active=False, shape_shown=True, node="x", own=False, too_deep=False):
    return NodeSeen(1, node, node, size, name_shown, shape_shown, active or own, own, too_deep)


def test_a_name_shown_then_gone_while_its_graph_is_drawn():
    shown, gone = Frame(0, 0.0, nodes=[_node()]), Frame(1, 1.0, nodes=[_node(False)])
    assert rules(shown, gone) == ["name-gone"]
    assert rules(gone) == []  # never shown (a large graph panned from its start): nothing lost
    # a graph too large for the frame may pan its names away, but not those of the step's own nodes
    assert rules(Frame(0, 0.0, nodes=[_node(size=30)]), Frame(1, 1.0, nodes=[_node(False, size=30)])) == []
    assert rules(Frame(0, 0.0, nodes=[_node(False, size=30, active=True)])) == ["name-gone"]
    assert rules(Frame(0, 0.0, nodes=[_node(size=30, own=True, shape_shown=False)])) == ["active-off-frame"]
    # an input of the step's gate far along the graph: its name (or a connector tag) in view, its circle may not be
    assert rules(Frame(0, 0.0, nodes=[_node(size=30, active=True, shape_shown=False)])) == []
    # a small graph provably too deep for the frame at the floor pans: its names may leave the view
    assert rules(Frame(0, 0.0, nodes=[_node(size=20)]), Frame(1, 1.0, nodes=[_node(False, size=20)])) == ["name-gone"]
    assert rules(Frame(0, 0.0, nodes=[_node(size=20, too_deep=True)]),
                 Frame(1, 1.0, nodes=[_node(False, size=20, too_deep=True)])) == []


def _chain(tmp_path, gates: int) -> Path:
    """f = x·y·y·…·y, ``gates`` × gates in a row (named q1…, f), labels of 4 to 6 characters (0.5, −0.6, +0.72…)."""
    lines = ["a1 = x * y"] + [f"a{i} = a{i - 1} * y" for i in range(2, gates)] + [f"f = a{gates - 1} * y"]
    path = tmp_path / f"chain{gates}.yaml"
    path.write_text("scene: graph\nexpression: |\n" + "".join(f"  {line}\n" for line in lines)
                    + "inputs: {x: 0.5, y: -1.2}\n")
    return path


def _graph(config) -> "GraphTrace":
    from scenes.trace_data import GraphTrace, read_trace
    return GraphTrace.from_dict(read_trace(trace_path_for(config)))


def test_a_small_graph_is_exempt_from_staying_whole_only_when_provably_too_deep(tmp_path):
    # The least width of a row from an input to the output at the 10 px floor (audit/graph_width.py): a chain
    # of 12 named × gates with such labels cannot fit the 819.8 px safe area, one of 11 can (804 px at least);
    # cs231n's sigmoid neuron (7 gates) needs 597 px and must stay whole; graph17 (20 nodes, 12 gates) 838 px.
    from audit.graph_width import available_px, least_row_px, too_deep
    from audit.screen import SAFE_MARGIN
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        assert available_px(SAFE_MARGIN) == pytest.approx(854 * 0.96)
        for gates, exempt in ((12, True), (11, False), (8, False)):
            width, depth = least_row_px(_graph(_chain(tmp_path, gates)))
            assert depth == gates and (width > 854 * 0.96) == exempt, (gates, width)
        width, depth = least_row_px(_graph(STRESS / "graph17.yaml"))
        assert depth == 12 and too_deep(_graph(STRESS / "graph17.yaml"), SAFE_MARGIN)
        neuron = _graph(CONFIG_DIR / "sigmoid_neuron.yaml")
        assert least_row_px(neuron)[1] == 7 and not too_deep(neuron, SAFE_MARGIN)


def test_the_least_widths_are_the_floors_text_measured():
    # at the floor a digit is 10 px tall; DejaVu Sans draws a digit's ink about 0.67 of its height wide
    # and "+0.42" about 3.8 times; a gate circle holds at least its symbol's diagonal and a pixel of outline
    from audit.graph_width import gate_diameter_px, text_size_px
    assert text_size_px("0")[1] == pytest.approx(10, abs=0.1)
    assert 5.5 < text_size_px("0")[0] < 7.5 and 35 < text_size_px("+0.42")[0] < 41
    w, h = text_size_px("×")
    assert gate_diameter_px("×", None) == pytest.approx(np.hypot(w, h) + 2)
    assert gate_diameter_px("×", "q_{1}") > gate_diameter_px("×", None) + 10  # the name inside it too


# --- whole scenes made bad on purpose -----------------------------------------------------------------
def _audit_scene(scene_cls, config: Path | None = None, quality: str = "preview"):
    """Build ``scene_cls`` (set up as `render.py audit` sets scenes up, for ``config``'s trace) and audit it."""
    from pipeline.render_job import RenderOptions, undrawn
    with undrawn(trace_path_for(str(config or CONFIG_DIR / "chain_rule.yaml")), RenderOptions(quality=quality)):
        renderer = AuditRenderer()
        scene_cls(renderer=renderer).render()
        return renderer.frames, check_frames(renderer.frames, quality)


def _plain_scene(build):
    from manim import Scene

    class Bad(Scene):
        def construct(self):
            self.add(*build())
            self.wait(0.1)
    return Bad


def test_shapes_are_recorded_with_their_kind_label_and_box():
    from manim import Axes, VMobject
    from scenes.screen_tags import tag_shape

    def build():
        ax = Axes(x_range=[0, 4, 1], y_range=[0, 4, 1], x_length=4, y_length=3, tips=False)
        curve = tag_shape(VMobject().set_points_as_corners([[-2, -1.5, 0], [0, 0.5, 0], [2, 1.5, 0]]), "curve", "tanh")
        bars = tag_shape(VMobject(fill_opacity=1).set_points_as_corners([ax.c2p(1, 0), ax.c2p(1, 2), ax.c2p(2, 2)]),
                         "bar")
        return [ax, curve, bars]
    frames, _ = _audit_scene(_plain_scene(build))
    shapes = {(s.kind, s.label): s.bbox for s in frames[-1].shapes}
    assert set(shapes) == {("axis", None), ("curve", "tanh"), ("bar", None)}
    # a 4 x 3 unit box in the middle of the 14.22 x 8 unit frame, drawn 854 x 480: 60 px a unit, y downwards
    assert shapes[("curve", "tanh")] == pytest.approx([427 - 2 * 854 / 14.222, 240 - 90, 427 + 2 * 854 / 14.222, 240 + 90],
                                                      abs=0.1)
    x0, y0, x1, y1 = shapes[("axis", None)]  # the axes' lines, and their ticks a few pixels beyond
    assert 300 < x0 < 307 and 147 < y0 <= 150 and 547 <= x1 < 550 and 330 <= y1 < 337


def test_a_graph_records_its_gates_and_edges_by_name():
    from scenes.graph_scenes import ComputationalGraphScene
    frames, violations = _audit_scene(ComputationalGraphScene)
    shapes = frames[-1].shapes
    assert {s.label for s in shapes if s.kind == "gate"} == {"q", "f"}  # cs231n's f = (x + y) z, q = x + y
    assert {"x → q", "y → q", "q → f", "z → f"} <= {s.label for s in shapes if s.kind == "edge"}
    assert [v for v in violations if v.rule in ("shape-cut", "name-gone", "active-off-frame")] == []


def test_a_gate_cut_by_the_frame_edge_fails():
    from manim import RIGHT, Circle
    from scenes.screen_tags import tag_shape
    _, violations = _audit_scene(_plain_scene(lambda: [tag_shape(Circle(radius=0.5).move_to(6.9 * RIGHT), "gate", "q")]))
    assert [v.rule for v in violations] == ["shape-cut"]


def test_a_name_taken_off_screen_while_its_graph_stays_fails():
    from scenes.graph_scenes import ComputationalGraphScene

    class PannedAway(ComputationalGraphScene):
        def backward_pass(self, graph):  # as a pan does: x's name leaves the frame, its wires stay
            self.play(graph.leaf_mobs[graph.trace.inputs[0].id].animate.shift(20 * RIGHT_))
            super().backward_pass(graph)

    from manim import RIGHT as RIGHT_
    _, violations = _audit_scene(PannedAway)
    gone = {v.message for v in violations if v.rule == "name-gone"}
    assert "the name 'x' is not in the frame while its graph (5 nodes) is still drawn" in gone
    assert gone <= {"the name 'x' is not in the frame while its graph (5 nodes) is still drawn",
                    "the name 'x' is not in the frame while its step is about it"}  # the + gate's step adds x


def test_a_panned_sigmoid_neuron_fails_it_is_not_too_deep_to_fit():
    # cs231n's sigmoid neuron (15 nodes, 7 gates deep: 597 px at the floor) fits the frame: panned as a graph
    # too wide would be (its inputs out of view from the backward pass on), the audit fails it
    from manim import LEFT
    from scenes.graph_scenes import ComputationalGraphScene

    class Panned(ComputationalGraphScene):
        def backward_pass(self, graph):
            self.play(graph.animate.shift(9 * LEFT))
            super().backward_pass(graph)

    _, violations = _audit_scene(Panned, CONFIG_DIR / "sigmoid_neuron.yaml")
    gone = {v.message for v in violations if v.rule == "name-gone"}
    whole_graph = {m.split("'")[1] for m in gone if m.endswith("its graph (15 nodes) is still drawn")}
    assert {"w0", "x0", "w1", "x1"} <= whole_graph, gone


REUSED_FAR = """scene: graph
expression: |
  a = x * y + z
  b = a * y + z
  c = b * y + z
  d = c * y + z
  f = d * y + x
inputs: {x: 0.5, y: -1.2, z: 0.8}
"""


def _step_names_gone(violations) -> set[str]:
    return {v.message.split("'")[1] for v in violations
            if v.rule == "name-gone" and v.message.endswith("while its step is about it")}


def test_a_far_input_is_named_by_a_connector_on_its_wire(tmp_path):
    # x feeds the first gate and the last, 17.5 units apart in a graph of 19 (panned): at the last gate's
    # steps x cannot be in view with it, and a connector names x where its wire enters the view
    from scenes.graph_scenes import ComputationalGraphScene
    config = tmp_path / "reused.yaml"
    config.write_text(REUSED_FAR)
    frames, violations = _audit_scene(ComputationalGraphScene, config)
    assert _step_names_gone(violations) == set()
    # the connector is drawn: a name x at the view's left edge while the graph's own x is out of view
    assert any(t.string == "x" and t.bbox[0] < 854 * 0.05 for f in frames for t in f.texts if t.kind == "name")
    assert [v for v in violations if v.rule in ("overlap", "edge-through-text", "too-small", "off-frame")] == []
    # the view follows the steps: the first frames show the graph's start, the backward pass its end and back
    lefts = [min(t.bbox[0] for t in f.texts if t.kind == "value") for f in frames
             if any(t.kind == "value" for t in f.texts)]
    assert max(lefts) - min(lefts) > 854 / 4


@pytest.mark.slow
def test_without_a_connector_or_with_one_off_its_wire_a_far_input_s_name_is_gone(tmp_path, monkeypatch):
    from manim import UP
    from scenes.graph_scenes import ComputationalGraphScene, GraphScene
    config = tmp_path / "reused.yaml"
    config.write_text(REUSED_FAR)
    placed = GraphScene._connector
    monkeypatch.setattr(GraphScene, "_connector", lambda self, graph, src, gate: None)
    _, violations = _audit_scene(ComputationalGraphScene, config)
    assert "x" in _step_names_gone(violations)  # without the connector, x's name is gone during its steps

    def off_its_wire(self, graph, src, gate):  # a connector that is not where its wire is does not count
        tag = placed(self, graph, src, gate)
        return None if tag is None else tag.shift(1.5 * UP)
    monkeypatch.setattr(GraphScene, "_connector", off_its_wire)
    _, violations = _audit_scene(ComputationalGraphScene, config)
    assert "x" in _step_names_gone(violations)


def test_a_connector_is_on_its_wire_only_beside_it_and_inside_the_frame():
    from audit.screen import on_wire
    wire = np.array([[x, 200.0] for x in range(-300, 400)])  # enters the frame at its left edge, y = 200
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        assert on_wire([20, 186, 30, 197], [wire])  # just above it
        assert not on_wire([20, 150, 30, 161], [wire])  # 39 px above: a name floating elsewhere
        assert not on_wire([500, 186, 510, 197], [wire])  # where the wire does not reach
        assert not on_wire([-30, 186, -20, 197], [wire])  # the wire there is out of the frame


def _chart(offset: float):
    """Two curves, B drawn over A (shifted up by ``offset`` scene units), each with a legend entry."""
    from manim import DOWN, UP, Axes, Text, VMobject
    from scenes.screen_tags import tag_shape

    def build():
        ax = Axes(x_range=[0, 4, 1], y_range=[0, 4, 1], x_length=6, y_length=4)
        pts = [ax.c2p(x, 4 - 4 / (1 + x)) for x in (0, 1, 2, 3, 4)]
        a = tag_shape(VMobject(stroke_width=3).set_points_as_corners(pts), "curve", "A")
        b = tag_shape(VMobject(stroke_width=3).set_points_as_corners(pts).shift(offset * UP), "curve", "B")
        legend = [tag_shape(Text(n, font_size=24).next_to(ax, DOWN).shift(i * 2 * UP), "legend", n)
                  for i, n in enumerate("AB")]
        return [ax, a, b, *legend]
    return _plain_scene(build)


def test_a_legend_entry_whose_curve_is_drawn_over_fails():
    _, hidden = _audit_scene(_chart(0.0))
    assert [v.message for v in hidden if v.rule == "legend-hidden"] == [
        "legend entry 'A': its curve has no visible pixels of its own (other curves are drawn over all of it)"]
    _, sliver = _audit_scene(_chart(0.025))  # 1.5 px apart: A is a sliver along B's edge, not a curve
    assert [v.rule for v in sliver if v.rule == "legend-hidden"] == ["legend-hidden"]
    _, apart = _audit_scene(_chart(0.1))  # 6 px apart at 854x480: both curves show
    assert [v for v in apart if v.rule == "legend-hidden"] == []


# --- captions: the numbers they state -------------------------------------------------------------------
XOR = {"kind": "vanishing", "config": {"steps": 20000, "seeds": 10},
       "runs": [{"activation": "tanh", "steps": [0, 10000, 20000], "accuracy": [0.5, 1.0, 1.0]},
                {"activation": "relu", "steps": [0, 10000, 20000], "accuracy": [0.5, 0.75, "nan"]}],
       "seed_summary": [{"activation": "tanh", "seeds": 10, "solved": 9, "diverged": 0, "median_ratio": 3.2e-5},
                        {"activation": "relu", "seeds": 10, "solved": 5, "diverged": 3, "median_ratio": 0.42}]}


def _caption_problems(text, kind="caption"):
    from audit.captions import CaptionCheck
    from scenes.training_scenes import ACT_NAMES
    return CaptionCheck(XOR, ACT_NAMES).check_text(kind, text)


def test_caption_numbers_that_the_trace_has_pass():
    assert _caption_problems("after 20000 steps: solved XOR: tanh (9/10); not solved: ReLU (5/10)") == []
    assert _caption_problems("diverged (NaN): ReLU (3/10)") == []
    assert _caption_problems("step 0: tanh's first layer gets a gradient 4 orders of magnitude below its last") == []
    assert _caption_problems("ReLU: final accuracy 0.75", "text") == []
    assert _caption_problems("20000 스텝 후: XOR 해결: tanh (9/10)") == []
    assert _caption_problems("sigmoid inputs: w1 and w2 move the same way") == []  # names are not numbers


def test_a_clause_naming_two_runs_takes_either_runs_numbers_and_no_others():
    # tanh solved 9 and ReLU 5 (of 10): each number belongs to one of the runs the clause names
    assert _caption_problems("tanh and ReLU solve 9 and 5 of 10") == []
    assert _caption_problems("ReLU and tanh: 5 and 9 of 10") == []
    assert _caption_problems("tanh and ReLU solve 9 and 7 of 10") == [
        "caption 'tanh and ReLU solve 9 and 7 of 10': 7 is not a number of the trace"]


def test_caption_numbers_the_trace_does_not_have_fail():
    assert _caption_problems("after 20001 steps: solved XOR: tanh (9/10)") == [
        "caption 'after 20001 steps: solved XOR: tanh (9/10)': 20001 is not a number of tanh's run in the trace"]
    # another run's count: ReLU solved 5 of 10, tanh 9
    assert len(_caption_problems("not solved: tanh (5/10), ReLU (9/10)")) == 2
    assert len(_caption_problems("leaky ReLU: final accuracy 0.8", "text")) == 1


def test_the_audit_knows_each_run_by_the_name_its_captions_use(monkeypatch):
    """audit_trace's caption check is told the activations' screen names (ReLU for relu): without them, a
    caption giving tanh's count to ReLU would be checked against every number of the trace and pass."""
    from audit import captions, run

    made = []

    class Recorded(captions.CaptionCheck):
        def __init__(self, trace, names=None):
            super().__init__(trace, names)
            made.append(names)

    monkeypatch.setattr(run, "CaptionCheck", Recorded)
    run.audit_trace(trace_path_for(CONFIG_DIR / "chain_rule.yaml"))
    assert len(made) == 1
    check = captions.CaptionCheck(XOR, made[0])
    assert len(check.check_text("caption", "not solved: tanh (5/10), ReLU (9/10)")) == 2
    assert check.check_text("caption", "not solved: ReLU (5/10)") == []


def test_a_training_scene_whose_caption_miscounts_fails_its_audit(tmp_path, monkeypatch):
    # the whole scene's audit reads its captions' numbers: the outcome caption counting one step more than
    # the runs took fails (a small vanishing config, 400 steps, so 401 is no number of the trace)
    import yaml

    from audit.run import audit_trace
    from scenes.training_scenes import VanishingGradients
    from test_training_scene_content import VANISHING

    told = VanishingGradients.outcome_caption
    monkeypatch.setattr(VanishingGradients, "outcome_caption",
                        staticmethod(lambda trace, steps: told(trace, steps + 1)))
    config = tmp_path / "v.yaml"
    config.write_text(yaml.safe_dump(VANISHING))
    report = audit_trace(trace_path_for(config))
    wrong = {(v.rule, v.message.split(":")[0]) for v in report.violations}
    assert wrong and all(rule == "caption-number" for rule, _ in wrong), report.violations
    assert any("401 is not a number of" in v.message for v in report.violations), report.violations


@pytest.mark.slow
def test_a_scene_whose_caption_miscounts_fails():
    from scenes.training_scenes import VanishingGradients

    class OffByOne(VanishingGradients):
        @staticmethod
        def outcome_caption(trace, steps):
            return VanishingGradients.outcome_caption(trace, steps + 1)

    from audit.captions import CaptionCheck
    from scenes.trace_data import read_trace
    from scenes.training_scenes import ACT_NAMES
    config = CONFIG_DIR / "vanishing.yaml"
    frames, _ = _audit_scene(OffByOne, config)
    check = CaptionCheck(read_trace(trace_path_for(str(config))), ACT_NAMES)
    wrong = {m for f in frames for m in check(f)}
    assert len(wrong) == 1 and "5001 is not a number of" in wrong.pop()  # the shipped scene passes (below)


def test_a_scene_whose_equation_is_wrong_fails_its_audit(monkeypatch):
    # the audit of a whole scene reads each step's equation: chain_rule's × gate step written with
    # ∂f/∂z = 3 × (+1) = +5 fails twice, at both frames that show it (the product, and the total the trace has)
    import scenes.graph_scenes as graph_scenes
    from audit.run import audit_trace

    written = graph_scenes.chain_rule_pages
    monkeypatch.setattr(graph_scenes, "chain_rule_pages",
                        lambda *args, **kw: [p.replace("{+3}", "{+5}") for p in written(*args, **kw)])
    report = audit_trace(trace_path_for(CONFIG_DIR / "chain_rule.yaml"))
    assert [(v.frame, v.rule, v.message) for v in report.violations] == [
        (frame, "equation", message) for frame in (10, 11) for message in (
            r"3 \times (+1) = +5: it makes 3, not 5", "∂f/∂z (the total gradient) shows +5 where the trace has 3")]


# --- equations: what a total derivative claims ----------------------------------------------------------
GRADS = {"x": [np.asarray(-0.731)], "y": [np.asarray(1.46)], "W": [np.array([[0.5, -1.0], [2.0, 3.2e-7]])]}


def test_the_per_path_step_written_as_a_total_is_caught():
    # the defect the audit exists for: f uses x twice, and one path's share was written as df/dx
    wrong = r"\frac{\partial f}{\partial x} = 1 \times \textcolor[HTML]{E69F00}{+0.731} = \textcolor[HTML]{E69F00}{+0.731}"
    assert len(check_equation(wrong, "f", GRADS)) == 1
    share = r"\left.\frac{\partial f}{\partial x}\right|_{x \to q_{1}} = 1 \times (+0.731) = +0.731"
    assert claims(share) == [] and check_equation(share, "f", GRADS) == []
    total = r"\frac{\partial f}{\partial x} = (+0.731) + (-1.46) = \textcolor[HTML]{E69F00}{-0.731}"
    assert check_equation(total, "f", GRADS) == []


def test_a_total_gradient_is_written_in_the_gradients_colour():
    orange, blue = "#E69F00", "#56B4E9"  # the dark theme's gradient and forward colours
    seed = r"\frac{\partial f}{\partial f} = \textcolor[HTML]{%s}{1}"
    assert check_equation(seed % "E69F00", "f", {"f": [np.asarray(1.0)]}, orange) == []
    assert check_equation(seed % "56b4e9", "f", {"f": [np.asarray(1.0)]}, orange) == [
        f"∂f/∂f: the gradient 1 is written in {blue}, not the gradients' colour {orange}"]
    plain = r"\frac{\partial f}{\partial x} = 1 \times \textcolor[HTML]{E69F00}{+0.731} = -0.731"
    assert "the text colour" in check_equation(plain, "f", GRADS, orange)[0]
    half = r"\frac{\partial f}{\partial x} = \textcolor[HTML]{E69F00}{-0.7}31"  # a number coloured in part
    assert len(check_equation(half, "f", GRADS, orange)) == 1
    matrix = (r"\frac{\partial f}{\partial W} = \textcolor[HTML]{E69F00}{\begin{bmatrix} 0.5 & -1 \\ 2 & "
              r"3.2 \times 10^{-7} \end{bmatrix}}\;\; (2 \times 2)")  # a shape note after the value
    assert check_equation(matrix, "f", GRADS, orange) == []


def test_local_times_upstream_must_make_the_downstream_written_after_it():
    from audit.equations import arithmetic_problems

    mul = r"\frac{\partial f}{\partial s} = 3 \times (\textcolor[HTML]{E69F00}{+1}) = \textcolor[HTML]{E69F00}{+3}"
    assert arithmetic_problems(mul) == []
    assert arithmetic_problems(mul.replace("{+3}", "{-3}")) == ["3 \\times (+1) = -3: it makes 3, not -3"]
    # three digits each: 0.731 x (-0.534) is -0.390 to rounding, however the factors were rounded
    assert arithmetic_problems(r"\frac{\partial f}{\partial a} = 0.731 \times (-0.534) = -0.39") == []
    assert arithmetic_problems(r"a = 3.2 \times 10^{-7} \times (+2) = +6.4 \times 10^{-7}") == []
    assert len(arithmetic_problems(r"a = 3.2 \times 10^{-7} \times (+2) = +9.4 \times 10^{-7}")) == 1  # read, not skipped
    assert arithmetic_problems(r"\frac{\partial f}{\partial x} = (-10) + (-12) = \textcolor[HTML]{E69F00}{-22}") == []
    assert len(arithmetic_problems(r"\frac{\partial f}{\partial x} = (-10) + (-12) = -2")) == 1
    # symbols are not arithmetic: only the step with numbers on both sides is read
    assert arithmetic_problems(r"\frac{\partial f}{\partial q} = \frac{\partial s}{\partial q}\,"
                               r"\frac{\partial f}{\partial s} = 1 \times (+3) = +3") == []


def test_a_matrix_gate_s_product_is_read_as_written_rows_by_columns():
    from audit.equations import arithmetic_problems

    # cs231n's f = ||Wx||^2 at W = [[0.1, 0.5], [-0.3, 0.8]], x = (0.2, 0.4): dq = 2Wx = (0.44, 0.52)
    dw = (r"\frac{\partial f}{\partial W} = \begin{bmatrix} +0.44 \\ +0.52 \end{bmatrix} \cdot "
          r"\begin{bmatrix} 0.2 & 0.4 \end{bmatrix} = \begin{bmatrix} +0.088 & +0.176 \\ +0.104 & +0.208 \end{bmatrix}")
    assert arithmetic_problems(dw) == []
    compact = (r"\frac{\partial f}{\partial W} = \underbrace{\begin{bmatrix} +0.44 \\ +0.52 \end{bmatrix}}_{\displaystyle "
               r"\partial f/\partial q} \cdot \underbrace{\begin{bmatrix} 0.2 & 0.4 \end{bmatrix}}_{\displaystyle x^{T}} = "
               r"\begin{bmatrix} +0.088 & +0.176 \\ +0.104 & +0.208 \end{bmatrix}")  # each symbol under its matrix
    assert arithmetic_problems(compact) == [] and len(arithmetic_problems(compact.replace("0.176", "0.2"))) == 1
    dx = (r"\frac{\partial f}{\partial x} = W^{T} \cdot \frac{\partial f}{\partial q} = \begin{bmatrix} 0.1 & -0.3 \\ "
          r"0.5 & 0.8 \end{bmatrix} \cdot \begin{bmatrix} +0.44 \\ +0.52 \end{bmatrix} = \begin{bmatrix} -0.112 \\ +0.636 \end{bmatrix}")
    assert arithmetic_problems(dx) == []
    untransposed = dx.replace(r"0.1 & -0.3 \\ 0.5 & 0.8", r"0.1 & 0.5 \\ -0.3 & 0.8")  # W written where Wᵀ goes
    assert arithmetic_problems(untransposed) == [
        r"[ 0.1 & 0.5 \\ -0.3 & 0.8 ] \cdot [ +... = [ -0.112 \\ +0.636 ]: it makes 0.304, not -0.112 (entry 0)"]
    # "Deep Learning from Scratch": Sigmoid's y(1 - y) and Softmax-with-Loss's (y - t) / N, at N = 2
    sig = (r"s\,(1 - s) = \begin{bmatrix} 0.731 & 0.5 \end{bmatrix} \odot \left(1 - \begin{bmatrix} 0.731 & 0.5 "
           r"\end{bmatrix}\right) \\ = \begin{bmatrix} 0.197 & 0.25 \end{bmatrix}")
    assert arithmetic_problems(sig) == [] and len(arithmetic_problems(sig.replace("0.197", "0.731"))) == 1
    loss = (r"\frac{\partial L}{\partial s} = \frac{y - t}{N} = \frac{1}{2}\left(\begin{bmatrix} 0.338 & 0.269 "
            r"\end{bmatrix} - \begin{bmatrix} 0 & 1 \end{bmatrix}\right) \\ = \begin{bmatrix} +0.169 & -0.366 \end{bmatrix}")
    assert arithmetic_problems(loss) == [] and len(arithmetic_problems(loss.replace("-0.366", "-0.731"))) == 1
    # infinities: written as themselves they agree, and a router's 0 for an infinite upstream is its own rule
    assert arithmetic_problems(r"a = 3 \times (\infty) = \infty") == []
    assert len(arithmetic_problems(r"a = 3 \times (\infty) = -\infty")) == 1
    assert arithmetic_problems(r"a = \begin{bmatrix} 0 & 1 \end{bmatrix} \odot \begin{bmatrix} \infty & 2 \end{bmatrix} = "
                               r"\begin{bmatrix} 0 & 2 \end{bmatrix}") == []
    # shapes that do not multiply as written are not read as a claim
    assert arithmetic_problems(r"a = \begin{bmatrix} 1 & 2 \end{bmatrix} \cdot \begin{bmatrix} 1 & 2 \end{bmatrix} = 5") == []


def test_a_sum_over_rows_is_read_as_written():
    from audit.equations import arithmetic_problems

    # nn.Linear's bias gets the upstream summed over the batch's rows: (0.5 - 1 + 2, -1 + 0.25 + 0) = (1.5, -0.75)
    rows = r"\sum_{\textstyle\text{rows}}"
    up = r"\begin{bmatrix} +0.5 & -1 \\ -1 & +0.25 \\ +2 & 0 \end{bmatrix}"
    db = (rf"\frac{{\partial f}}{{\partial b}} = {rows} \frac{{\partial f}}{{\partial q}} = {rows} {up} = "
          r"\textcolor[HTML]{E69F00}{\begin{bmatrix} +1.5 & -0.75 \end{bmatrix}}")
    assert arithmetic_problems(db) == []
    assert arithmetic_problems(db.replace("+1.5", "+0.5")) == [  # the first row alone is not the sum
        rf"{rows} [ +0.5 &... = [ +0.5 & -0.75 ]: it makes 1.5, not 0.5 (entry 0)"]
    compact = (rf"\frac{{\partial f}}{{\partial b}} = {rows} \underbrace{{{up}}}_{{\displaystyle \partial f/\partial q}} = "
               r"\begin{bmatrix} +1.5 & -0.75 \end{bmatrix}")
    assert arithmetic_problems(compact) == [] and len(arithmetic_problems(compact.replace("-0.75", "+0.75"))) == 1
    # a column added to every column: each row summed
    by_columns = rf"a = \sum_{{\text{{columns}}}} {up} = \begin{{bmatrix}} -0.5 \\ -0.75 \\ +2 \end{{bmatrix}}"
    assert arithmetic_problems(by_columns) == [] and len(arithmetic_problems(by_columns.replace("+2 \\end", "0 \\end"))) == 1


def test_a_name_two_graphs_give_different_nodes_agrees_with_either_node_s_gradient():
    # sigmoid_gate draws the gate chain, then one sigmoid gate: q_{1} may name a different node in each
    grads = {"q_{1}": [np.asarray(-0.534), np.asarray(0.197)]}
    assert check_equation(r"\frac{\partial f}{\partial q_{1}} = \textcolor[HTML]{E69F00}{+0.197}", "f", grads) == []
    assert check_equation(r"\frac{\partial f}{\partial q_{1}} = \textcolor[HTML]{E69F00}{-0.534}", "f", grads) == []
    assert len(check_equation(r"\frac{\partial f}{\partial q_{1}} = \textcolor[HTML]{E69F00}{+0.5}", "f", grads)) == 1


def test_a_chain_broken_before_its_result_is_read_as_one_line():
    # a long product's result on a line of its own (\\ before its =): still the claim of the first line
    tex = r"\frac{\partial f}{\partial x} = 1 \times (+0.731) \\ = \textcolor[HTML]{E69F00}{-0.731}"
    assert claims(tex)[0][:2] == ("f", "x") and check_equation(tex, "f", GRADS) == []
    assert len(check_equation(tex.replace("{-0.731}", "{-0.5}"), "f", GRADS)) == 1


def test_a_script_set_at_the_text_size_is_measured_at_that_size():
    from audit.screen import TEX_SCRIPT, _glyph_height_px
    from manim import MathTex
    m = MathTex("x", font_size=38)
    main = _glyph_height_px(m, "f")  # the main line's x-height alone
    assert _glyph_height_px(m, r"\left.f\right|_{x \to q}") == pytest.approx(TEX_SCRIPT * main)
    assert _glyph_height_px(m, r"\left.f\right|_{\textstyle x \to q}") == pytest.approx(main)
    # a word under a sum, in a group of its own (\text{rows}): a script unless set at the text's size
    assert _glyph_height_px(m, r"\sum_{\text{rows}} f") == pytest.approx(TEX_SCRIPT * main)
    assert _glyph_height_px(m, r"\sum_{\textstyle\text{rows}} f") == pytest.approx(main)


def test_the_output_must_be_named_as_it_is():
    assert "the output is L" in check_equation(r"\frac{\partial f}{\partial x} = -0.731", "L", GRADS)[0]


def test_rows_matrices_and_scientific_notation_are_read():
    tex = (r"\frac{\partial f}{\partial x} = -0.731 \qquad \frac{\partial f}{\partial y} = +1.46 \\ "
           r"\frac{\partial f}{\partial W} = \textcolor[HTML]{E69F00}{\begin{bmatrix} +0.5 & -1 \\ +2 & "
           r"+3.2\times 10^{-7} \end{bmatrix}}\;\; (2\times 2)")
    assert [c[1] for c in claims(tex)] == ["x", "y", "W"]
    assert check_equation(tex, "f", GRADS) == []
    assert parse_value(r"-1.5\times 10^{3}") == -1500
    bad = tex.replace("+3.2", "+3.5")
    assert len(check_equation(bad, "f", GRADS)) == 1


def test_matrices_with_scientific_entries_agree_as_shown():
    # numfmt writes 3.2456e-7 with two significant digits, 3.2e-7: 1.4% from the trace's value, not a mismatch
    grads = {"W": [np.array([[3.2456e-7, -1.0], [2.0, -4.5678e-9]])]}
    tex = (r"\frac{\partial f}{\partial W} = \textcolor[HTML]{E69F00}{\begin{bmatrix} +3.2\times 10^{-7} & -1 \\ "
           r"+2 & -4.6\times 10^{-9} \end{bmatrix}}\;\; (2\times 2)")
    assert check_equation(tex, "f", grads) == []
    wrong = tex.replace("-4.6", "-4.2")
    assert check_equation(wrong, "f", grads) == [
        "∂f/∂W (the total gradient) shows -4.2×10^{-9} at entry [1, 1] where the trace has -4.6×10^{-9}"]
    assert check_equation(r"\frac{\partial f}{\partial W} = +3.2\times 10^{-7}", "f", grads) == [
        "∂f/∂W (the total gradient) 1 entries are written where the trace has 4 (2x2)"]
    # the sign is part of the value
    assert check_equation(tex.replace("+3.2", "-3.2"), "f", grads) != []


# --- the whole scenes ---------------------------------------------------------------------------------
SCREENS = Path(__file__).parent / "screens"


def screen_record(report) -> str:
    """What a scene shows at each pause, one line per text and shape (kind, colour, box to the pixel), to compare
    with the stored record: a moved label, a changed caption, number or colour anywhere in the scene shows."""
    lines = []
    for f in report.frames:
        lines.append(f"frame {f.index} at {f.time:.2f} s, step {f.step}")
        lines += [f"  {t.kind} {t.color} {','.join(str(round(v)) for v in t.bbox)} {t.string!r}" for t in f.texts]
        lines += [f"  {s.kind} {s.label!r} {','.join(str(round(v)) for v in s.bbox)}" for s in f.shapes]
    return "\n".join(lines) + "\n"


def _audit(config: Path, theme: str, lang: str, request=None):
    """The audit of ``config`` passes; with ``request``, what it shows is also the stored record's, if one is kept
    (tests/screens; rewritten, after looking at the scene, with --regenerate-controls)."""
    import difflib

    from audit.run import audit_trace
    from audit.screen import grouped

    report = audit_trace(trace_path_for(config), theme=theme, lang=lang, source=str(config))
    assert report.violations == [], "\n".join(grouped(report.violations))[-3000:]
    stored = SCREENS / f"{config.stem}-{theme}-{lang}.txt"
    if request is not None:
        got = screen_record(report)
        if request.config.getoption("--regenerate-controls"):
            SCREENS.mkdir(exist_ok=True)
            stored.write_text(got, encoding="utf-8")
        want = stored.read_text(encoding="utf-8").splitlines()
        diff = list(difflib.unified_diff(want, got.splitlines(), "stored", "now", lineterm="", n=1))
        if diff:
            first = int(diff[2].split()[1].split(",")[0].lstrip("-"))  # the first hunk's line in the stored record
            frame = next((line for line in reversed(want[:first + 1]) if line.startswith("frame ")), "the start")
            pytest.fail(f"{config.stem} ({theme}, {lang}) shows something else than {stored.name} from {frame}: if the "
                        "change is meant, look at the scene's stills and run this test with --regenerate-controls\n"
                        + "\n".join(diff[:40]), pytrace=False)
    return report


SHIPPED = sorted(CONFIG_DIR.glob("*.yaml"))
STRESS_CONFIGS = sorted(STRESS.glob("*.yaml"))


# one case of each cheap config in the fast subset, the themes and languages taken in turn
FAST_AUDITS = {("chain_rule", "light", "ko"), ("gradcheck", "dark", "ko"), ("vectors", "light", "en"),
               ("zigzag", "dark", "en"), ("gates", "dark", "ko"), ("layers", "light", "en"),
               ("torch_layer_norm", "dark", "en"), ("histograms_torch", "light", "ko"),
               ("torch_sigmoid_neuron", "light", "en"), ("sigmoid_neuron", "dark", "ko"),
               ("rtl_title", "light", "ko"), ("zigzag_keys", "dark", "en"), ("large_matrix", "light", "ko"),
               ("reuse", "dark", "en"), ("sigmoid_gate", "light", "en")}


@pytest.mark.parametrize("config,theme,lang", slow_except(
    [(c, t, lang) for c in SHIPPED for t in ("dark", "light") for lang in ("en", "ko")], FAST_AUDITS))
def test_every_shipped_config_passes_the_audit(config, theme, lang, request):
    # both themes in both languages (Korean's wider captions, the other palette), at the audit's one level:
    # 10 px for every text, scripts included, names and the active gate kept in view; the fast cases show
    # what their stored records say
    assert _audit(config, theme, lang, request if (config.stem, theme, lang) in FAST_AUDITS else None).frames


@pytest.mark.parametrize("config,theme,lang", slow_except(
    [(c, t, lang) for c in STRESS_CONFIGS for t, lang in (("dark", "en"), ("light", "ko"))], FAST_AUDITS))
def test_every_stress_config_passes_the_audit(config, theme, lang, request):
    # the 17-gate and 30-node graphs pan: their step's gate in view and its far inputs named by connectors
    assert _audit(config, theme, lang, request if (config.stem, theme, lang) in FAST_AUDITS else None).frames


def test_the_audit_fails_a_scene_with_a_problem(tmp_path, monkeypatch):
    # the graph scene with its gradient colour made unreadable: the audit must say so and exit 1
    from scenes import style
    monkeypatch.setitem(style.THEMES["light"], "GRADIENT", "#DDDDDD")
    r = run_cli(["audit", str(CONFIG_DIR / "chain_rule.yaml"), "--theme", "light"])
    assert r.exit_code == 1 and "contrast: gradient '+1': #DDDDDD on #FFFFFF" in r.output


def test_json_record_of_what_is_on_screen():
    import json
    r = run_cli(["audit", str(CONFIG_DIR / "chain_rule.yaml"), "--json"])
    assert r.exit_code == 0
    report = json.loads(r.output)
    assert report["frame_size"] == [854, 480] and report["violations"] == []
    last = report["frames"][-1]
    kinds = {t["kind"] for t in last["texts"]}
    assert {"title", "caption", "equation", "value", "gradient", "name"} <= kinds
    shown = {t["string"] for t in last["texts"] if t["kind"] == "gradient"}
    assert {"−4", "+3", "+1"} <= shown  # cs231n's f = (x + y) z: df/dx = df/dy = -4, df/dz = 3
    assert all(t["height_px"] >= 10 and t["contrast"] >= 4.5 for t in last["texts"])
    gates = {s["label"]: s["bbox"] for s in last["shapes"] if s["kind"] == "gate"}
    assert set(gates) == {"q", "f"} and all(0 <= x0 < x1 <= 854 and 0 <= y0 < y1 <= 480 for x0, y0, x1, y1 in gates.values())
    assert {"x → q", "z → f"} <= {s["label"] for s in last["shapes"] if s["kind"] == "edge"}


def test_readme_lists_every_key_of_every_kind_as_the_schemas_do():
    from engine.config import keys_reference
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = readme.split("<!-- keys:start -->\n")[1].split("<!-- keys:end -->")[0]
    assert block == keys_reference()
    for key in ("batch", "loss", "bins", "samples", "view", "record_every", "seeds"):
        assert f"| `{key}` |" in block


def test_a_claim_about_a_parameter_of_an_nn_sequential_is_read_and_checked():
    import numpy as np
    tex = r"\frac{\partial f}{\partial \mathrm{Linear}_{0}.\mathrm{bias}} = \begin{bmatrix} 0.5 \\ -0.25 \end{bmatrix}"
    assert [c[:2] for c in claims(tex)] == [("f", r"\mathrm{Linear}_{0}.\mathrm{bias}")]
    assert check_equation(tex, "f", {r"\mathrm{Linear}_{0}.\mathrm{bias}": [np.array([0.5, -0.25])]}) == []
    assert check_equation(tex, "f", {r"\mathrm{Linear}_{0}.\mathrm{bias}": [np.array([0.5, 0.25])]})


def test_strict_is_accepted_and_hidden():
    # the audit has one level since issue 26; `--strict`, which once asked for it, still parses (old scripts)
    assert "--strict" not in run_cli(["audit", "--help"]).output
    r = run_cli(["audit", "no-such-config.yaml", "--strict"])
    assert r.exit_code == 1 and "no-such-config.yaml: no such file" in r.output  # not "no such option"


def test_the_audit_holds_every_scene_to_every_rule_without_asking(monkeypatch):
    # `render.py audit CONFIG`, no option: a name panned out of the frame while its graph is drawn fails it
    # (once a rule only --strict applied), and --strict changes nothing
    from manim import RIGHT
    from scenes.graph_scenes import ComputationalGraphScene
    backward_pass = ComputationalGraphScene.backward_pass

    def panned_away(self, graph):  # as a pan does: x's name leaves the frame, its wires stay
        self.play(graph.leaf_mobs[graph.trace.inputs[0].id].animate.shift(20 * RIGHT))
        backward_pass(self, graph)

    monkeypatch.setattr(ComputationalGraphScene, "backward_pass", panned_away)
    config = str(CONFIG_DIR / "chain_rule.yaml")
    plain, strict = run_cli(["audit", config]), run_cli(["audit", config, "--strict"])
    assert plain.exit_code == 1 and "name-gone: the name 'x' is not in the frame" in plain.output
    assert strict.exit_code == 1 and strict.output == plain.output


@pytest.mark.parametrize("quality", ["low", "preview", "hd"])
def test_glyph_heights_and_boxes_are_measured_in_the_qualitys_pixels(quality):
    """A text's measured glyph height and box are in the pixels of the frame being drawn: the height of an
    "x" (its x-height, give or take the overshoot) and of a "0" as Manim lays them out, converted by the
    quality's pixels per scene unit, so a floor that scales with the quality is met or missed alike."""
    from manim import MathTex, Text, config
    from audit.screen import _bbox_px, _glyph_height_px
    from pipeline.render_job import QUALITIES

    q = QUALITIES[quality]
    with tempconfig({"pixel_width": q.width, "pixel_height": q.height}):
        px_per_unit = q.height / config.frame_height
        for m, string in ((Text("x", font="DejaVu Sans", font_size=40), "x"), (Text("0", font_size=40), "0"),
                          (MathTex("x", font_size=40), "x")):
            assert _glyph_height_px(m, string) == pytest.approx(m.height * px_per_unit, rel=0.05)
            x0, y0, x1, y1 = _bbox_px(m)
            assert x1 - x0 == pytest.approx(m.width * q.width / config.frame_width, abs=0.1)
            assert y1 - y0 == pytest.approx(m.height * px_per_unit, abs=0.1)


def test_a_scene_audited_at_low_quality_is_measured_at_half_the_previews_pixels():
    """`render.py audit --quality low` measures the 426x240 frame it names: every text's box and glyph
    height half the preview's (854x480), so the 10 px rule is applied to what that quality draws."""
    from audit.run import audit_trace

    trace = trace_path_for(CONFIG_DIR / "chain_rule.yaml")
    low, preview = audit_trace(trace, quality="low"), audit_trace(trace, quality="preview")
    assert (low.width, low.height, preview.width, preview.height) == (426, 240, 854, 480)
    pairs = [(a, b) for fl, fp in zip(low.frames, preview.frames, strict=True)
             for a, b in zip(fl.texts, fp.texts, strict=True)]
    assert len(pairs) > 50 and all(a.string == b.string for a, b in pairs)
    for a, b in pairs:
        assert a.height_px == pytest.approx(b.height_px * 240 / 480, abs=0.11), a.string
        # 426/854 across, 240/480 down (the box's corners are rounded to 0.1 px)
        assert a.bbox == pytest.approx([b.bbox[0] * 426 / 854, b.bbox[1] / 2, b.bbox[2] * 426 / 854, b.bbox[3] / 2],
                                       abs=0.5), a.string


def test_the_near_stroke_search_agrees_with_measuring_every_segment():
    # the k-d tree search of hidden_curves against the every-point-every-segment reference: random walks of
    # every scale (pieces of a few px to segments wider than the frame), points on and off the curves
    from audit.screen import Stroke, _distance_to_stroke, _near_stroke
    rng = np.random.default_rng(7)
    for _ in range(200):
        curves, samples, scale = rng.integers(1, 6), rng.integers(2, 200), rng.choice([5, 50, 800])
        pts = np.cumsum(rng.normal(0, scale / 10, (curves, samples, 2)), axis=1) + rng.uniform(0, 800, (curves, 1, 2))
        stroke = Stroke("x", pts, 1.0)
        query = rng.uniform(-50, 850, (300, 2))
        query[:60] = pts.reshape(-1, 2)[rng.integers(0, curves * samples, 60)] + rng.normal(0, 3, (60, 2))
        reach = rng.uniform(0.5, 12)
        assert np.array_equal(_near_stroke(query, stroke, reach), _distance_to_stroke(query, stroke) <= reach)
    nan = np.array([[np.nan, 1.0], [10.0, 10.0]])
    assert list(_near_stroke(nan, Stroke("x", np.array([[[0.0, 10.0], [20.0, 10.0]]]), 0.0), 1.0)) == [False, True]


@pytest.mark.parametrize("lang, title, subtitle", [
    ("en", "Backpropagation through a sigmoid neuron, step by step", "chapter 2 of 5"),
    ("ko", "시그모이드 뉴런의 역전파: 국소 기울기와 상류 기울기", "5장 중 2장")])
def test_a_lecture_s_title_card_shows_its_title_and_subtitle_whole_and_readable(monkeypatch, lang, title, subtitle):
    from engine.settings import SUBTITLE_ENV, TITLE_ENV
    from scenes.title_card import TitleCard

    monkeypatch.setenv(TITLE_ENV, title)
    monkeypatch.setenv(SUBTITLE_ENV, subtitle)
    monkeypatch.setenv("BACKPROP_LANG", lang)
    frames, violations = _audit_scene(TitleCard)
    assert violations == []
    def said(f):  # (a long title wraps onto lines of its own)
        return {" ".join(t.string.split()): t.bbox for t in f.texts}

    held = [said(f) for f in frames if set(said(f)) == {title, subtitle}]
    assert held, [list(said(f)) for f in frames]
    title_box, sub_box = held[0][title], held[0][subtitle]
    assert title_box[3] <= sub_box[1]  # the subtitle under the title
    assert not frames[-1].texts  # the card fades before the chapter starts
    # the title in the text colour, the subtitle (a chapter's "2 / 5") in the muted one, as captions are
    from scenes import style
    colours = {" ".join(t.string.split()): t.color.upper() for f in frames for t in f.texts}
    assert (colours[title], colours[subtitle]) == (style.THEMES["dark"]["TEXT"].upper(),
                                                   style.THEMES["dark"]["MUTED"].upper())


def test_building_a_scene_in_one_theme_leaves_the_palette_as_it_found_it():
    from scenes import style

    before = (style.THEME, style.TEXT, style.GRADIENT, dict(style.ACTIVATION))
    other = "light" if style.THEME == "dark" else "dark"
    seen = {}

    class Looking(AuditRenderer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            seen.update(theme=style.THEME, gradient=style.GRADIENT)

    from pipeline.render_job import RenderOptions, undrawn
    with undrawn(trace_path_for(str(CONFIG_DIR / "chain_rule.yaml")), RenderOptions(theme=other)) as scene_cls:
        scene_cls(renderer=Looking()).render()
    assert seen == {"theme": other, "gradient": style.THEMES[other]["GRADIENT"]}
    assert (style.THEME, style.TEXT, style.GRADIENT, dict(style.ACTIVATION)) == before


def test_the_equation_audit_knows_each_graph_s_gradient_under_a_name_both_graphs_use():
    # sigmoid_gate draws the neuron twice: gate by gate, then with a sigmoid gate; a generated name (q1, ...) may
    # be a different node in each, and a formula of either graph is true if it matches that graph's gradient
    from audit.run import _equation_truth
    from scenes.notation import Notation
    from scenes.trace_data import GraphTrace, read_trace

    trace = read_trace(trace_path_for(CONFIG_DIR / "sigmoid_gate.yaml"))
    _, grads = _equation_truth(trace, GraphTrace, Notation)
    for part in (trace, trace["alternative"]):
        g = GraphTrace.from_dict(trace, part)
        nt = Notation(g)
        for nid, n in g.nodes.items():
            if n.grad is not None:
                assert any(np.array_equal(n.grad, known) for known in grads[nt.tex(nid)]), nt.tex(nid)


def test_a_curve_s_own_length_counts_every_point_inside_the_frame_wherever_it_is():
    # a curve in a chart's right-hand panel (x from 500 to 840 px of 854, y from 300 to 400 of 480) is seen
    # whole: 340 px of its own, none of it beyond the frame's width or height; the same curve moved off the
    # frame's right edge has none
    from audit.screen import Stroke, own_length

    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        inside = np.array([[[x, 300 + 100 * (x - 500) / 340] for x in np.linspace(500, 840, 35)]])
        length = float(np.hypot(340, 100))
        assert own_length(Frame(0, 0.0, strokes=[Stroke("relu", inside, 1.0)]), 0) == pytest.approx(length)
        outside = inside + [400, 0]
        assert own_length(Frame(0, 0.0, strokes=[Stroke("relu", outside, 1.0)]), 0) == 0.0


# --- each rule at its boundary: the safe area, the floor, contrast, overlap, a line's margin, a frame's edge ---
# 854x480: the safe margin is 2% of each side, 17.08 px left and right, 9.6 px top and bottom
@pytest.mark.parametrize("bbox,off", [
    ([17.1, 100, 100, 120], False), ([17.0, 100, 100, 120], True),
    ([700, 100, 836.9, 120], False), ([700, 100, 837.0, 120], True),
    ([100, 9.7, 200, 20], False), ([100, 9.5, 200, 20], True),
    ([100, 400, 200, 470.3], False), ([100, 400, 200, 470.5], True),
])
def test_text_just_inside_the_safe_area_passes_and_just_beyond_it_fails(bbox, off):
    assert rules(frame(text(bbox))) == (["off-frame"] if off else [])


@pytest.mark.parametrize("height,contrast,found", [
    (10.0, 4.5, []), (float("nan"), 10.0, ["too-small"]),  # a height not measured is not passed
    (12.0, 4.499, ["contrast"]), (12.0, float("nan"), []),
])
def test_text_exactly_at_the_floor_and_at_aa_contrast_passes(height, contrast, found):
    assert [r for r in rules(frame(text([100, 100, 200, 120], height=height, contrast=contrast)))
            if r != "contrast" or contrast == contrast] == found


@pytest.mark.parametrize("other,overlap", [
    ([199, 100, 300, 120], False), ([198.5, 100, 300, 120], True),  # a pixel's overlap is tolerated, no more
    ([100, 119, 200, 140], False), ([100, 118.5, 200, 140], True),
    ([50, 50, 101, 101], False), ([50, 50, 101.5, 101.5], True),  # corner to corner
])
def test_two_texts_overlap_by_more_than_a_pixel_in_both_directions(other, overlap):
    assert rules(frame(text([100, 100, 200, 120]), text(other))) == (["overlap"] if overlap else [])


@pytest.mark.parametrize("end,through", [(102.0, False), (102.5, True), (197.5, True)])
def test_an_edge_may_end_two_pixels_inside_a_label_but_not_more(end, through):
    assert rules(frame(text([100, 100, 200, 120]), edges=[[(50, 110), (end, 110)]])) == (
        ["edge-through-text"] if through else [])


@pytest.mark.parametrize("bbox,cut", [
    ([800, 100, 854.5, 160], False), ([800, 100, 854.6, 160], True), ([-0.5, 100, 50, 160], False),
    ([-0.6, 100, 50, 160], True), ([100, 420, 160, 480.5], False), ([100, 420, 160, 480.6], True),
    ([100, -0.6, 160, 50], True),
])
def test_a_shape_may_reach_half_a_pixel_past_the_frame_s_edge(bbox, cut):
    assert rules(Frame(0, 0.0, shapes=[ShapeRecord("gate", "q", bbox)])) == (["shape-cut"] if cut else [])


@pytest.mark.parametrize("size,gone", [(19, True), (20, True), (21, False)])
def test_a_name_seen_once_must_stay_while_a_graph_of_up_to_twenty_nodes_is_drawn(size, gone):
    assert rules(Frame(0, 0.0, nodes=[_node(size=size)]), Frame(1, 1.0, nodes=[_node(False, size=size)])) == (
        ["name-gone"] if gone else [])


def _line(x0, x1, y, points=12):
    return np.array([[[x, y] for x in np.linspace(x0, x1, points)]], dtype=float)


@pytest.mark.parametrize("offset,label,own", [
    (3.0, "B", 0.0), (3.5, "B", 110.0),  # reach: both half widths (1 px each) and a pixel
    (0.0, "A", 110.0),  # a curve's own later pieces do not hide it
    (-3.0, "B", 0.0),  # above or below alike
])
def test_a_curve_is_hidden_where_a_later_curve_passes_within_both_half_widths_and_a_pixel(offset, label, own):
    from audit.screen import Stroke, own_length
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        a, b = Stroke("A", _line(100, 210, 200), 1.0), Stroke(label, _line(100, 210, 200 + offset), 1.0)
        assert own_length(Frame(0, 0.0, strokes=[a, b]), 0) == pytest.approx(own)
        assert own_length(Frame(0, 0.0, strokes=[a, Stroke("B", np.zeros((0, 12, 2)), 1.0)]), 0) == pytest.approx(110.0)


@pytest.mark.parametrize("last,hidden", [(98.0, False), (97.9, True)])
def test_a_legend_entry_needs_eight_pixels_of_its_curve_in_view(last, hidden):
    from audit.screen import Stroke, hidden_curves
    xs = [*range(0, 100, 10), last]  # only the last piece, 90 to ``last``, clear of B (which ends at 86)
    a = Stroke("A", np.array([[[x, 200.0] for x in xs]]), 1.0)
    b = Stroke("B", _line(0, 86, 200), 1.0)
    legend = [ShapeRecord("legend", "A", [10, 10, 50, 30]), ShapeRecord("legend", "B", [10, 40, 50, 60])]
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        assert hidden_curves(Frame(0, 0.0, shapes=legend, strokes=[a, b])) == (["A"] if hidden else [])


def test_problems_are_grouped_with_the_frames_they_are_seen_in():
    from audit.screen import Violation, grouped
    seen = [Violation(2, 0.2, "too-small", "m"), Violation(3, 0.3, "too-small", "m"),
            Violation(5, 0.5, "too-small", "m"), Violation(4, 0.4, "overlap", "m")]
    assert grouped(seen) == ["frames 2-5 (3): too-small: m", "frame 4: overlap: m"]
    assert str(seen[0]) == "frame 2 (0.2 s): too-small: m"


# --- the equation audit's reading of a number and its judgement of one entry ---
@pytest.mark.parametrize("tex,value", [
    ("0.393", 0.393), ("+0.393", 0.393), ("-0.393", -0.393), ("−0.393", -0.393), ("(+3)", 3.0),
    (r"3.2\times 10^{-7}", 3.2e-7), (r"-1.2 \times 10^{5}", -1.2e5), (r"\infty", float("inf")),
    (r"-\infty", float("-inf")), ("0", 0.0),
])
def test_a_written_number_is_read_with_its_sign_and_power_of_ten(tex, value):
    from audit.equations import parse_number
    assert parse_number(tex) == value


@pytest.mark.parametrize("cell,truth,agree", [
    ("0.393", 0.3932238, True), ("+0.393", 0.3932238, True), ("-0.393", 0.3932238, False),  # the sign matters
    ("0.394", 0.3932238, True), ("0.396", 0.3932238, False),  # within 0.6%, not beyond
    ("1.00603", 1.0, False),  # 0.6% of the trace's value, not of the value shown
    ("0", 1e-13, True), ("0", 1e-3, False),  # zero only within rounding noise
    (r"3.2\times 10^{-7}", 3.2456e-7, True), (r"3.3\times 10^{-7}", 3.2456e-7, False),
    (r"1.2\times 10^{5}", 123456.0, True), (r"-1.2\times 10^{5}", 123456.0, False),  # as written: two digits
    (r"\mathrm{NaN}", float("nan"), True), ("1", float("nan"), False), (r"\mathrm{NaN}", 1.0, False),
    (r"\infty", float("inf"), True), (r"-\infty", float("inf"), False), ("1000", float("inf"), False),
])
def test_an_entry_agrees_with_the_trace_as_the_screen_writes_it_or_within_rounding(cell, truth, agree):
    from audit.equations import entry_agrees
    assert entry_agrees(cell, truth) == agree


@pytest.mark.parametrize("shown,truth,agree", [
    ([1.0, 2.0], [1.0, 2.0], True), ([1.0, 2.0], [1.0, 2.0, 3.0], False), ([1.0, 2.0], [1.0, 2.01], True),
    ([1.0, 2.0], [1.0, 2.02], False), ([float("nan")], [float("nan")], True), ([float("inf")], [float("inf")], True),
    ([float("-inf")], [float("inf")], False), ([1000.0], [float("inf")], False), ([0.0], [0.0], True), ([1.0], [float("nan")], False),
])
def test_values_agree_with_the_trace_entry_by_entry_within_three_digits(shown, truth, agree):
    from audit.equations import agrees
    assert agrees(np.asarray(shown), np.asarray(truth)) == agree


@pytest.mark.parametrize("cells,truth,message", [
    (["1", "2"], np.array([1.0, 2.0]), None),
    (["1", "-2"], np.array([1.0, 2.0]), "shows -2 at entry [1] where the trace has 2"),
    (["1", "2", "3"], np.array([[1.0, 2.0]]), "3 entries are written where the trace has 2 (1x2)"),
    (["-0.5"], np.array(0.5), "shows -0.5 where the trace has 0.5"),  # a scalar has no entry to name
    (["1", "2", "3", "4", "6", "6"], np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
     "shows 6 at entry [1, 1] where the trace has 5"),  # row by row
])
def test_a_mismatch_names_the_first_entry_that_differs_and_what_the_trace_has(cells, truth, message):
    from audit.equations import mismatch
    assert mismatch(cells, truth) == message


@pytest.mark.parametrize("value,colour", [
    (r"\textcolor[HTML]{e69f00}{-4}", "#E69F00"), (r"\textcolor[HTML]{E69F00}{-4} \;\; (2\times 3)", "#E69F00"),
    (r"\textcolor[HTML]{E69F00}{-4} + 1", None), (r"-4", None), (r"1 + \textcolor[HTML]{E69F00}{-4}", None),
    (r"\textcolor[HTML]{56B4E9}{\begin{bmatrix} 1 \\ 2 \end{bmatrix}}", "#56B4E9"),
])
def test_a_value_has_a_colour_only_when_one_colour_wraps_all_of_it(value, colour):
    from audit.equations import value_colour
    assert value_colour(value) == colour


@pytest.mark.parametrize("tex,parts", [
    (r"a = 1 \qquad b = 2", ["a = 1 ", " b = 2"]), (r"a = 1,\quad b = 2", ["a = 1", " b = 2"]),
    (r"a = 1 \\ = 2", [r"a = 1  = 2"]),  # a row starting with = carries on the line above
    (r"a = 1 \\ b = 2", ["a = 1 ", " b = 2"]), (r"= 1 \\ b", ["= 1 ", " b"]),
])
def test_a_formula_is_read_as_one_equation_per_row_and_per_side_by_side_part(tex, parts):
    from audit.equations import pieces
    assert pieces(tex) == parts


def test_the_equation_audit_names_a_wrong_output_and_an_unknown_node():
    grads = {"x": [np.asarray(-4.0)]}
    assert check_equation(r"\frac{\partial g}{\partial x} = -4", "f", grads) == ["∂g/∂x: the output is f, not g"]
    assert check_equation(r"\frac{\partial f}{\partial y} = -4", "f", grads) == ["∂f/∂y: no node is named y"]
    assert check_equation(r"\frac{\partial f}{\partial x} = -4", "f", grads) == []
    assert check_equation(r"\frac{\partial f}{\partial x} = (-4)", "f", grads) == []


@pytest.mark.parametrize("x,forms", [
    (3.0, {"3"}), (0.5, {"0.5"}), (-2.0, {"2"}), (0.1234, {"0.123"}), (123456.0, {"1.2e5", "123456"}),
    (float("nan"), set()), (float("inf"), set()), (-0.75, {"0.75"}),
])
def test_a_trace_number_may_be_written_with_three_digits_or_as_an_integer_without_its_sign(x, forms):
    from audit.captions import _forms
    assert _forms(x) == forms


@pytest.mark.parametrize("obj,key,numbers", [
    (True, "", []), (7, "", [7.0]), ({"version": 7, "format": 2, "versions": [1]}, "", []),  # not the trace's
    ({"a": [1, 2]}, "", [2.0, 1.0, 2.0]),  # a list's length is a number too (steps, seeds)
    (3.2e-5, "median_ratio", [3.2e-5, 4.0]), (0.5, "ratio", [0.5, 0.0]), (2.0, "ratio", [2.0]),  # orders below 1
    (-0.001, "ratio", [-0.001, 3.0]), (0.001, "steps", [0.001]), ("abc", "", []), (None, "", []),
])
def test_the_numbers_a_caption_may_use_are_every_number_and_list_length_of_the_trace(obj, key, numbers):
    from audit.captions import _numbers
    assert _numbers(obj, key) == numbers
    assert _numbers("nan") != _numbers("nan")  # (said as a word, never as digits)


@pytest.mark.parametrize("text,tokens", [
    ("layer 3 of 12", ["3", "12"]), ("−0.5 and +2", ["−0.5", "+2"]), ("1.6e−7", ["1.6e−7"]),
    ("w1 and x^2 and fc1.weight", []),  # part of a name, an exponent
    ("3D and 2x", []), ("(9/10)", ["9", "10"]), ("10.", ["10"]),
])
def test_a_number_in_a_caption_is_read_alone_not_inside_a_name(text, tokens):
    from audit.captions import NUMBER
    assert NUMBER.findall(text) == tokens


def test_only_captions_and_notes_are_checked_and_the_captions_own_wording_passes():
    from audit.captions import CaptionCheck
    from scenes.training_scenes import ACT_NAMES
    check = CaptionCheck(XOR, ACT_NAMES)
    frame_ = Frame(0, 0.0, [text([0, 0, 1, 1], string="after 777 steps", kind=kind)
                            for kind in ("title", "axis label", "value", "caption", "text")])
    assert [m.split(":")[0] for m in check(frame_)] == ["caption 'after 777 steps'", "text 'after 777 steps'"]
    # "a factor of 100" is the caption's own wording, not a claim about the trace
    assert check.check_text("caption", "step 0: no activation here loses more than a factor of 100") == []
    shared = CaptionCheck(dict(XOR, config={**XOR["config"], "learning_rate": 0.7}), ACT_NAMES)
    assert shared.check_text("caption", "ReLU: learning rate 0.7") == []  # a run takes the config's numbers too
    assert check.check_text("caption", "tanh: +9, −9 of 10") == []  # a sign is no part of the number
    assert check.check_text("caption", "ReLU: 9 of 10") == [
        "caption 'ReLU: 9 of 10': 9 is not a number of ReLU's run in the trace"]


@pytest.mark.parametrize("string,width", [("+0.42", 37.8), ("−0.777", 46.4), ("+1", 16.9), ("0", 6.7), ("", 0.0)])
def test_an_edge_label_s_least_width_is_the_published_one(string, width):
    from audit.graph_width import text_size_px
    assert text_size_px(string)[0] == pytest.approx(width, abs=0.06)


@pytest.mark.parametrize("symbol,name,diameter", [("×", None, 12.6), ("×", "q_{1}", 29.0), ("exp", "q_{12}", 48.3)])
def test_a_gate_s_least_diameter_is_the_published_one(symbol, name, diameter):
    # audit/graph_width.py's docstring: "×" alone 12.6 px; "×" over q₁ 29.0 px; "exp" over q₁₂ 48.3 px
    from audit.graph_width import gate_diameter_px
    assert gate_diameter_px(symbol, name) == pytest.approx(diameter, abs=0.06)


@pytest.mark.parametrize("width,height,margin,px", [(854, 480, 0.02, 819.84), (1920, 1080, 0.02, 819.2),
                                                    (480, 480, 0.0, 480.0), (854, 480, 0.1, 683.2)])
def test_the_room_for_a_row_is_the_safe_area_s_width_at_480_lines(width, height, margin, px):
    from audit.graph_width import available_px
    with tempconfig({"pixel_width": width, "pixel_height": height}):
        assert available_px(margin) == pytest.approx(px, abs=0.01)


def test_a_row_s_least_width_adds_the_output_s_edge_and_each_edge_s_wider_label():
    # f = x * 2 at x = 3: the name x, the edge x -> × (value 3 above, gradient +2 below: the wider), the ×
    # circle alone (an unnamed output is not named in its gate), then the output's edge (6 and the seed +1)
    from audit.graph_width import gate_diameter_px, least_row_px, tex_size_px, text_size_px
    from helpers import trace_of
    from scenes.trace_data import GraphTrace
    g = GraphTrace.from_dict(trace_of("x * 2", {"x": 3.0}))
    width, gates = least_row_px(g)
    expected = (tex_size_px("x")[0] + max(text_size_px("3")[0], text_size_px("+2")[0]) + gate_diameter_px("×", None)
                + max(text_size_px("6")[0], text_size_px("+1")[0]))
    assert gates == 1 and width == pytest.approx(expected)


@pytest.mark.parametrize("symbol,name,beside", [("exp", "L", True), ("×", "q_{1}", False)])
def test_a_gate_s_name_goes_below_or_beside_its_symbol_whichever_makes_the_smaller_circle(symbol, name, beside):
    from audit.graph_width import gate_diameter_px, symbol_block_px, tex_size_px
    (sw, sh), (nw, nh) = symbol_block_px(symbol), tex_size_px(name)
    below, aside = np.hypot(max(sw, nw), sh + nh) + 2, np.hypot(sw + nw, max(sh, nh)) + 2
    assert (aside < below) == beside  # (the case is what its name says)
    assert gate_diameter_px(symbol, name) == pytest.approx(min(below, aside))


# --- a whole graph scene, audited undrawn, in each theme and language: who is drawn where, in what colour ---
ROLE = {"dark": {"TEXT": "#FFFFFF", "MUTED": "#999999", "FORWARD": "#56B4E9", "GRADIENT": "#E69F00"},
        "light": {"TEXT": "#111111", "MUTED": "#555555", "FORWARD": "#0072B2", "GRADIENT": "#AD5A00"}}


@functools.lru_cache
def _chain_rule_report(theme, lang):
    from audit.run import audit_trace
    return audit_trace(trace_path_for(CONFIG_DIR / "chain_rule.yaml"), theme=theme, lang=lang)


@pytest.mark.parametrize("theme,lang", [("dark", "en"), ("light", "ko")])
def test_a_graph_scene_s_texts_take_their_role_s_colour_and_language(theme, lang):
    from scenes.style import CAPTIONS
    report = _chain_rule_report(theme, lang)
    assert (report.theme, report.lang, report.quality, report.width, report.height) == (theme, lang, "preview", 854, 480)
    texts = [t for f in report.frames for t in f.texts]
    colours = {}
    for t in texts:
        colours.setdefault(t.kind, set()).add(t.color)
    role = ROLE[theme]
    assert colours["title"] == colours["gate"] == {role["TEXT"]}
    assert colours["caption"] == {role["MUTED"]}
    assert colours["value"] == {role["FORWARD"]} and colours["gradient"] == {role["GRADIENT"]}
    names = {t.string: t.color for t in texts if t.kind == "name"}
    assert names["x"] == names["y"] == names["z"] == role["TEXT"] and names["q"] == role["MUTED"]  # q: a gate's
    captions = {t.string for t in texts if t.kind == "caption"}
    assert captions and captions <= set(CAPTIONS[lang].values())  # the language's own table, nothing else
    assert any("\uac00" <= c <= "\ud7a3" for c in "".join(captions)) == (lang == "ko")


def test_a_graph_scene_reads_top_to_bottom_title_graph_caption_equation():
    report = _chain_rule_report("dark", "en")
    for f in report.frames:
        top = {}
        for t in f.texts:
            top.setdefault(t.kind, []).append(t.bbox)
        graph = [b for k in ("name", "gate", "value", "gradient") for b in top.get(k, [])]
        if "title" in top and graph:
            assert max(b[3] for b in top["title"]) < min(b[1] for b in graph)
        if "caption" in top and graph:
            assert max(b[3] for b in graph) < min(b[1] for b in top["caption"])
        if "caption" in top and "equation" in top:
            assert max(b[3] for b in top["caption"]) < min(b[1] for b in top["equation"])
    assert [name.split(":")[0] for name, _ in report.steps[:2]] == ["title", "forward"]
    # a one-line title is centred 0.45 units below the frame's top (8 units are 480 px): 27 px
    assert {round((t.bbox[1] + t.bbox[3]) / 2) for f in report.frames for t in f.texts if t.kind == "title"} == {27}
    assert [t for f in report.frames for t in f.texts if t.kind == "caption"]
    assert [t for f in report.frames for t in f.texts if t.kind == "equation"]


@pytest.mark.parametrize("string,tex,kind", [
    ("abc", False, "x"), ("ABC", False, "digit"), ("0.5", False, "digit"), ("스텝", False, "hangul"),
    ("스텝 x", False, "x"), ("XOR 해결", False, "hangul"), ("∂ 2×3", False, "digit"), ("", False, "digit"),
    (r"\frac{\partial L}{\partial W}", True, "digit"),  # \frac and \partial are commands, not letters
    (r"\mathrm{loss}", True, "x"), (r"\textcolor[HTML]{abcdef}{+3}", True, "digit"),  # a colour's hex is no text
    (r"\begin{bmatrix} 1 \end{bmatrix}", True, "digit"), (r"\text{스텝}", True, "hangul"),
    (r"\beta 1", False, "x"),  # as plain text, a backslash word is letters
])
def test_a_string_is_measured_by_its_smallest_kind_of_glyph_tex_commands_aside(string, tex, kind):
    assert glyph_kind(string, tex) == kind


@pytest.mark.parametrize("tex,per_point", [
    ("x", 0.2257 / 48), ("0", 0.3427 / 48), ("10^{2}", 0.696 * 0.3427 / 48),  # an exponent's digits, script size
    ("x^{2}", 0.2257 / 48),  # an x-height below the exponent's digits
    ("10^{x}", 0.696 * 0.2257 / 48), ("a_{\\textstyle b}", 0.2257 / 48),  # set at the text's size on purpose
    ("Q^{2}", 0.696 * 0.3427 / 48), ("2^{3_{1}}", 0.696 * 0.696 * 0.3427 / 48),  # a script's script
    ("e^{x_{1}}", 0.696 * 0.2257 / 48), ("^{2}", 0.696 * 0.3427 / 48),  # a script alone: no main line to measure
])
def test_a_formula_is_as_legible_as_its_smallest_script(tex, per_point):
    from audit.screen import _least_glyph_per_point
    assert _least_glyph_per_point("tex", tex, "") == pytest.approx(per_point)


@pytest.mark.parametrize("height,floor", [(480, 10.0), (240, 5.0), (1080, 22.5), (2160, 45.0), (720, 15.0)])
def test_the_glyph_floor_is_ten_pixels_at_480_lines_and_scales_with_the_height(height, floor):
    from audit.screen import min_glyph_px
    assert min_glyph_px(height) == pytest.approx(floor)


# --- the audit's pixel geometry and colour arithmetic ---
@pytest.mark.parametrize("width,height", [(854, 480), (1920, 1080), (480, 480)])
def test_scene_points_become_pixels_with_y_downwards_and_a_box_is_its_extremes(width, height):
    from manim import Square, config
    from audit.screen import _bbox_px, _to_px
    with tempconfig({"pixel_width": width, "pixel_height": height}):
        fw, fh = config.frame_width, config.frame_height
        px = _to_px(np.array([[0.0, 0.0, 0.0], [-fw / 2, fh / 2, 0.0], [fw / 2, -fh / 2, 0.0], [fw / 4, 0, 0]]))
        assert np.allclose(px, [[width / 2, height / 2], [0, 0], [width, height], [0.75 * width, height / 2]])
        square = Square(side_length=2).move_to([2.0, 1.0, 0.0])  # x 1..3, y 0..2 (y up): top edge at y = 2
        box = _bbox_px(square)
        assert box == pytest.approx([(0.5 + 1 / fw) * width, (0.5 - 2 / fh) * height, (0.5 + 3 / fw) * width, height / 2])


@pytest.mark.parametrize("top,under,seen", [
    ([1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]), ([1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]),
    ([1.0, 1.0, 1.0, 0.25], [0.0, 0.0, 0.0], [0.25, 0.25, 0.25]),
])
def test_a_translucent_colour_is_seen_blended_over_what_is_under_it(top, under, seen):
    from audit.screen import _blend
    assert _blend(np.array(top), np.array(under)).tolist() == pytest.approx(seen)


@pytest.mark.parametrize("rgb,hex_", [((1, 1, 1), "#FFFFFF"), ((0, 0, 0), "#000000"), ((0.5, 0.5, 0.5), "#808080"),
                                      ((0.9, 0.62, 0.0, 0.3), "#E69E00")])
def test_a_colour_is_reported_as_upper_case_hex_of_its_rgb(rgb, hex_):
    from audit.screen import _hex
    assert _hex(np.array(rgb)) == hex_


@pytest.mark.parametrize("c,linear", [(0.04045, 0.04045 / 12.92), (0.05, ((0.05 + 0.055) / 1.055) ** 2.4), (1.0, 1.0)])
def test_relative_luminance_follows_wcag_s_piecewise_curve(c, linear):
    from audit.screen import _luminance
    assert _luminance((c, c, c)) == pytest.approx(linear)  # (the three weights sum to 1)
    assert _luminance((c, 0, 0)) == pytest.approx(0.2126 * linear)
    assert _luminance((0, 0, c)) == pytest.approx(0.0722 * linear)


def test_a_contrast_ratio_is_the_same_either_way_round():
    assert contrast_ratio((0.9, 0.6, 0.0), (0, 0, 0)) == pytest.approx(contrast_ratio((0, 0, 0), (0.9, 0.6, 0.0)))
