"""Lecture files are data: narration validated, normalised and escaped per subtitle format, then parsed back;
clip configs must lie in the lecture's folder tree."""
import pytest
import srt

from engine.config import ConfigError
from pipeline.lecture import load_lecture
from pipeline.narration import Cue
from pipeline.video import subtitles_srt, subtitles_vtt
from helpers import parse_vtt, run_cli
from render import CONFIG_DIR

def lecture(tmp_path, narration: str):
    (tmp_path / "c.yaml").write_bytes((CONFIG_DIR / "chain_rule.yaml").read_bytes())
    p = tmp_path / "l.yaml"
    p.write_text(f"title: T\nclips:\n  - config: c.yaml\n    narration: {narration}\n")
    return p


@pytest.mark.parametrize("narration,fragment", [
    ('"00:00:00,000 --> 00:00:05,000 forged"', "must not contain '-->'"),
    ('"bell \\a here"', "must not contain control characters (U+0007)"),
    ('{en: "ok", ko: "zero\\u200bwidth"}', "must not contain control characters (U+200B)"),
])
def test_bad_narration_is_one_line_naming_the_clip(tmp_path, narration, fragment):
    with pytest.raises(ConfigError) as e:
        load_lecture(lecture(tmp_path, narration))
    assert "key 'clips.0.narration" in str(e.value) and fragment in str(e.value) and "\n" not in str(e.value)


def test_blank_lines_are_collapsed(tmp_path):
    spec, _ = load_lecture(lecture(tmp_path, '"first\\n\\n\\n  second  \\n\\nthird"'))
    assert spec.clips[0].narration == "first\nsecond\nthird"


def test_each_format_escapes_and_parses_back():
    cues_in = [Cue(0.0, 2.5, "x < y & z > 0\nsecond line"), Cue(2.5, 3.0, ""),
                Cue(3.0, 61.25, "<i>not a tag</i>")]
    subs = list(srt.parse(subtitles_srt(cues_in)))
    assert [(s.start.total_seconds(), s.end.total_seconds()) for s in subs] == [(0.0, 2.5), (3.0, 61.25)]
    assert subs[0].content == "x ‹ y & z › 0\nsecond line" and subs[1].content == "‹i›not a tag‹/i›"
    cues = parse_vtt(subtitles_vtt(cues_in))
    assert cues == [(0.0, 2.5, "x &lt; y &amp; z &gt; 0\nsecond line"), (3.0, 61.25, "&lt;i&gt;not a tag&lt;/i&gt;")]


def test_clip_configs_outside_the_lecture_folder_are_refused(tmp_path):
    inner = tmp_path / "course"
    inner.mkdir()
    (tmp_path / "c.yaml").write_bytes((CONFIG_DIR / "chain_rule.yaml").read_bytes())
    lec = inner / "l.yaml"
    for ref in ("../c.yaml", "/etc/passwd"):
        lec.write_text(f"title: T\nclips:\n  - config: {ref}\n")
        with pytest.raises(ConfigError) as e:
            load_lecture(lec)
        assert f"key 'clips.0.config': {ref} is outside the lecture's folder (use --allow-outside" in str(e.value)
    lec.write_text("title: T\nclips:\n  - config: ../c.yaml\n")
    assert load_lecture(lec, allow_outside=True)[1] == [(tmp_path / "c.yaml").resolve()]
    lec.write_text(f"title: T\nclips:\n  - config: {CONFIG_DIR / 'gates.yaml'}\n")  # shipped configs are fine
    assert load_lecture(lec)[1] == [CONFIG_DIR / "gates.yaml"]


@pytest.mark.parametrize("narration", ['"lone \\ud800 half"', '"fire \\ud83d\\udd25"', '{en: ok, ko: "\\udc00"}'])
def test_lone_surrogates_are_one_line_naming_the_key(tmp_path, narration):
    with pytest.raises(ConfigError) as e:
        load_lecture(lecture(tmp_path, narration))
    assert "key 'clips.0.narration" in str(e.value) and "half of a surrogate pair" in str(e.value)
    assert "\n" not in str(e.value)
    str(e.value).encode("utf-8")  # the message itself can be printed


@pytest.mark.parametrize("command", [["lecture", "--voice", "draft"], ["slides", "--to", "pptx"]])
def test_every_command_refuses_a_lone_surrogate_before_work(tmp_path, command):
    path = lecture(tmp_path, '"fire \\ud83d\\udd25"')
    r = run_cli([command[0], str(path), *command[1:], "-o",
                                 str(tmp_path / ("o.mp4" if command[0] == "lecture" else "o.pptx"))])
    assert r.exit_code == 1 and r.output.startswith("Error: ") and "half of a surrogate pair" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.yaml", "l.yaml"]


def test_an_emoji_joined_by_zero_width_joiners_is_text_not_a_control_character(tmp_path):
    coder = "\U0001F469\u200D\U0001F4BB"  # woman technologist: woman, ZWJ, laptop
    spec, _ = load_lecture(lecture(tmp_path, f'"{coder} computes"'))
    assert spec.clips[0].narration == f"{coder} computes"


def test_narration_has_a_length_limit_checked_when_read(tmp_path):
    from pipeline.narration import MAX_NARRATION_CHARS

    assert load_lecture(lecture(tmp_path, "a" * MAX_NARRATION_CHARS))[0].clips[0].narration == "a" * MAX_NARRATION_CHARS
    with pytest.raises(ConfigError) as e:
        load_lecture(lecture(tmp_path, "a" * 100_000))
    assert "key 'clips.0.narration'" in str(e.value) and "is 100,000 characters" in str(e.value)


def test_srt_writes_ass_override_codes_as_text():
    cue = Cue(0.0, 2.0, "{\\an8}{\\fs120}big and high \\N")
    [sub] = srt.parse(subtitles_srt([cue]))
    assert sub.content == "｛⧵an8｝｛⧵fs120｝big and high ⧵N"  # as the embedded track writes them
