"""Captions and titles fitted to their width: the wrap read from the words' places in one line of them all is
the wrap that laying out every trial line gives, with a handful of layouts instead of one per word."""
import pytest
from manim import Text

from scenes import style
from scenes.text_fit import fitted_text

SIZES = (26, 24, 22)
LONG = ("The gradient of every weight flows backward through the sigmoid gates, and each gate multiplies "
        "what arrives by its own local gradient before passing it on")
KOREAN = "시그모이드 게이트를 지나 모든 가중치의 기울기가 거꾸로 흐르고, 각 게이트는 받은 값에 자기 국소 기울기를 곱해 넘깁니다"


def laid_out_word_by_word(text, width, max_lines, font):
    """The fit written plainly: the whole text at each size, then each line wrapped by laying out every
    trial line with Manim's Text (what scenes/text_fit did before it read words' places)."""
    def wide(lines, size):
        return Text("\n".join(lines), font=font, font_size=size, line_spacing=0.8).width

    given = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(given) <= max_lines:
        for size in SIZES:
            if wide(given, size) <= width:
                return given, size
    for size in SIZES:
        lines = []
        for line in given:
            current = ""
            for word in line.split():
                trial = f"{current} {word}".strip()
                if current and wide([trial], size) > width:
                    lines.append(current)
                    current = word
                else:
                    current = trial
            lines.append(current)
        if len(lines) <= max_lines and wide(lines, size) <= width:
            return lines, size
    return lines, SIZES[-1]


@pytest.mark.parametrize("lang, text, width, max_lines", [
    ("en", LONG, 13.2, 2),  # wraps onto two lines at the largest size that holds it in two
    ("en", LONG, 13.2, 1),  # never fits one line: the smallest size, wrapped, then scaled
    ("en", LONG, 7.5, 3),
    ("en", "Forward pass:  values flow  from the inputs\nto the output, gate by gate, left to right", 9.0, 2),
    ("ko", KOREAN, 13.2, 2),
    ("ko", KOREAN, 8.0, 3),
    # two frames' width of words at preview size: Pango breaks a line that long, so its words are measured
    # a few at a time (the histograms caption, measured as one line, wrapped onto three lines in light)
    ("en", LONG + ", " + LONG, 13.2, 3),
])
def test_a_caption_wraps_as_laying_out_every_trial_line_would(monkeypatch, lang, text, width, max_lines):
    from manim import tempconfig
    monkeypatch.setenv("BACKPROP_LANG", lang)
    font = style.caption_font()
    with tempconfig({"pixel_width": 854, "pixel_height": 480}):
        lines, size = laid_out_word_by_word(text, width, max_lines, font)
        mob = fitted_text(text, SIZES, width, max_lines, "caption", "#FFFFFF")
    assert (mob.original_text.split("\n"), mob.font_size) == (lines, size)
    assert mob.width <= width + 1e-9


def test_a_long_caption_is_fitted_with_a_handful_of_layouts_not_one_per_word(monkeypatch):
    # Laying a line out is the cost (Pango, an SVG, its paths: 5-15 ms each); trying every trial line took
    # 55 layouts for the histograms scene's captions
    import scenes.text_fit as text_fit

    made = []
    real = Text.__init__

    def counting(self, text, *args, **kwargs):
        made.append(text)
        real(self, text, *args, **kwargs)

    monkeypatch.setattr(Text, "__init__", counting)
    text_fit._fitted.cache_clear()
    text_fit._word_extents.cache_clear()
    style._BUILT.clear()
    mob = fitted_text(LONG, SIZES, 13.2, 2, "caption", "#FFFFFF")
    assert mob.original_text.count("\n") == 1
    # 8 here: the line at 26 points, its words measured once in four short lines, two trial lines near the
    # width, the wrap at 24
    assert len(made) <= 9, made
