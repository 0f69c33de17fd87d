"""Captions and titles fitted from one measured layout choose what building every candidate chooses."""
import pytest
from manim import Text

from scenes import style, text_fit
from scenes.glyphs import merge_glyphs

CAPTIONS = [
    "branch: gradients from several uses add up",
    "after 20000 steps sigmoid solved 0 of 10 seeds, tanh solved 9, ReLU 5 and leaky ReLU 5",
    "first line stays\nthe second line of this caption is much longer than the first one is",
    "역전파: 곱셈 게이트는 입력을 서로 바꾸어 위에서 온 기울기에 곱합니다",
    "word",
]
SIZES = (26, 24, 22)


def _by_building_every_candidate(text, sizes, width, max_lines):
    """The reference: each candidate line is built and measured, as fitted_text did before it measured once."""
    def make(lines, size):
        return merge_glyphs(Text("\n".join(lines), font=style.caption_font(), font_size=size, line_spacing=0.8))

    given = [line.strip() for line in text.strip().splitlines() if line.strip()] or [""]
    if len(given) <= max_lines:
        for size in sizes:
            if make(given, size).width <= width:
                return given, size
    for size in sizes:
        lines = []
        for line in given:
            current = ""
            for word in line.split(" "):
                trial = f"{current} {word}".strip()
                if current and make([trial], size).width > width:
                    lines.append(current)
                    current = word
                else:
                    current = trial
            lines.append(current)
        if len(lines) <= max_lines and make(lines, size).width <= width:
            return lines, size
    return lines, None  # scaled to the width


@pytest.mark.parametrize("caption", CAPTIONS)
@pytest.mark.parametrize("width, max_lines", [(13.2, 1), (13.2, 2), (8.0, 2), (5.0, 3), (3.0, 2)])
def test_the_same_lines_and_size_as_building_every_candidate(caption, width, max_lines):
    lines, size = _by_building_every_candidate(caption, SIZES, width, max_lines)
    mob = text_fit.fitted_text(caption, SIZES, width, max_lines, "caption", style.MUTED)
    assert mob.original_text.split("\n") == lines
    assert mob.width <= width + 1e-9
    if size is not None:
        assert round(mob.font_size) == size


def test_a_wrapped_caption_is_laid_out_twice_not_once_per_word(monkeypatch):
    built = []

    class Counting(Text):
        def __init__(self, *args, **kwargs):
            built.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(text_fit, "Text", Counting)
    mob = text_fit.fitted_text(CAPTIONS[1], SIZES, 8.0, 2, "caption", style.MUTED)
    assert len(mob.original_text.split("\n")) == 2
    assert len(built) <= 3, built  # the measured layout, the chosen lines (once more if a size is on the edge)


def test_right_to_left_text_is_measured_by_building():
    # Right-to-left: glyphs come in visual order (and joined letters may be fewer glyphs than characters),
    # so word extents cannot be read off one layout.
    caption = "مرحبا بالعالم هذا سطر طويل جدا من النص العربي الذي يجب أن يلتف"
    assert text_fit._WordExtents.of([caption], 26) is None
    lines, size = _by_building_every_candidate(caption, SIZES, 5.0, 3)
    mob = text_fit.fitted_text(caption, SIZES, 5.0, 3, "caption", style.MUTED)
    assert mob.original_text.split("\n") == lines and mob.width <= 5.0 + 1e-9
