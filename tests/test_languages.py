"""engine/languages.py: every language has all it needs, and every place that offers or looks up a language
reads the one registry (the CLI's --lang, the caption and narration tables, fonts, voices, track tags)."""
import dataclasses
import re
import shutil
import subprocess

import click
import pytest

from engine.languages import DEFAULT_LANG, LANGS, LANGUAGES, Language, language

TYPES = {"str": str, "float": float, "bool": bool}


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_language_has_every_field(code):
    lang = LANGUAGES[code]
    assert lang.code == code
    for f in dataclasses.fields(Language):
        value = getattr(lang, f.name)
        assert isinstance(value, TYPES[f.type]), (code, f.name, value)
        if isinstance(value, str):
            assert value.strip() == value and value, (code, f.name)
    assert lang.chars_per_second > 0
    assert re.fullmatch(r"[a-z]{3}", lang.track_tag)  # ISO 639-2
    assert re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)*", lang.code)  # a BCP 47 tag, as HTML's lang takes


def test_the_codes_and_the_default_come_from_the_registry():
    assert LANGS == tuple(LANGUAGES) and DEFAULT_LANG in LANGUAGES
    assert language("xx") is LANGUAGES[DEFAULT_LANG]  # an unknown code: the default's captions, as before
    with pytest.raises(dataclasses.FrozenInstanceError):
        LANGUAGES[DEFAULT_LANG].font = "Comic Sans"


def test_the_cli_s_lang_choices_are_exactly_the_registry_s_keys():
    from render import cli

    offered = {name: command.params for name, command in cli.commands.items()}
    with_lang = {name: next(p for p in params if p.name == "lang") for name, params in offered.items()
                 if any(p.name == "lang" for p in params)}
    assert {"render", "lecture", "slides", "handout", "gallery", "audit"} <= set(with_lang)
    for name, param in with_lang.items():
        assert isinstance(param.type, click.Choice), name
        assert tuple(param.type.choices) == tuple(LANGUAGES), name
        assert param.default == DEFAULT_LANG, name


def test_every_caption_and_narration_table_has_exactly_the_registry_s_languages():
    from pipeline import narration_text
    from scenes import style

    for table in (style.CAPTIONS, style.FONTS, narration_text.SAY, narration_text.LEADS, narration_text.GATE_NAMES):
        assert list(table) == list(LANGUAGES)
    assert style.FONTS == {code: lang.font for code, lang in LANGUAGES.items()}


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="needs fontconfig")
@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_language_s_font_is_installed(code):
    """fontconfig finds the font itself, not a substitute (it answers every request with some font)."""
    font = LANGUAGES[code].font
    families = subprocess.run(["fc-match", "-f", "%{family}", font], capture_output=True, text=True,
                              timeout=30).stdout
    assert font in families.split(","), (font, families)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
@pytest.mark.parametrize("code", list(LANGUAGES))
def test_every_language_s_draft_voice_exists_in_espeak_ng(code):
    voice = LANGUAGES[code].espeak_voice
    listed = subprocess.run(["espeak-ng", f"--voices={voice}"], capture_output=True, text=True, timeout=30).stdout
    assert any(line.split()[1:2] == [voice] for line in listed.splitlines()[1:]), listed
