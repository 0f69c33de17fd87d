"""Every language the clips, captions, subtitles and voice can be in, and all that each one needs, in one place.

Adding a language is one entry here plus its text in the caption tables (scenes/style.CAPTIONS and
pipeline/narration_text.py, keyed by ``Language.code``); tests/test_languages.py checks that both agree.
Free of Manim and of everything above it, so every layer reads it: the CLI offers the codes as --lang, a
scene picks its captions' font, the pipeline times subtitles, tags text tracks and picks the draft voice.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str  # BCP 47 tag: --lang, a narration's key in a lecture file, HTML's lang attribute, the caption tables' key
    name: str  # in English, for help text
    font: str  # the family captions, subtitles burnt in and handouts are set in (found through fontconfig)
    chars_per_second: float  # reading speed: how long a subtitle cue stays up (pipeline/narration.reading_seconds)
    espeak_voice: str  # espeak-ng's voice for a draft narration (`espeak-ng -v`)
    track_tag: str  # ISO 639-2, as MP4 and Matroska store a text track's language
    capitalised: bool  # its sentences start with a capital letter (generated narration capitalises them)


LANGUAGES = {lang.code: lang for lang in (
    Language("en", "English", "DejaVu Sans", 15.0, "en-us", "eng", capitalised=True),
    Language("ko", "Korean", "NanumGothic", 12.0, "ko", "kor", capitalised=False),
)}
LANGS = tuple(LANGUAGES)  # the codes, in their order: --lang's choices
DEFAULT_LANG = "en"  # --lang's default, and the text used where a caption has no translation


def language(code: str) -> Language:
    """The language of ``code``; an unknown code is the default language (as a caption without a translation)."""
    return LANGUAGES.get(code, LANGUAGES[DEFAULT_LANG])
