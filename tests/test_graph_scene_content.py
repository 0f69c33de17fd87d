"""What the graph scenes say, step by step, built without drawing a pixel (the audit's renderer): each
step's values against numbers worked out by hand, and every paused frame through the whole screen audit.
Fast (about a second a scene), so a change to a scene is checked by `make test-fast`, not only by renders."""
import pytest

from audit.run import audit_trace
from engine.source import trace_path_for
from render import CONFIG_DIR


@pytest.fixture(scope="module")
def gates():
    return audit_trace(trace_path_for(CONFIG_DIR / "gates.yaml"))


def steps(report, kind: str) -> list[str]:
    return [name.split(": ", 1)[1] for name, _ in report.steps if name.startswith(kind + ": ")]


# gates.yaml by hand: x = 3, y = -4, z = 2, w = -1; q = xy = -12, m = max(z, w) = 2, s = q + m = -10,
# f = sx = -30. Backward: f's mul gate swaps (s gets x = 3, x gets s = -10); the add gate distributes 3 to
# q and m; max routes 3 to z (the larger) and 0 to w; q's mul gate swaps (x gets 3y = -12, y gets 3x = 9);
# x is used twice, so df/dx = -10 + -12 = -22.
def test_the_gates_scene_steps_forward_in_topological_order_with_each_value(gates):
    assert steps(gates, "forward") == ["x = 3", "y = −4", "q = −12", "z = 2", "w = −1", "m = 2", "s = −10",
                                       "f = −30"]


def test_each_gate_passes_local_times_upstream_to_each_input_signed(gates):
    assert steps(gates, "backward") == [
        "∂f/∂f = 1", "× gate f, s gets +3, x gets −10", "+ gate s, q gets +3, m gets +3",
        "max gate m, z gets +3, w gets 0", "× gate q, x gets −12, y gets +9"]


def test_only_an_input_used_twice_is_a_branch_and_its_shares_add_up(gates):
    assert [name for name, _ in gates.steps if name.startswith("a branch")] == [
        "a branch sums: x collect every path's share"]
    sums = {t.string for f in gates.frames for t in f.texts if t.kind == "equation" and "(-10) + (-12)" in t.string}
    assert sums and all(t.endswith("{-22}") for t in sums)


def test_the_summary_gives_every_inputs_total_gradient(gates):
    assert steps(gates, "summary") == ["∂f/∂x = −22, ∂f/∂y = +9, ∂f/∂z = +3, ∂f/∂w = 0"]


def test_every_paused_frame_of_the_gates_scene_passes_the_audit_seed_colour_included(gates):
    assert gates.violations == []
    seed = [t.string for f in gates.frames for t in f.texts if t.string.startswith(r"\frac{\partial f}{\partial f}")]
    assert seed and all(s.endswith(r"\textcolor[HTML]{E69F00}{1}") for s in seed)  # dark: orange


def test_cs231n_s_first_example_in_the_light_theme_and_in_korean():
    # f = (x + y) z at x = -2, y = 5, z = -4: df/dx = df/dy = z = -4, df/dz = x + y = 3 (cs231n's numbers)
    report = audit_trace(trace_path_for(CONFIG_DIR / "chain_rule.yaml"), theme="light", lang="ko")
    assert report.violations == []
    assert steps(report, "summary") == ["∂f/∂x = −4, ∂f/∂y = −4, ∂f/∂z = +3"]
    captions = {t.string for f in report.frames for t in f.texts if t.kind == "caption"}
    # the Korean captions, the add gate's as "Deep Learning from Scratch" names it (덧셈 노드), the mul gate's
    assert "덧셈 노드: 기울기를 그대로 분배한다 (국소 기울기 1)" in captions and "곱셈 노드: 입력을 서로 바꾼 값을 곱한다" in captions
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in c) for c in captions)
    seed = [t.string for f in report.frames for t in f.texts if t.string.startswith(r"\frac{\partial f}{\partial f}")]
    assert seed and all(s.endswith(r"\textcolor[HTML]{AD5A00}{1}") for s in seed)  # light: dark orange
