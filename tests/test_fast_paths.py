"""The scenes' fast paths must not change what is drawn: in-place animations, merged glyphs, shade bands.
(What patches Manim itself, the SVG cache and the speed-ups, is tested in tests/test_manim_patches.py.)"""
import numpy as np
import pytest
from manim import RIGHT, UP, Axes, Circle, Scene, Square, Text, VGroup, tempconfig

from scenes.animations import Pulse, fade_in, fade_out
from scenes.training_scenes import SHADE_LEVELS, shade_bands
from helpers import assert_same, snapshot


def sample():
    return VGroup(Square(fill_opacity=0.7, color="#E69F00"), Circle(stroke_opacity=0.5).shift(RIGHT))


def test_fade_in_starts_invisible_slides_in_and_ends_exactly_as_built():
    mob = sample()
    before = snapshot(mob)
    anim = fade_in(mob, shift=UP)
    anim.begin()
    assert all(np.all(m.fill_rgbas[:, 3] == 0) and np.all(m.stroke_rgbas[:, 3] == 0)
               for m in mob.family_members_with_points())
    np.testing.assert_allclose(mob.get_center(), np.array([0.5, 0, 0]) - UP)  # arrives from -shift
    anim.interpolate(0.5)
    assert 0 < mob[0].fill_rgbas[0, 3] < 0.7
    anim.finish()
    assert_same(before, snapshot(mob))


def test_fade_out_removes_the_mobject_and_leaves_it_whole():
    with tempconfig({"dry_run": True, "disable_caching": True}):
        scene = Scene()
        mob = sample()
        scene.add(mob)
        before = snapshot(mob)
        scene.play(fade_out(mob, shift=RIGHT), run_time=0.2)
        assert mob not in scene.mobjects
        assert_same(before, snapshot(mob))


def test_fade_in_adds_to_the_scene():
    with tempconfig({"dry_run": True, "disable_caching": True}):
        scene = Scene()
        a, b = Square(), Circle()
        scene.play(fade_in(a, b), run_time=0.2)
        family = scene.get_mobject_family_members()
        assert a in family and b in family


def test_pulse_grows_tints_and_restores_exactly():
    mob = sample()
    before = snapshot(mob)
    width = mob.width
    anim = Pulse(mob, color="#FFFFFF", scale_factor=1.5)
    anim.begin()
    anim.interpolate(0.5)  # there_and_back: the peak
    assert mob.width == pytest.approx(1.5 * width)
    np.testing.assert_allclose(mob[0].fill_rgbas[0, :3], [1, 1, 1])
    anim.finish()
    assert_same(before, snapshot(mob))


def test_shade_bands_cover_every_cell_once_at_its_level():
    ax = Axes(x_range=[0, 4, 1], y_range=[0, 3, 1], x_length=4, y_length=3)
    xs, ys = np.arange(5.0), np.arange(4.0)
    shade = np.random.default_rng(0).random((5, 4))
    bands = shade_bands(ax, xs, ys, shade)
    cell = 1.0  # one axis unit is one scene unit here
    area = 0.0
    for band in bands:
        corners = band.points.reshape(-1, 4, 3)[:, 0, :2].reshape(-1, 4, 2)  # each run: 4 straight sides
        w = corners[:, :, 0].max(axis=1) - corners[:, :, 0].min(axis=1)
        h = corners[:, :, 1].max(axis=1) - corners[:, :, 1].min(axis=1)
        area += float(np.sum(w * h))
    assert area == pytest.approx(shade.size * cell * cell)
    assert len(bands) <= SHADE_LEVELS
    brightness = [sum(b.fill_rgbas[0, :3]) for b in bands]
    assert brightness == sorted(brightness)  # level by level, darker to brighter


def pixels(*mobs):
    from manim import Camera
    cam = Camera(pixel_width=640, pixel_height=360)
    cam.capture_mobjects(list(mobs))
    return cam.pixel_array.astype(int)


def test_merged_glyphs_draw_the_same_pixels_with_far_fewer_mobjects():
    from scenes import style
    from scenes.glyphs import merge_glyphs

    def caption():
        return Text("weight gradients of each layer: 100+ / 0−", font_size=30, color="#999999")

    def equation():
        return style.math(r"\frac{\partial f}{\partial x} = \underbrace{0.368}_{\text{local}} \times "
                          + style.colored("-0.534", style.GRADIENT), font_size=38).shift(2 * UP)
    plain, merged = (caption(), equation()), (merge_glyphs(caption()), merge_glyphs(equation()))
    assert len(merged[0].family_members_with_points()) == 1  # one colour: one path
    assert len(merged[1].family_members_with_points()) == 2  # text and gradient colours
    assert len(plain[0].family_members_with_points()) > 25
    diff = np.abs(pixels(*plain) - pixels(*merged)).max(axis=2)
    # Only anti-aliased edges where two glyphs touch may differ (one fill instead of two overlapping);
    # a lost or filled-in glyph would change hundreds of pixels by far more.
    assert (diff > 2).sum() < 40 and np.percentile(diff[diff > 0], 99) < 64
    assert merged[0].text == plain[0].text


@pytest.mark.parametrize("fade,t,alpha,offset", [
    (fade_in, 0.0, 0.0, -1.0), (fade_in, 0.25, 0.25, -0.75), (fade_in, 1.0, 1.0, 0.0),  # arrives from -shift
    (fade_out, 0.0, 1.0, 0.0), (fade_out, 0.25, 0.75, 0.25), (fade_out, 1.0, 0.0, 1.0),  # leaves towards +shift
])
def test_a_fade_s_opacity_and_slide_follow_its_rate_in_its_direction(fade, t, alpha, offset):
    from manim import linear
    mob = sample()
    start = mob.get_center().copy()
    anim = fade(mob, shift=2 * UP, rate_func=linear)
    anim.begin()
    anim.interpolate(t)
    assert mob[0].fill_rgbas[0, 3] == pytest.approx(0.7 * alpha)  # of its own opacity
    assert mob[1].stroke_rgbas[0, 3] == pytest.approx(0.5 * alpha)
    np.testing.assert_allclose(mob.get_center(), start + offset * 2 * UP, atol=1e-12)


def test_a_pan_slides_everything_by_its_share_of_the_shift_and_ends_exactly_shifted():
    from manim import linear
    from scenes.animations import Pan
    a, b = Square(), Circle().shift(RIGHT)
    starts = [a.points.copy(), b.points.copy()]
    anim = Pan(a, b, shift=3 * RIGHT, rate_func=linear)
    anim.begin()
    anim.interpolate(0.25)
    np.testing.assert_allclose(a.points, starts[0] + 0.75 * RIGHT)
    anim.finish()
    assert np.array_equal(a.points, starts[0] + 3 * RIGHT) and np.array_equal(b.points, starts[1] + 3 * RIGHT)


def test_a_pulse_tints_fill_and_stroke_not_opacity_and_grows_about_its_centre():
    mob = sample()
    centre, width = mob.get_center().copy(), mob.width
    anim = Pulse(mob, color="#FF0000", scale_factor=2.0)
    anim.begin()
    anim.interpolate(0.25)  # there_and_back at a quarter: half way up
    np.testing.assert_allclose(mob.get_center(), centre, atol=1e-12)
    assert mob.width == pytest.approx(1.5 * width)
    square = mob[0]  # #E69F00 half way to #FF0000
    np.testing.assert_allclose(square.fill_rgbas[0, :3], [(0xE6 / 255 + 1) / 2, 0x9F / 255 / 2, 0.0])
    np.testing.assert_allclose(square.stroke_rgbas[0, :3], [(0xE6 / 255 + 1) / 2, 0x9F / 255 / 2, 0.0])
    assert square.fill_rgbas[0, 3] == pytest.approx(0.7)  # a tint, not a fade
    assert mob[1].stroke_rgbas[0, 3] == pytest.approx(0.5)
