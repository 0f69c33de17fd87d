"""manim_patches draws and encodes what Manim itself would: the parsed-SVG cache gives Manim's glyphs (and
verifies what it reads back), the fast Cairo paths draw Manim's pixels, the buffered encoder and the
recycling renderer give Manim's frames, and the renderers that skip drawing build the scene Manim builds."""
import io
from pathlib import Path

import numpy as np
import pytest
from manim import DOWN, LEFT, RIGHT, UP, Axes, Circle, MathTex, Scene, Square, Text, tempconfig
from manim.mobject.svg.svg_mobject import SVGMobject

from manim_patches import svg_cache
from scenes.animations import Pulse, fade_in
from helpers import assert_same, snapshot


def pixels(*mobs):
    from manim import Camera
    cam = Camera(pixel_width=640, pixel_height=360)
    cam.capture_mobjects(list(mobs))
    return cam.pixel_array.astype(int)


@pytest.fixture
def cache_dir(tmp_path):
    before = svg_cache._state["dir"] if svg_cache._state["original"] is not None else None
    svg_cache.install(tmp_path / "svg")
    svg_cache._memory.clear()
    yield tmp_path / "svg"
    svg_cache.uninstall()
    svg_cache._memory.clear()
    if before is not None:  # the session's glyph cache (tests/conftest.py) back
        svg_cache.install(before)


def test_svg_cache_gives_the_same_glyphs_without_parsing(cache_dir, monkeypatch):
    fresh = Text("local × upstream = −0.197", font_size=30, color="#56B4E9")
    eq = MathTex(r"\frac{\partial f}{\partial x} = -0.197", color="#E69F00")
    # parts looked up by the SVG's group ids (made on demand from a cached entry), one coloured
    parts = MathTex("y", "=", r"\sigma(x)", tex_to_color_map={"y": "#009E73"})
    assert len(list(cache_dir.iterdir())) == 3
    svg_cache._memory.clear()  # as a new process would: only the disk cache is left

    def no_parsing(self):
        raise AssertionError("parsed although cached")

    monkeypatch.setattr(SVGMobject, "generate_mobject", no_parsing)
    again = Text("local × upstream = −0.197", font_size=30, color="#56B4E9")
    eq_again = MathTex(r"\frac{\partial f}{\partial x} = -0.197", color="#E69F00")
    parts_again = MathTex("y", "=", r"\sigma(x)", tex_to_color_map={"y": "#009E73"})
    assert_same(snapshot(fresh), snapshot(again))
    assert_same(snapshot(eq), snapshot(eq_again))
    assert_same(snapshot(parts), snapshot(parts_again))
    assert [len(p.submobjects) for p in parts_again.submobjects] == [len(p.submobjects) for p in parts.submobjects]
    again.shift(UP)  # a cached mobject is a new object, not shared with the first
    assert not np.array_equal(again.get_center(), fresh.get_center())


def test_a_first_build_is_built_from_its_new_entry_as_manims_own_parse_draws_it(cache_dir):
    """A miss is parsed, stored and then built from the stored entry, so a first build and a cached one are the
    same kind of mobject, and neither holds svgelements' parse objects (copying those cost a graph's
    labels half their build time)."""
    def make():
        return (Text("local × upstream = −0.197", font_size=30, color="#56B4E9"),
                MathTex("y", "=", r"\sigma(x)", tex_to_color_map={"y": "#009E73"}))

    svg_cache.uninstall()
    own = make()  # Manim's own parse
    svg_cache.install(cache_dir)
    first = make()  # a miss: parsed here, then built from its entry
    assert len(list(cache_dir.iterdir())) == 2
    hit = make()
    for a, b, c in zip(own, first, hit):
        assert_same(snapshot(a), snapshot(b))
        glyphs = b.family_members_with_points()
        assert glyphs and not any(hasattr(g, "path_obj") for g in glyphs)
        assert [type(g) for g in glyphs] == [type(g) for g in c.family_members_with_points()]
    assert [len(p.submobjects) for p in first[1].submobjects] == [len(p.submobjects) for p in own[1].submobjects]


class _Payload:
    """What a poisoned pickle would run on load: it leaves a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _truncate(f, blob, others):
    f.write_bytes(blob[: len(blob) // 2])


def _garbage(f, blob, others):
    f.write_bytes(b"not an npz" * 50)


def _flip(f, blob, others):
    k = len(blob) // 3  # inside the glyph data
    f.write_bytes(blob[:k] + bytes([blob[k] ^ 0xFF]) + blob[k + 1:])


def _swap(f, blob, others):
    f.write_bytes(others[0])  # another text's entry under this key


def _pickle_bomb(f, blob, others):
    buf = io.BytesIO()
    np.savez(buf, data=np.zeros(3), meta=np.array([_Payload(str(f.parent.parent / "pwned"))], dtype=object))
    f.write_bytes(buf.getvalue())


def _drop_attribute(f, blob, others):
    # an entry written whole and checksummed by the cache's own encoder, whose first glyph has no fill colour
    leaves, groups = svg_cache.build(svg_cache.decode(f.stem, blob))
    del leaves[0].fill_rgbas
    position = {id(leaf): i for i, leaf in enumerate(leaves)}
    members = {name: [position[id(m)] for m in vg.submobjects] for name, vg in groups.items()}
    f.write_bytes(svg_cache.encode(f.stem, leaves, members))


@pytest.mark.parametrize("damage", [_truncate, _garbage, _flip, _swap, _pickle_bomb, _drop_attribute])
def test_svg_cache_verifies_entries_and_never_unpickles(cache_dir, damage, capsys, monkeypatch):
    first = Text("zig-zag", font_size=24)
    other = Text("another", font_size=24)
    entries = {f: f.read_bytes() for f in cache_dir.iterdir()}
    assert len(entries) == 2
    for f, blob in entries.items():
        damage(f, blob, [entries[g] for g in entries if g != f])
    svg_cache._memory.clear()
    monkeypatch.setattr("infra.cache._warned", set())  # it says so once per process
    second = Text("zig-zag", font_size=24)
    third = Text("another", font_size=24)
    assert_same(snapshot(first), snapshot(second))
    assert_same(snapshot(other), snapshot(third))
    assert not (cache_dir.parent / "pwned").exists()
    assert "did not verify; removed and parsed again" in capsys.readouterr().err
    for f, blob in entries.items():  # each bad entry was replaced by a good one again
        assert svg_cache.decode(f.stem, f.read_bytes())



def test_fast_cairo_paths_draw_exactly_manims_pixels():
    from manim.camera.camera import Camera as CairoCamera

    from manim_patches import speedups
    from scenes.training_scenes import polyline

    ax = Axes(x_range=[0, 4, 1], y_range=[0, 2, 1], x_length=5, y_length=2.5).shift(DOWN)
    scene = (Text("∂f/∂x = -0.534", font_size=40).shift(2 * UP), Circle(fill_opacity=0.5).shift(3 * RIGHT),
             ax, polyline(ax, np.linspace(0, 4, 60), 1 + np.sin(np.linspace(0, 6, 60)), "#56B4E9"))
    drawn = []
    for patched in (False, True):
        speedups.install() if patched else speedups.uninstall()
        drawn.append(pixels(*scene))
    speedups.uninstall()
    assert CairoCamera.set_cairo_context_path is not speedups.set_cairo_context_path
    assert (drawn[0] > 0).any()
    np.testing.assert_array_equal(drawn[0], drawn[1])


@pytest.mark.parametrize("color", [None, "#56B4E9", "RED", "#11223380", "manim", ["#56B4E9", "#E69F00"]])
@pytest.mark.parametrize("opacity", [None, 0, 1, 0.35, np.float64(0.5), np.float32(0.25), True, [0.2, 0.9]])
@pytest.mark.parametrize("sheen", [0.0, 0.3])
def test_fast_colour_arrays_are_manims(color, opacity, sheen):
    from manim import ManimColor, VMobject

    from manim_patches import speedups

    color = ManimColor("#D55E00") if color == "manim" else color
    mob = VMobject(sheen_factor=sheen)
    want = speedups._ORIGINAL_RGBAS(mob, color, opacity)
    got = speedups.generate_rgbas_array(mob, color, opacity)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    speedups.install()
    try:  # and through set_fill and set_stroke, as scenes use it
        patched = VMobject(sheen_factor=sheen).set_fill(color, opacity).set_stroke(color, 2, opacity)
    finally:
        speedups.uninstall()
    plain = VMobject(sheen_factor=sheen).set_fill(color, opacity).set_stroke(color, 2, opacity)
    np.testing.assert_array_equal(patched.fill_rgbas, plain.fill_rgbas)
    np.testing.assert_array_equal(patched.stroke_rgbas, plain.stroke_rgbas)


def _same_structure(a, b, original, seen=None):
    """Whether copies a (ours) and b (Manim's) of ``original`` are alike: the same types, values and sharing
    among their own parts, and no array or list shared with the original."""
    import copy as copy_module

    from manim import ManimColor, Mobject
    seen = {} if seen is None else seen
    if id(a) in seen:  # the same part reached again: Manim's copy must reach its same part there too
        assert seen[id(a)] is b
        return
    seen[id(a)] = b
    assert type(a) is type(b)
    if isinstance(a, Mobject):
        assert a is not original and a.original_id == b.original_id
        assert a.__dict__.keys() == b.__dict__.keys()
        for k in a.__dict__.keys() - {"original_id"}:
            _same_structure(a.__dict__[k], b.__dict__[k], original.__dict__[k], seen)
    elif isinstance(a, np.ndarray):
        assert a is not original and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b) == len(original) and (isinstance(a, tuple) or a is not original)
        for x, y, z in zip(a, b, original):
            _same_structure(x, y, z, seen)
    elif isinstance(a, dict):
        assert list(a) == list(b) and a is not original
        for k in a:
            _same_structure(a[k], b[k], original[k], seen)
    elif isinstance(a, ManimColor):
        assert a == b
    else:
        assert a == b or copy_module.deepcopy(original) is not original


def test_fast_copies_are_manims_copies():
    from manim import VGroup

    from scenes.training_scenes import polyline

    ax = Axes(x_range=[0, 4, 1], y_range=[0, 2, 1], x_length=5, y_length=2.5)
    mobs = [Text("local × upstream = −0.197", font_size=30, color="#56B4E9"),
            MathTex("y", "=", r"\sigma(x)", tex_to_color_map={"y": "#009E73"}),
            VGroup(ax, polyline(ax, np.linspace(0, 4, 30), 1 + np.sin(np.linspace(0, 6, 30)), "#56B4E9"),
                   Circle(fill_opacity=0.5)).shift(LEFT)]
    mobs[0].add_updater(lambda m: m)
    mobs[2].submobjects[2].target = mobs[2].submobjects[0]  # a reference within the group
    for mob in mobs:
        ours = _fast_copy(mob)
        _same_structure(ours, mob.copy(), mob)
        assert ours.submobjects[0] is not mob.submobjects[0]
        ours.shift(UP)  # a copy moves alone
        assert not np.allclose(ours.get_center(), mob.get_center())
    copied = _fast_copy(mobs[2])
    assert copied.submobjects[2].target is copied.submobjects[0]  # shared parts stay shared, in the copy
    copied = _fast_copy(mobs[1])
    groups = copied.id_to_vgroup_dict  # a MathTex's groups hold the copy's own glyphs
    assert groups and all(m in copied.get_family() for g in groups.values() for m in g.submobjects)


@pytest.mark.parametrize("same", ["cairo", "CAIRO", "Cairo"])
def test_the_renderer_switches_as_manims_setter_switches_it_and_a_same_renderer_switches_nothing(same, monkeypatch):
    from manim import config
    from manim.constants import RendererType

    from manim_patches import speedups

    def bases():
        return [c.__name__ for c in Circle.__mro__ if c.__name__ in ("VMobject", "OpenGLVMobject")]

    manims = speedups._ORIGINAL_RENDERER
    switches = []
    monkeypatch.setattr(speedups, "_ORIGINAL_RENDERER",
                        property(manims.fget, lambda c, v: (switches.append(v), manims.fset(c, v))))
    speedups.install()
    try:
        assert config.renderer is RendererType.CAIRO
        for value in (same, RendererType.CAIRO):
            config.renderer = value
        assert switches == [] and bases() == ["VMobject"]
        config.renderer = "opengl"
        assert config.renderer is RendererType.OPENGL and bases() == ["OpenGLVMobject"]
        config.renderer = same
        assert config.renderer is RendererType.CAIRO and bases() == ["VMobject"]
        assert switches == ["opengl", same]
        with pytest.raises(ValueError):
            config.renderer = "vulkan"
    finally:
        manims.fset(config, "cairo")
        speedups.uninstall()


def test_a_label_manim_parsed_itself_is_copied_with_its_parsed_paths_shared_and_its_points_its_own(monkeypatch):
    if svg_cache._state["original"] is not None:  # Manim's own parse, as before the glyphs are cached
        monkeypatch.setattr(SVGMobject, "init_svg_mobject", svg_cache._state["original"])
    label = Text("x = 0.5", font_size=30)
    glyph = label[0]
    assert glyph.path_obj is not None
    ours = _fast_copy(label)
    _same_structure(ours, label.copy(), label)
    assert ours[0].path_obj is glyph.path_obj  # read once, when the glyph was made: shared, not copied
    ours.shift(UP)
    assert not np.allclose(ours[0].points, glyph.points)


def _fast_copy(mob):
    from manim_patches import speedups

    speedups.install()
    try:
        return mob.copy()
    finally:
        speedups.uninstall()


def test_a_formula_in_other_colours_is_typeset_once_and_is_the_svg_latex_writes(tmp_path, monkeypatch):
    from manim.mobject.text import tex_mobject
    from manim.utils import tex_file_writing

    from manim_patches import tex_colours
    from scenes import style

    dark = (r"\frac{\partial f}{\partial x} = \textcolor[HTML]{E69F00}{+3} \times \textcolor[HTML]{56b4e9}{-4}"
            r" = \textcolor[HTML]{E69F00}{-12}")
    light = dark.replace("E69F00", "AD5A00").replace("56b4e9", "0072B2")
    white = dark.replace("E69F00", "111111").replace("56b4e9", "FFFFFF")  # dvisvgm writes #ffffff as #fff
    black = dark.replace("56b4e9", "000000")  # the page's colour: no group, typeset as it is
    formulas = (dark, light, white, black)
    with tempconfig({"tex_dir": str(tmp_path / "direct")}):
        direct = [tex_file_writing.tex_to_svg_file(e, "align*", style.TEX_TEMPLATE).read_bytes() for e in formulas]
    runs = []
    compile_tex = tex_file_writing.compile_tex
    monkeypatch.setattr(tex_file_writing, "compile_tex", lambda *a, **k: runs.append(a) or compile_tex(*a, **k))
    installed = tex_colours._original is not None  # (the test session installs it, as renders do)
    tex_colours.install()
    try:
        with tempconfig({"tex_dir": str(tmp_path / "stand-ins")}):
            via = [tex_mobject.tex_to_svg_file(e, "align*", style.TEX_TEMPLATE).read_bytes() for e in formulas]
            again = tex_mobject.tex_to_svg_file(light, "align*", style.TEX_TEMPLATE).read_bytes()
    finally:
        tex_colours.uninstall()
        assert tex_mobject.tex_to_svg_file is tex_file_writing.tex_to_svg_file
        if installed:
            tex_colours.install()
    # the same SVG, its glyph definitions in any order: dvisvgm writes them in the order it loaded the fonts,
    # which its font cache, shared by the suite's workers, can change
    def drawn(svg):
        lines = svg.decode().splitlines()
        return [line for line in lines if not line.startswith("<path id=")], sorted(line for line in lines if line.startswith("<path id="))
    assert [drawn(s) for s in via] == [drawn(s) for s in direct] and drawn(again) == drawn(direct[1])
    assert len(runs) == 2  # three colourings, one LaTeX run; black its own


def test_buffered_encoder_writes_the_frames_manim_would(tmp_path):
    from fractions import Fraction

    import av
    from manim._config.video_encoder import VideoEncoderSpec
    from manim.scene.video_segment_encoder import VideoSegmentEncoder

    from manim_patches.speedups import BufferedSegmentEncoder

    # one x264 thread: then x264 itself is deterministic
    spec = VideoEncoderSpec("mp4", "libx264", "yuv420p", 96, 64, Fraction(15), (("crf", "23"), ("threads", "1")))
    rng = np.random.default_rng(0)
    frames = [(rng.integers(0, 256, (64, 96, 4), dtype=np.uint8), repeat) for repeat in (1, 3, 1, 2)]
    files = []
    for cls in (VideoSegmentEncoder, BufferedSegmentEncoder):
        files.append(tmp_path / f"{cls.__name__}.mp4")
        encoder = cls(target=files[-1], spec=spec)
        for pixels, repeat in frames:
            encoder.write_frame(pixels.copy(), repeat=repeat)
        encoder.finish()
    decoded = []
    for path in files:
        with av.open(str(path)) as f:
            decoded.append([(frame.pts, frame.to_ndarray(format="rgb24").astype(int)) for frame in f.decode(video=0)])
    assert len(decoded[1]) == 7  # every repeat is its own frame
    assert [pts for pts, _ in decoded[0]] == [pts for pts, _ in decoded[1]]
    # the same pictures: swscale's RGBA -> YUV rounding may differ by one step with the input buffer's
    # alignment (its SIMD and C paths), so the files are compared decoded, not byte for byte
    for (_, a), (_, b) in zip(*decoded):
        assert np.abs(a - b).max() <= 3 and np.abs(a - b).mean() < 0.1


def test_stored_cairo_paths_are_reused_only_for_the_same_points():
    from manim_patches import speedups

    text, dot = Text("∂L/∂w = 3.2e-7", font_size=40), Circle(fill_opacity=1).shift(3 * RIGHT)
    speedups.uninstall()
    manims = [pixels(text, dot)]
    dot.shift(DOWN)  # points changed in place: the stored path must not be used
    manims.append(pixels(text, dot))
    dot.shift(UP)
    try:
        speedups.install()
        first = pixels(text, dot)
        assert id(text.family_members_with_points()[0]) in speedups._PATHS
        again = pixels(text, dot)  # every path from the store
        dot.shift(DOWN)
        moved = pixels(text, dot)
    finally:
        speedups.uninstall()
    np.testing.assert_array_equal(manims[0], first)
    np.testing.assert_array_equal(manims[0], again)
    np.testing.assert_array_equal(manims[1], moved)
    assert not np.array_equal(manims[0], manims[1])


class _Busy(Scene):
    """Static and moving mobjects, a held frame, a transform, a pulse: every way Manim makes frames."""

    def construct(self):
        from manim import Create, Transform, Write

        label = Text("upstream × local", font_size=36).shift(2 * UP)
        box = Square(color="#E69F00")
        self.add(label)
        self.play(Create(box), run_time=0.5)
        self.wait(0.5)
        self.play(fade_in(Circle(color="#56B4E9").shift(2 * RIGHT)), Pulse(label, "#FFFFFF"), run_time=0.6)
        self.play(Transform(box, Circle(color="#009E73").shift(2 * LEFT)), run_time=0.5)
        self.play(Write(MathTex(r"\frac{\partial f}{\partial x}").shift(2 * DOWN)), run_time=0.4)
        self.wait(0.3)


def _recorded_render(tmp_path, renderer, monkeypatch, scene_cls=_Busy):
    """Render ``scene_cls`` at a small size; every frame the encoders were given, and the encoder count."""
    from manim_patches import speedups

    frames, encoders = [], []
    write, init = speedups.BufferedSegmentEncoder.write_frame, speedups.BufferedSegmentEncoder.__init__

    def recording_write(self, pixels, *, repeat=1):
        frames.extend([pixels.copy()] * repeat)
        write(self, pixels, repeat=repeat)

    def counting_init(self, **kwargs):
        encoders.append(kwargs["target"])
        init(self, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(speedups.BufferedSegmentEncoder, "write_frame", recording_write)
        patch.setattr(speedups.BufferedSegmentEncoder, "__init__", counting_init)
        speedups.install()
        try:
            with tempconfig({"media_dir": str(tmp_path), "pixel_width": 320, "pixel_height": 180, "frame_rate": 10,
                             "disable_caching": True, "progress_bar": "none", "verbosity": "ERROR",
                             "output_file": "clip"}):  # Manim default: one encoder job at a time
                scene = scene_cls(renderer=renderer())
                scene.render()
                movie = Path(scene.renderer.file_writer.movie_file_path)
        finally:
            speedups.uninstall()
    return frames, encoders, movie


@pytest.mark.slow
def test_recycling_renderer_and_one_stream_give_manims_frames(tmp_path, monkeypatch):
    import av
    from manim.renderer.cairo_renderer import CairoRenderer

    from manim_patches.speedups import RecyclingRenderer

    manims, manim_encoders, manim_movie = _recorded_render(tmp_path / "manim", CairoRenderer, monkeypatch)
    ours, our_encoders, movie = _recorded_render(tmp_path / "ours", RecyclingRenderer, monkeypatch)
    assert len(manim_encoders) == 6 and len(our_encoders) == 1  # one per animation, one per scene
    assert len(ours) == len(manims) > 20
    for i, (a, b) in enumerate(zip(manims, ours)):
        np.testing.assert_array_equal(a, b, err_msg=f"frame {i}")
    assert len({f.tobytes() for f in ours}) > 10  # the scene moves: equal frames are no accident
    for video in (manim_movie, movie):
        with av.open(str(video)) as f:
            assert sum(1 for _ in f.decode(video=0)) == len(ours)


class _Failing(Scene):
    def construct(self):
        self.play(fade_in(Square()), run_time=0.3)
        raise RuntimeError("scene bug")


def test_a_failing_scene_stops_its_encoder_threads(tmp_path, monkeypatch):
    import threading

    from manim_patches.speedups import RecyclingRenderer

    with pytest.raises(RuntimeError, match="scene bug"):
        _recorded_render(tmp_path, RecyclingRenderer, monkeypatch, _Failing)
    assert not [t for t in threading.enumerate() if t.name.startswith(("encode-", "partial-movie-encoder"))]


def _built_undrawn(tmp_path, renderer):
    """``_Busy`` built without drawing or writing a file, as the audit and the chunk plan build a scene."""
    with tempconfig({"media_dir": str(tmp_path), "pixel_width": 320, "pixel_height": 180, "frame_rate": 10,
                     "write_to_movie": False, "save_last_frame": False, "disable_caching": True,
                     "progress_bar": "none", "verbosity": "ERROR"}):
        built = renderer()
        scene = _Busy(renderer=built)
        scene.render()
    return scene, built


def test_the_undrawn_renderers_build_manims_scene_and_note_every_animation(tmp_path):
    from manim.renderer.cairo_renderer import CairoRenderer

    from manim_patches.undrawn import CostingRenderer, SnapshotRenderer

    class Noting(SnapshotRenderer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.noted = []

        def before_play(self, scene, args):
            self.noted.append(("before", round(self.time, 3)))

        def after_play(self, scene, args, start):
            self.noted.append((round(start, 3), round(self.time, 3)))

    manims, _ = _built_undrawn(tmp_path / "manim", lambda: CairoRenderer(skip_animations=True))
    noted, noting = _built_undrawn(tmp_path / "noted", Noting)
    costed, costing = _built_undrawn(tmp_path / "costed", lambda: CostingRenderer(fps=10))
    for scene in (noted, costed):  # the scene Manim builds: the same mobjects, where Manim puts them
        assert [type(m) for m in scene.mobjects] == [type(m) for m in manims.mobjects]
        for ours, theirs in zip(scene.mobjects, manims.mobjects):
            np.testing.assert_allclose(ours.get_center(), theirs.get_center())
    # _Busy's six plays (four animations, two waits), each noted before and after, with its start and end
    lengths = [0.5, 0.5, 0.6, 0.5, 0.4, 0.3]
    ends = np.cumsum(lengths)
    starts = [0.0, *ends[:-1]]
    assert noting.noted == [note for start, end in zip(starts, ends)
                            for note in (("before", round(start, 3)), (round(start, 3), round(end, 3)))]
    assert costing.frames == [round(length * 10) for length in lengths]
    assert len(costing.costs) == 6 and all(cost > frames for cost, frames in zip(costing.costs, costing.frames))


@pytest.mark.parametrize("damage", ["kind True", "kind 1.0", "a float shape", "a negative shape", "a list inside",
                                    "too large", "no kind", "kind out of range"])
def test_a_damaged_glyph_index_is_refused_even_after_a_valid_glyph_of_the_same_layout(damage):
    # the index is not under the data's checksum: each glyph's kind and shapes are checked (once per layout,
    # by value and by type, so a valid glyph before it does not vouch for an equal-looking bad one)
    from manim import Dot
    leaves = [Dot(), Dot(), Dot()]
    data, meta = svg_cache._pack("k", leaves, {"g": [0, 1, 2]})
    assert len(svg_cache._Plan(data, meta).leaves) == 3
    first = meta["leaves"][0]
    bad = {"kind True": [True, *first[1:]] if first[0] == 1 else [False, *first[1:]],
           "kind 1.0": [float(first[0]), *first[1:]],
           "a float shape": [first[0], float(first[1]), *first[2:]],
           "a negative shape": [first[0], -first[1], *first[2:]],
           "a list inside": [first[0], [first[1]], *first[2:]],
           "too large": [first[0], first[1] * 1000, *first[2:]],
           "no kind": [],
           "kind out of range": [len(meta["kinds"]), *first[1:]]}[damage]
    meta["leaves"][1] = bad
    with pytest.raises((ValueError, TypeError)):
        svg_cache._Plan(data, meta)


@pytest.mark.parametrize("hex6,written", [("AABBCC", "#abc"), ("FFFFFF", "#fff"), ("112233", "#123"),
                                          ("E69F00", "#e69f00"), ("AABBCD", "#aabbcd"), ("121212", "#121212")])
def test_a_colour_is_matched_as_dvisvgm_writes_it_lower_case_and_short_where_it_can_be(hex6, written):
    from manim_patches.tex_colours import _as_dvisvgm_writes
    assert _as_dvisvgm_writes(hex6) == written


def _coloured(*colours):
    return " + ".join(rf"\textcolor[HTML]{{{c}}}{{{k}}}" for k, c in enumerate(colours))


@pytest.mark.parametrize("expression,stand_ins", [
    ("x + 1", None),  # no colour: as it is
    (_coloured("E69F00"), {"E69F00": "0A0B01"}),
    (_coloured("e69f00", "E69F00", "56B4E9"), {"E69F00": "0A0B01", "56B4E9": "0A0B02"}),  # in order, any case
    (_coloured("E69F00", "000000"), None),  # black: LaTeX writes no group for it
    (_coloured("E69F00", "0A0B02"), None),  # a stand-in already in use
    (_coloured(*[f"1234{i:02X}" for i in range(255)]), {f"1234{i:02X}": f"0A0B{i + 1:02X}" for i in range(255)}),
    (_coloured(*[f"12{i:04X}" for i in range(256)]), None),  # more colours than stand-ins
])
def test_a_formula_s_colours_each_get_a_stand_in_unless_it_must_be_typeset_as_it_is(expression, stand_ins):
    from manim_patches.tex_colours import _stand_ins, typeset_form
    assert _stand_ins(expression) == stand_ins
    if stand_ins is None:
        assert typeset_form(expression) == expression
    else:
        form = typeset_form(expression)
        assert not any(c in form.upper() for c in stand_ins) and form.count(r"\textcolor[HTML]{0A0B") == \
            expression.count(r"\textcolor")


@pytest.mark.parametrize("case", ["verified", "through a link", "unverified", "already there", "not seeded", "missing"])
def test_a_private_cache_file_is_seeded_only_from_a_verified_shared_entry_and_never_over_its_own(tmp_path, case):
    from infra.cache import record_path, write_entry
    from manim_patches.cache_seed import seed, seeding
    private, shared, other = tmp_path / "private", tmp_path / "shared", tmp_path / "other"
    for folder in (private, shared, other):
        folder.mkdir()
    name = "abc123.svg"
    if case != "missing":
        write_entry(shared / name, b"<svg>shared</svg>", name)
    if case == "unverified":
        (shared / name).write_bytes(b"<svg>changed</svg>")  # no longer what its record says
    if case == "already there":
        (private / name).write_bytes(b"<svg>own</svg>")
    target = (other if case == "not seeded" else private) / name
    if case == "through a link":  # Manim's folder named another way is the same folder
        (tmp_path / "link").symlink_to(private)
        target = tmp_path / "link" / name
    with seeding({private: shared}):
        seed(target)
    expected = {"verified": b"<svg>shared</svg>", "through a link": b"<svg>shared</svg>",
                "already there": b"<svg>own</svg>"}.get(case)
    assert (target.read_bytes() if target.exists() else None) == expected
    if case == "verified":
        assert not target.is_symlink()  # a copy: Manim writing it again must not change the shared entry
        target.write_bytes(b"rewritten")
        assert (shared / name).read_bytes() == b"<svg>shared</svg>"
    if case == "unverified":
        assert not (shared / name).exists() and not record_path(shared / name).exists()  # removed, made again


def test_seeding_ends_with_its_block_and_leaves_other_renders_seeding():
    from manim_patches import cache_seed
    before = dict(cache_seed._sources)
    with cache_seed.seeding({"/tmp/a-private": "/tmp/a-shared"}):
        assert cache_seed._sources[Path("/tmp/a-private").resolve()] == Path("/tmp/a-shared")
        assert cache_seed._originals  # Manim's lookups patched
    assert cache_seed._sources == before and bool(cache_seed._originals) == bool(before)


class _SvgLike:
    """What the glyph cache's key reads of an SVGMobject."""

    def __init__(self, path, default=None, config=None):
        self.svg_default = default or {"color": None, "fill_opacity": 1.0}
        self.path_string_config = config or {"should_subdivide_sharp_curves": False}
        self._path = path

    def get_file_path(self):
        return self._path


class _OtherSvgLike(_SvgLike):
    pass


@pytest.mark.parametrize("change", ["nothing", "file", "class", "default style", "path settings"])
def test_a_glyph_entry_is_keyed_by_everything_its_glyphs_depend_on(tmp_path, change):
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    a.write_text('<svg><path d="M0 0L1 1"/></svg>')
    b.write_text('<svg><path d="M0 0L1 2"/></svg>')
    first = _SvgLike(a)
    second = {"nothing": _SvgLike(a), "file": _SvgLike(b), "class": _OtherSvgLike(a),
              "default style": _SvgLike(a, default={"color": "#FFFFFF", "fill_opacity": 1.0}),
              "path settings": _SvgLike(a, config={"should_subdivide_sharp_curves": True})}[change]
    key = svg_cache._key(first)
    assert len(key) == 32 and all(c in "0123456789abcdef" for c in key)
    assert (svg_cache._key(second) == key) == (change == "nothing")
    copy = tmp_path / "copy.svg"
    copy.write_bytes(a.read_bytes())
    assert svg_cache._key(_SvgLike(copy)) == key  # the content, not the file's name
