"""What the audit measures a glyph by, and the floor it holds it to: shared by the screen checks
(audit/screen.py) and the bound on a graph's width (audit/graph_width.py), which must agree."""
from __future__ import annotations

import re

# Glyph heights per point of font size, in scene units, measured at font_size=48: the lower-case x-height
# (Text "x" in DejaVu Sans 0.364, MathTex "x" 0.226), digits (Text "0" 0.504, MathTex "0" 0.343) and a
# Hangul syllable (NanumGothic 0.605). A string is as legible as its smallest kind of glyph: text with
# lower-case Latin letters is measured by its x-height, numbers and Hangul by their own height.
GLYPH_PER_POINT = {("text", "x"): 0.364 / 48, ("text", "digit"): 0.504 / 48, ("text", "hangul"): 0.605 / 48,
                   ("tex", "x"): 0.2257 / 48, ("tex", "digit"): 0.3427 / 48, ("tex", "hangul"): 0.3427 / 48}
TEX_COMMAND = re.compile(r"\\textcolor\[HTML\]\{[0-9A-Fa-f]+\}|\\(begin|end)\{[a-z]+\}|\\[a-zA-Z]+")

# 10 px of x-height at 854x480 (2.1% of the frame's height, an em of about 19 px), for every text: labels,
# captions, axis numbers and the exponents and superscripts in them. Projected on a 2 m tall screen that is
# a 4.2 cm x-height, which reads from the back of a lecture hall (8 px could not be read when projected);
# the 24-point minimum of slide guidelines is about 2.2% of a 7.5-inch slide's height for the em. The
# floor is a fraction of the frame's height, so it scales with the quality: 5 px at low (240 lines),
# 22.5 px at hd, 45 px at 4k.
MIN_GLYPH_PX_AT_480 = 10.0


def glyph_kind(string: str, tex: bool) -> str:
    """x (lower-case Latin present), hangul, or digit (numbers, capitals, symbols)."""
    letters = TEX_COMMAND.sub("", string) if tex else string
    if re.search("[a-z]", letters):
        return "x"
    return "hangul" if re.search("[\uac00-\ud7a3]", letters) else "digit"
