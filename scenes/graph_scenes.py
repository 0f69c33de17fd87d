"""Scenes of the computational graph, each regenerated from a config or trace.

Render with the CLI (`render.py render CONFIG`) or with plain manim:
    BACKPROP_SOURCE=assets/configs/gates.yaml manim -ql scenes/graph_scenes.py GatePatterns
Without BACKPROP_SOURCE each scene renders its shipped config.
"""
from __future__ import annotations

import numpy as np
from manim import DL, DOWN, RIGHT, UP, UR, MathTex, Table, Text

# Absolute imports: manim loads this file as a top-level module, not as part of the package.
from infra.errors import ConfigError
from engine.source import scene_source, trace_path_for
from scenes import style
from scenes.animations import Pan, fade_in, fade_out
from scenes.glyphs import merge_glyphs
from scenes.graph_mobject import ComputationalGraph, bezier_points
from scenes.pacing import PacedScene
from scenes.formulas import bias_summed, branch_sum_tex, chain_rule_pages, magnified_line, summary_pages, too_large
from scenes.text_fit import fitted_text, title_mobject
from scenes.trace_data import GraphTrace, Step, TraceError, read_trace

TITLE_Y = 3.55
GRAPH_CENTER_Y = 0.95
CAPTION_Y = -1.72
EQUATION_Y = -2.85
EQUATION_HEIGHT = 1.75
# An equation is drawn up to this much larger than its 38 pt when the area has room: its scripts (the
# x→q under an evaluation bar, w₀'s 0) then read at 10 px at 854x480, not 7.5.
EQUATION_GROWTH = 1.34
EQUATION_SIZE = 38  # an equation's font size before it is scaled to its area
EQUATION_BOTTOM = -3.78  # the frame's safe area's bottom (2% of 8 units above -4), and a little
CONTENT_TOP = 3.05  # below a one-line title
GRAPH_BOTTOM = CAPTION_Y + 0.3
TITLE_LINE = 0.75  # a one-line title is at most this tall
PAN_EDGE = 6.6  # a graph wider than twice this is panned; its texts stay within +-VIEW_EDGE (the safe area)
VIEW_EDGE = 6.8
GRAPH_WIDTH = 13.6  # the frame's width but its safe margins (2% a side: 6.83 units from the middle)
CONNECTOR_PAD = 0.05  # layout inches between an off-page connector and its wire, as between a label and its own


class TraceScene(PacedScene):
    """The base of every scene: reads its trace (refusing one of another kind), then tells its ``story``
    under a title, with a caption and an equation below."""

    default_source: str | None = None  # the shipped config plain `manim` renders without BACKPROP_SOURCE
    trace_kind: str  # the kind of trace it draws (engine.config.KINDS: its schema's kind)
    caption_y = CAPTION_Y
    equation_room = True  # False: nothing below the caption, which may take two lines
    sections_from_captions = False  # True: each new caption starts a step (see step())

    def setup(self):
        super().setup()
        self.caption = self.equation = None
        self.content_top = CONTENT_TOP
        self.equation_top, self.equation_height = EQUATION_Y + EQUATION_HEIGHT / 2, EQUATION_HEIGHT
        self.graph_part = "main"  # the trace's graph being shown, or its "alternative" (narration reads it)

    def construct(self):
        # A render names the scene its trace file; plain `manim` on this file may name a config, traced here
        # (and cached) by engine.source as a render would.
        source = scene_source(self.default_source)
        try:
            trace = read_trace(trace_path_for(source))
        except (TraceError, ConfigError, OSError) as e:  # plain `manim` prints no traceback for these either
            raise SystemExit(f"error: {e}") from None
        if trace["kind"] != self.trace_kind:
            raise SystemExit(f"error: {source} is a {trace['config']['scene']} config, which {type(self).__name__} "
                             f"cannot draw (it draws {self.trace_kind} traces); `render.py render {source}` picks "
                             "the right scene")
        self.story(trace)

    # --- the storyboard's pieces ----------------------------------------------------------------
    def show_title(self, trace: dict):
        config = trace["config"]
        lines = (config.get("expression") or "").strip().splitlines()
        text = config.get("title") or (lines[-1] if lines else style.caption(f"title_{config['scene']}"))
        self.title = title_mobject(text)
        self.title.move_to(TITLE_Y * UP)
        if self.title.height > TITLE_LINE:  # several lines: hang from the top, and the content moves down
            self.title.to_edge(UP, buff=0.2)
        self.content_top = min(CONTENT_TOP, self.title.get_bottom()[1] - 0.2)
        self.step(f"title: {text}", about={"kind": "title", "text": text})
        self.play(fade_in(self.title, shift=0.2 * DOWN), run_time=0.6)

    # --- helpers --------------------------------------------------------------------------------
    def set_caption(self, text: str | None):
        if self.sections_from_captions and text:  # a scene whose steps are its captions (the training scenes)
            self.step(text, about={"kind": "caption"})
        self._swap({"caption": self._caption_mob(text)})

    def set_equation(self, tex: str | None):
        self._swap({"equation": self._equation_mob(tex)})

    def set_caption_and_equation(self, text: str | None, tex: str | None):
        self._swap({"caption": self._caption_mob(text), "equation": self._equation_mob(tex)})

    def _caption_mob(self, text):
        if not text:
            return None
        mob = fitted_text(text, (26, 24, 22), 13.2, 1 if self.equation_room else 2, "caption", style.MUTED)
        return mob.move_to(self.caption_y * UP)

    def _roomier(self, full: str, compact: str) -> str:
        """The rule written out in full, unless it must shrink to fit and the compact form (each symbol under
        its matrix) is drawn larger."""
        if full == compact:
            return full
        scale = {tex: self._equation_mob(tex).fit for tex in (full, compact)}
        return full if scale[full] >= min(0.9, scale[compact]) else compact

    def _readable(self, tex: str) -> list[str]:
        """A formula, or its lines one page each when all together they would be drawn too small."""
        mob = self._equation_mob(tex)
        if mob.fit < 0.98:  # it was shrunk to fit
            parts = _lines(tex)
            if len(parts) > 1:
                return parts
        return [tex]

    def _equation_mob(self, tex):
        """The formula as large as the equation area allows: a copy of the one built for this formula and area.
        (A step's formulas are measured by _roomier and _readable before one is shown: built each time, every
        formula was turned from LaTeX's SVG into glyph paths three times.)"""
        if not tex:
            return None
        key = (tex, self.equation_height, self.equation_top)
        built = self.__dict__.setdefault("_equations", {})
        if key not in built:
            built[key] = self._build_equation(tex)
        return built[key].copy()

    def _build_equation(self, tex):
        def room(m) -> float:  # as large as the equation area allows, up to EQUATION_GROWTH
            return min(EQUATION_GROWTH, 13 / m.width, self.equation_height / m.height)

        mob = merge_glyphs(style.math(tex, font_size=EQUATION_SIZE, color=style.TEXT))
        scale = room(mob)
        if scale < EQUATION_GROWTH and _stacked(tex):  # side by side too wide: one above the other may read larger
            stacked = merge_glyphs(style.math(_stacked(tex), font_size=EQUATION_SIZE, color=style.TEXT))
            if room(stacked) > scale:
                mob, scale = stacked, room(stacked)
        if scale < EQUATION_GROWTH and _broken(tex):
            broken = merge_glyphs(style.math(_broken(tex), font_size=EQUATION_SIZE, color=style.TEXT))
            if room(broken) > 1.1 * scale:
                mob, scale = broken, room(broken)
        mob.audit_kind = "equation"
        mob.fit = min(1.0, scale)  # how much it was shrunk to fit the equation area (1: not at all)
        if self.equation_height > EQUATION_HEIGHT:  # a lifted graph: the equation takes the room below the caption
            return mob.scale(scale).move_to((self.equation_top + EQUATION_BOTTOM) / 2 * UP)
        return mob.scale(scale).move_to(EQUATION_Y * UP)

    def _swap(self, new_mobs: dict):
        """Fade the old caption/equation out and the new ones in, in one animation."""
        anims = self.ended_step_texts()
        for attr, new in new_mobs.items():
            old = getattr(self, attr, None)
            anims += ([fade_out(old)] if old is not None else []) + ([fade_in(new)] if new is not None else [])
            setattr(self, attr, new)
        if anims:
            self.play(*anims, run_time=0.3)

    def ended_step_texts(self) -> list:
        """Fade-outs for texts that belonged to a step that has ended (a panned graph's connectors)."""
        return []

    def mark_poster(self, later: float = 0.0):
        """The scene's most informative moment (the first one marked): the gallery's poster frame."""
        if getattr(self, "poster_time", None) is None:
            self.poster_time = self.renderer.time + later

    def below_title(self, mob, gap: float = 0.0):
        """Move ``mob`` down if it would reach into a title of several lines."""
        over = mob.get_top()[1] - (self.content_top - gap)
        return mob.shift(over * DOWN) if over > 0 else mob

    @staticmethod
    def fit_width(mob, width: float):
        return mob.scale(width / mob.width) if mob.width > width else mob


class GraphScene(TraceScene):
    """Draw graph; forward pass; backward pass, gate by gate; summarise."""

    default_source = "assets/configs/chain_rule.yaml"
    trace_kind = "graph"
    show_shapes = False
    step_time = 1.2

    def setup(self):
        super().setup()
        self.connectors: list = []  # off-page connectors shown this step (a panned graph's far inputs' names)
        self.connectors_step = -1  # the step they were made in

    def ended_step_texts(self) -> list:
        if not self.connectors or self.connectors_step == len(self.step_marks):
            return []
        going, self.connectors = self.connectors, []
        return [fade_out(t) for t in going]

    def story(self, trace: dict):
        g = GraphTrace.from_dict(trace)
        self.show_title(trace)
        graph = self.draw_graph(g)
        self.forward_pass(graph)
        self.backward_pass(graph)
        self.summarise(graph)

    # --- a graph's pieces -------------------------------------------------------------------------
    def draw_graph(self, g: GraphTrace) -> ComputationalGraph:
        bottom, top = GRAPH_BOTTOM, self.content_top  # from the title down to just above the caption
        # The whole circuit in the frame at every moment, as large as it fits (cs231n's examples, and graphs of
        # up to about 20 nodes that are not deeper than the sigmoid neuron's eight gates); a graph that would
        # be drawn too small to read is drawn at a readable size, wider than the frame, and panned.
        graph = ComputationalGraph(g, width=GRAPH_WIDTH, height=top - bottom, center=(top + bottom) / 2 * UP,
                                   show_shapes=self.show_shapes, pannable=True)
        self.hidden: dict[int, tuple] = {}  # texts out of view while the graph is panned: id -> (parent, mob)
        self._lift(graph, top)
        if graph.pannable and graph.width > GRAPH_WIDTH:  # too wide for the frame at a readable size: start at its inputs
            graph.in_view = self._in_view
            dx = -PAN_EDGE - graph.get_left()[0]
            graph.shift(dx * RIGHT)
            graph.shift_anchors(dx)
            for parent, mob in graph.text_parts():
                if not self._part_in_view(parent, mob):
                    parent.remove(mob)
                    self.hidden[id(mob)] = (parent, mob)
        moves = []  # a caption shown before this graph goes where this graph's captions go
        if self.caption is not None and abs(self.caption.get_center()[1] - self.caption_y) > 1e-3:
            moves.append(self.caption.animate.move_to(self.caption_y * UP))
        self.play(fade_in(graph), *moves, run_time=0.8)
        return graph

    def _lift(self, graph: ComputationalGraph, top: float):
        """A graph lower than its band (a chain, laid out to the frame's width) moves up under the title, and
        the caption and the equation area follow it: the room it leaves goes to the equations, which are
        then drawn larger (a layer's matrices, a sum of five terms) instead of the frame staying empty."""
        self.caption_y = type(self).caption_y  # a scene's second graph starts from the defaults again
        self.equation_top, self.equation_height = EQUATION_Y + EQUATION_HEIGHT / 2, EQUATION_HEIGHT
        if not self.equation_room:
            return
        middle = (top + GRAPH_BOTTOM) / 2
        upper = max(graph.get_top()[1], middle + graph.drawn_height() / 2)
        lower = min(graph.get_bottom()[1], middle - graph.drawn_height() / 2)
        lift = ((top - 0.1) - upper) / 2  # half way up: the frame stays balanced when the equation is short
        if lift < 0.15:
            return
        graph.shift(lift * UP)
        graph.shift_anchors(0.0, lift)
        self.caption_y = max(CAPTION_Y, lower + lift - 0.45)  # under the graph's lowest label
        self.equation_top = self.caption_y - 0.32
        self.equation_height = max(EQUATION_HEIGHT, self.equation_top - EQUATION_BOTTOM)

    # --- a graph wider than the frame: the view follows the step ---------------------------------------
    @staticmethod
    def _in_view(mob, dx: float = 0.0) -> bool:
        return -VIEW_EDGE <= mob.get_left()[0] + dx and mob.get_right()[0] + dx <= VIEW_EDGE

    def _part_in_view(self, parent, mob, dx: float = 0.0) -> bool:
        """A gate's symbol and name are in view with its circle, never without it (a lone − at the frame's edge
        reads as a stray mark); a name or label on its own."""
        circle = getattr(parent, "gate_circle", None)
        return self._in_view(circle if circle is not None else mob, dx)

    def focus(self, graph: ComputationalGraph, xs: list[float], going=()):
        """Pan so that ``xs`` (a node and its labels' places) are in view; a text or gate circle that would be
        cut by the frame's edge fades out first and one that comes fully into view fades in after, so no
        paused frame shows a cut label or gate. ``going``: texts to fade out before the pan in any case."""
        if graph.in_view is None or not xs:  # the whole graph is in the frame
            return
        for lab in graph.offstage:  # made while out of view: they come in with the others below
            self.hidden[id(lab)] = (None, lab)
        graph.offstage.clear()
        lo, hi = min(xs), max(xs)
        dx = 0.0
        if hi > PAN_EDGE - 0.3:
            dx = PAN_EDGE - 0.3 - hi
        if lo + dx < -PAN_EDGE + 0.3:
            dx = -PAN_EDGE + 0.3 - lo
        left, right = graph.extent()
        dx = min(max(dx, PAN_EDGE - right), -PAN_EDGE - left)  # never past an end
        if abs(dx) < 1e-3:
            if going:
                self.play(*(fade_out(m) for m in going), run_time=0.25)
            return
        shown_labels = [lab for lab in graph.labels() if id(lab) not in self.hidden]
        leaving = [(parent, m) for parent, m in graph.text_parts() if id(m) not in self.hidden
                   and not self._part_in_view(parent, m, dx)] + [(None, lab) for lab in shown_labels if not self._in_view(lab, dx)]
        if leaving or going:
            self.play(*(fade_out(m) for _, m in leaving), *(fade_out(m) for m in going), run_time=0.25)
            for parent, m in leaving:
                if parent is not None:
                    parent.remove(m)
                self.hidden[id(m)] = (parent, m)
        moving = [graph] + [lab for lab in graph.labels() if id(lab) not in self.hidden]
        self.play(Pan(*moving, shift=dx * RIGHT), run_time=0.6)
        graph.shift_anchors(dx)
        for parent, m in self.hidden.values():  # out of the scene: moved along without drawing
            m.shift(dx * RIGHT)
        coming = [(parent, m) for parent, m in self.hidden.values() if self._part_in_view(parent, m)]
        if coming:
            for parent, m in coming:
                del self.hidden[id(m)]
                if parent is not None:
                    parent.add(m)
            self.play(*(fade_in(m) for _, m in coming), run_time=0.25)

    def focus_node(self, graph: ComputationalGraph, node_id: str, keys, about=()):
        """Bring a node into view, then the labels of ``keys`` (its edges this step) and the nodes ``about``
        (the gate's inputs) as far as they fit with it, the nearest first: the gate itself is never pushed
        out by a far label or input (a long wire from the graph's first column). An input of ``about`` left
        out of view is named where its wire enters the view (connectors)."""
        if graph.in_view is None:  # the whole graph is in the frame
            return

        def span(n: str) -> list[float]:
            mob = graph.node_mobject(n)
            return [mob.get_left()[0], mob.get_right()[0]]

        xs = span(node_id)
        middle = (min(xs) + max(xs)) / 2
        labels = sorted(([graph.anchor_x(k) - 0.45, graph.anchor_x(k) + 0.45] for k in keys),
                        key=lambda x: abs(x[0] + 0.45 - middle))
        inputs = sorted(dict.fromkeys(n for n in about if n != node_id),
                        key=lambda n: abs(graph.node_mobject(n).get_center()[0] - middle))
        for more in [*labels, *(span(n) for n in inputs)]:
            wider = xs + more
            if max(wider) - min(wider) <= 2 * (PAN_EDGE - 0.3):
                xs = wider
        going, self.connectors = [tag for tag in self.connectors], []
        self.focus(graph, xs, going)
        tags = [tag for n in inputs if (tag := self._connector(graph, n, node_id)) is not None]
        if tags:
            self.connectors, self.connectors_step = tags, len(self.step_marks)
            self.play(*(fade_in(t) for t in tags), run_time=0.25)

    def _connector(self, graph: ComputationalGraph, src: str, gate: str):
        """An off-page connector: ``src``'s name, as the graph writes it, where its wire to ``gate`` enters the
        view, beside the wire and clear of every text and edge in view; None if its name is in view (or it
        has none)."""
        name = graph.leaf_mobs.get(src) or graph.name_tags.get(src)
        if name is None or id(name) not in self.hidden:
            return None
        key = next(k for k in graph.edges if k[0] == src and k[1] == gate)
        tag = name.copy()
        tag.connector_of = (id(graph), src)  # the screen audit counts it as src's name while it is on the wire
        wire = graph.curve_points(key, samples=48)
        side = -1 if graph.node_mobject(src).get_center()[0] < 0 else 1
        obstacles = self._texts_in_view(graph)
        pad = CONNECTOR_PAD * graph.unit
        for inward in np.arange(0.05, 3.0, 0.05):
            x0 = side * VIEW_EDGE - side * inward - (tag.width if side > 0 else 0)  # the tag's left
            under = wire[(wire[:, 0] >= x0 - 0.02) & (wire[:, 0] <= x0 + tag.width + 0.02)]
            if not len(under):
                continue
            for above in (True, False):
                y = under[:, 1].max() + pad + tag.height / 2 if above else under[:, 1].min() - pad - tag.height / 2
                tag.move_to([x0 + tag.width / 2, y, 0])
                if self._clear(tag, graph, obstacles):
                    return tag
        return None

    def _texts_in_view(self, graph: ComputationalGraph) -> list:
        """The texts on screen a connector must keep clear of: the graph's, the title, caption and equation."""
        texts = [m for _, m in graph.text_parts() if id(m) not in self.hidden]
        texts += [lab for lab in graph.labels() if id(lab) not in self.hidden]
        return texts + [m for m in (getattr(self, "title", None), self.caption, self.equation) if m is not None]

    @staticmethod
    def _clear(tag, graph: ComputationalGraph, obstacles) -> bool:
        """Inside the view, overlapping no text and crossed by no edge (as the screen audit tests both)."""
        (x0, y0), (x1, y1) = tag.get_corner(DL)[:2], tag.get_corner(UR)[:2]
        if x0 < -VIEW_EDGE or x1 > VIEW_EDGE or y0 < GRAPH_BOTTOM - 0.3 or y1 > TITLE_Y - 0.45:
            return False
        gap = 2 / 60  # scene units: 2 px at 854x480
        for m in obstacles:
            (a0, b0), (a1, b1) = m.get_corner(DL)[:2], m.get_corner(UR)[:2]
            if x0 < a1 + gap and a0 < x1 + gap and y0 < b1 + gap and b0 < y1 + gap:
                return False
        m = 1.5 / 60  # inside the audit's 2 px
        for edge in graph.edges.values():  # each wire and its arrow tip
            pts = np.concatenate([bezier_points(part.points, 48) for part in edge.family_members_with_points()])
            if np.any((pts[:, 0] > x0 + m) & (pts[:, 0] < x1 - m) & (pts[:, 1] > y0 + m) & (pts[:, 1] < y1 - m)):
                return False
        return True

    def clear_graph(self, graph: ComputationalGraph):
        self.play(fade_out(graph, *graph.labels(), *self.connectors), run_time=0.5)
        self.connectors = []

    @staticmethod
    def forward_formula(graph: ComputationalGraph, node_id: str) -> str | None:
        """A forward step's formula: a matrix's entries (the edge shows only its shape), or None."""
        value = graph.notation.value(node_id)
        if graph.is_chip(value) and too_large(value):  # too large to read whole: a block of it
            return magnified_line(graph.notation.tex(node_id), value, style.FORWARD, signed=False)
        if graph.is_chip(value):  # the edge shows the shape; its entries, readable, go in the equation area
            return (rf"{graph.notation.tex(node_id)} = " + style.colored(style.latex_array(value), style.FORWARD)
                    + rf"\;\; ({style.latex_shape(value)})")
        return None

    @staticmethod
    def seed_formula(graph: ComputationalGraph) -> str:
        """The backward pass's start: the output's gradient with respect to itself is 1."""
        return f"{graph.notation.d(graph.trace.output)} = " + style.colored("1", style.GRADIENT)

    def expect_formulas(self, graph: ComputationalGraph):
        """Every formula the graph's passes and summary may show, announced before the first is built: a render
        typesets those it has not yet in one LaTeX run (style.expect_math), not one run each."""
        n = graph.notation
        texs = [self.forward_formula(graph, node_id) for node_id in graph.trace.forward]
        texs.append(self.seed_formula(graph))
        for step in graph.trace.backward:
            full, compact = step_pages(graph, step)
            texs += full + compact + [branch_sum(graph, step)]
        texs += summary_pages(n)
        style.expect_math([form for tex in texs if tex for form in equation_forms(tex)],
                          font_size=EQUATION_SIZE, color=style.TEXT)

    def forward_pass(self, graph: ComputationalGraph):
        self.expect_formulas(graph)
        shown = captioned = False
        for node_id in graph.trace.forward:
            if not graph.out_edges(node_id):
                continue
            value = graph.notation.value(node_id)
            self.step(f"forward: {graph.notation.names[node_id]} = {plain_number(value, gradient=False)}",
                      about={"kind": "forward", "node": node_id, "graph": self.graph_part})
            if not captioned:  # in the first forward step: the step before ends on its own caption
                self.set_caption(style.caption("forward"))
                captioned = True
            self.focus_node(graph, node_id, graph.out_edges(node_id), graph.trace.nodes[node_id].inputs)
            tex = self.forward_formula(graph, node_id)
            if tex:
                self.set_equation(tex)
                shown = True
            elif shown:
                self.set_equation(None)
                shown = False
            self.play(graph.forward_animation(node_id, run_time=0.5))

    def backward_pass(self, graph: ComputationalGraph):
        out = graph.notation.names[graph.trace.output]
        self.step(f"backward: ∂{out}/∂{out} = 1", about={"kind": "seed", "graph": self.graph_part})
        # the step's formula replaces the last forward step's matrix (a step keeps its formula to its end)
        self.set_caption_and_equation(style.caption("backward"), self.seed_formula(graph))
        self.focus_node(graph, graph.trace.output, graph.out_edges(graph.trace.output))
        self.play(graph.seed_animation(), run_time=0.5)
        for index, step in enumerate(graph.trace.backward):
            node = graph.trace.nodes[step.node]
            self.step(self.step_name(graph, step), about={"kind": "backward", "index": index, "graph": self.graph_part})
            self.focus_node(graph, step.node, [(src, step.node, slot) for slot, src in enumerate(node.inputs)],
                            node.inputs)
            self.explain_step(graph, step)
            self.play(graph.backward_animation(step, run_time=self.step_time))
            self.explain_sums(graph, step)
        self.mark_poster()  # every value and gradient on the graph, and the last step's formula
        # the formula stays to the step's end (a slide's page is its last frame): the next step replaces it

    def explain_step(self, graph: ComputationalGraph, step: Step):
        """Caption the gate's pattern and write its chain-rule equation with the trace's numbers (a branch's
        sum follows on a page of its own, explain_sums: the gate's caption stays with the gate's formulas)."""
        note = self.step_note(graph, step)
        full, compact = step_pages(graph, step)
        formulas = [part for tex in map(self._roomier, full, compact) for part in self._readable(tex)] or [None]
        self.set_caption_and_equation(note or style.caption("backward"), formulas[0])
        for tex in formulas[1:]:  # a matrix per page: the one before it stays long enough to read
            self.wait(self.step_time)
            self.set_equation(tex)

    def explain_sums(self, graph: ComputationalGraph, step: Step):
        """After a step's gradients flowed: an input whose last share arrived gets its sum, as a branch."""
        tex = branch_sum(graph, step)
        if tex:
            self.set_caption_and_equation(style.caption("branch"), tex)
            self.wait(self.step_time)

    def step_name(self, graph: ComputationalGraph, step: Step) -> str:
        """What a backward step shows, as a section's (and a slide's) name: "backward: × gate q1, x gets -4"."""
        n = graph.notation
        node = graph.trace.nodes[step.node]
        sends = [f"{n.names[src]} gets {plain_number(n.downstream(step, slot), gradient=True)}"
                 for slot, src in enumerate(node.inputs) if step.downstream[slot] is not None]
        return f"backward: {node.symbol} gate {n.names[step.node]}" + (", " + ", ".join(sends) if sends else "")

    def step_note(self, graph: ComputationalGraph, step: Step) -> str | None:
        op = graph.trace.nodes[step.node].op
        if op == "addmm" and not bias_summed(step):  # one row: no sum to say
            op = "addmm_one"
        return style.CAPTIONS["en"].get(op) and style.caption(op)

    def summarise(self, graph: ComputationalGraph):
        self.step("summary: " + ", ".join(f"∂{graph.notation.names[graph.trace.output]}/∂{n.label} = "
                                          f"{plain_number(graph.notation.grad(n.id), gradient=True)}" for n in graph.trace.inputs),
                  about={"kind": "summary", "graph": self.graph_part})
        self.set_caption(style.caption("summary"))
        formulas = summary_pages(graph.notation)
        for tex in formulas:
            self.set_equation(tex)
            self.wait(1.5 if len(formulas) == 1 else 1.2)


class ComputationalGraphScene(GraphScene):
    """Any graph config: the chain rule gate by gate."""


class GatePatterns(GraphScene):
    """add distributes, mul swaps, max routes, and a branch sums."""

    default_source = "assets/configs/gates.yaml"

    def summarise(self, graph):
        branched = [n for n in graph.trace.inputs if len(graph.out_edges(n.id)) > 1]
        if branched:
            self.step("a branch sums: " + ", ".join(n.label for n in branched) + " collect every path's share",
                      about={"kind": "branch", "nodes": [n.id for n in branched], "graph": self.graph_part})
            self.set_caption(style.caption("branch"))
            self.set_equation(branch_sum_tex(graph.notation, branched))
            self.wait(1.5)
        super().summarise(graph)


class VectorsAndJacobians(GraphScene):
    """Matrices on the edges; each gradient has its variable's shape."""

    default_source = "assets/configs/vectors.yaml"
    show_shapes = True


class LayersAsNodes(GraphScene):
    """ReLU's mask, Sigmoid's y(1 - y), Softmax-with-Loss's (y - t) / batch."""

    default_source = "assets/configs/layers.yaml"
    show_shapes = True
    step_time = 1.0


class SigmoidGate(GraphScene):
    """The sigmoid's chain of gates, then one sigmoid gate: the same gradients by both routes."""

    default_source = "assets/configs/sigmoid_gate.yaml"
    step_time = 0.7

    def story(self, trace: dict):
        long = GraphTrace.from_dict(trace)
        short = long.alternative(trace)
        self.show_title(trace)
        graph = self.draw_graph(long)
        self.forward_pass(graph)
        self.backward_pass(graph)
        self.step("the same function with one sigmoid gate", about={"kind": "alternative"})  # before the graph goes: a step ends on its graph
        self.clear_graph(graph)
        self.set_caption_and_equation(style.caption("alternative"), None)
        self.graph_part = "alternative"
        graph = self.draw_graph(short)
        self.forward_pass(graph)
        self.backward_pass(graph)
        self.step("both routes give the same gradients", about={"kind": "routes"})
        self.clear_graph(graph)
        self.compare_routes(long, short)

    def compare_routes(self, long: GraphTrace, short: GraphTrace):
        names = [n.label for n in long.inputs]
        grads_short = {n.label: n.grad for n in short.inputs}
        rows = [[style.fmt_grad(float(n.grad)) for n in long.inputs],
                [style.fmt_grad(float(grads_short[k])) for k in names]]
        style.expect_tex(style.latex_name(k) for k in names)  # the columns' names, in one LaTeX run
        table = Table(rows, col_labels=[MathTex(style.latex_name(k), color=style.TEXT) for k in names],
                      row_labels=[Text("−, exp, +1, 1/x", font_size=30, font=style.FONTS["en"], color=style.TEXT),
                                  Text("σ", font_size=34, font=style.FONTS["en"], color=style.TEXT)],
                      element_to_mobject_config={"font_size": 30, "color": style.GRADIENT, "font": style.FONTS["en"]},
                      include_outer_lines=True, line_config={"stroke_color": style.MUTED}, h_buff=0.55)
        # narrow cells (h_buff): five inputs' columns and the routes' names fit the width at a size read from
        # the back of a room (10 px and more at 854x480)
        self.fit_width(table, 12.5).move_to(0.8 * UP)
        self.set_caption_and_equation(style.caption("same"), None)
        self.play(fade_in(table), run_time=0.8)
        self.wait(1.5)


class GradientCheck(GraphScene):
    """Analytic gradients against central differences, with their relative error."""

    default_source = "assets/configs/gradcheck.yaml"
    tolerance = 1e-6

    def story(self, trace: dict):
        g = GraphTrace.from_dict(trace)
        self.show_title(trace)
        self.set_caption(style.caption("gradcheck"))
        h = trace["config"].get("h")
        self.set_equation(rf"\frac{{f(x+h)-f(x-h)}}{{2h}},\quad h = {style.latex_number(h)}")
        table = self.check_table(g)
        self.step("gradient check: central differences", about={"kind": "gradcheck"})
        self.play(fade_in(table.get_col_labels()), fade_in(table.get_horizontal_lines()),
                  fade_in(table.get_vertical_lines()), run_time=0.6)
        for n, row in zip(g.inputs, table.get_rows()[1:]):
            error = "not checked" if n.relative_error is None else f"relative error {n.relative_error:.1e}"
            self.step(f"gradient check: {n.label}, {error}", about={"kind": "check", "node": n.id})
            self.play(fade_in(row, shift=0.1 * UP), run_time=0.6)
        self.mark_poster()
        self.wait(1.5)

    @classmethod
    def passes(cls, n) -> bool:
        """The table's verdict on one input (its narration says the same)."""
        kinks_ok = all(k["subgradient"] for k in n.kinks)
        # what fails is an error beyond the numerical estimate's own (engine.gradcheck)
        verdict_error = n.relative_error if n.excess_error is None else n.excess_error
        return kinks_ok and (n.relative_error is None or verdict_error <= cls.tolerance)

    def check_table(self, g: GraphTrace) -> Table:
        rows, colors = [], []
        for n in g.inputs:
            ok = self.passes(n)
            if n.relative_error is not None:
                verdict = style.fmt_value(n.relative_error)
            else:
                verdict = style.caption("kink") if n.kinks else "n/a"
            if np.ndim(n.grad) == 0:
                cells = [style.fmt_grad(float(n.grad)), style.fmt_grad(float(n.numeric_grad))]
            else:
                # a matrix does not fit a cell: its shape here, its largest relative error in the last column
                cells = [style.shape_text(g) + (" matrix" if np.ndim(g) == 2 else "") for g in (n.grad, n.numeric_grad)]
            checked = n.relative_error is not None or n.kinks
            rows.append([n.label, *cells, verdict + (("  ✓" if ok else "  ✗") if checked else "")])
            colors.append((style.GOOD if ok else style.BAD) if checked else style.MUTED)
        labels = [style.once(Text, style.caption(k), font=style.caption_font(), font_size=26, color=style.MUTED)
                  for k in ("input", "analytic", "numeric", "relerr")]
        table = Table(rows, col_labels=labels, include_outer_lines=True,
                      element_to_mobject_config={"font_size": 28, "font": style.FONTS["en"]},
                      line_config={"stroke_color": style.MUTED}, v_buff=0.45, h_buff=0.8)
        for r, color in enumerate(colors, start=2):
            table.get_entries((r, 2)).set_color(style.GRADIENT)
            table.get_entries((r, 3)).set_color(style.GRADIENT)
            table.get_entries((r, 4)).set_color(color)
        table.scale(min(1.0, 12.5 / table.width, 4.0 / table.height)).move_to(GRAPH_CENTER_Y * UP)
        return self.below_title(table)


def step_pages(graph: ComputationalGraph, step: Step) -> tuple[list[str], list[str]]:
    """A backward step's chain-rule pages, written out in full and compact (each symbol under its matrix)."""
    return (chain_rule_pages(graph.notation, step, sums=False),
            chain_rule_pages(graph.notation, step, compact=True, sums=False))


def branch_sum(graph: ComputationalGraph, step: Step) -> str | None:
    """The sum of each input whose last share arrives in ``step`` (a branch), or None."""
    completed = [graph.trace.nodes[src] for src in graph.notation.completes(step)]
    return branch_sum_tex(graph.notation, completed) if completed else None


def _stacked(tex: str) -> str | None:
    """Formulas side by side (\\qquad) one above the other instead."""
    return tex.replace(r"\qquad", r"\\") if r"\qquad" in tex else None


def _broken(tex: str) -> str | None:
    """A long chain (a layer's product of matrices, then its result) with the result on a line of its own."""
    sides = style.split_top_level(tex, "=")
    if len(sides) > 2 and len(style.split_top_level(tex, r"\\")) == 1 and r"\qquad" not in tex:
        return "=".join(sides[:-1]) + r"\\ =" + sides[-1]
    return None


def _lines(tex: str) -> list[str]:
    """A formula's lines and side-by-side parts, each of which may be shown on a page of its own."""
    return [p.strip() for row in style.split_top_level(tex, r"\\") for p in style.split_top_level(row, r"\qquad")]


def equation_forms(tex: str) -> list[str]:
    """Every formula the equation area may draw for ``tex``: as written, stacked, broken, or a line at a time."""
    forms = [tex, _stacked(tex), _broken(tex)]
    parts = _lines(tex)
    if len(parts) > 1:
        forms += [form for part in parts for form in (part, _stacked(part), _broken(part))]
    return [form for form in forms if form]


def plain_number(value, gradient: bool) -> str:
    """A value as plain text for a step's name: a signed number, a short vector's entries, or a shape."""
    if np.ndim(value) == 1 and np.size(value) <= 4:
        fmt = style.fmt_grad if gradient else style.fmt_value
        return "[" + ", ".join(fmt(float(v)) for v in value) + "]"
    if np.ndim(value):
        return style.shape_text(value)
    return style.fmt_grad(float(value)) if gradient else style.fmt_value(float(value))
