"""Every option of a command reaches the code that uses it, in every combination a user may give: each
command's work is replaced by a recorder (nothing is drawn), and what it was asked for is compared with
the command line. A mistake that forgets --lang on one path (chunks, a format, a still) shows here."""
from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from helpers import run_cli
from render import CONFIG_DIR

CHAIN = str(CONFIG_DIR / "chain_rule.yaml")
RENDER_CASES = [
    # (options, the output's name, what the render must be asked for)
    ([], "c.mp4", dict(fmt="mp4", still=False, upto=None, transparent=False)),
    (["--format", "webm", "--transparent"], "c.webm", dict(fmt="webm", transparent=True)),
    (["--format", "mov"], "c.mov", dict(fmt="mov")),
    ([], "c.gif", dict(fmt="gif")),
    (["--still", "--upto", "4"], "c.png", dict(fmt="png", still=True, upto=4)),
    (["--upto", "7"], "c.mp4", dict(fmt="mp4", upto=7)),
]


@pytest.mark.parametrize("theme,lang,quality,pace", [("light", "ko", "low", 2.0), ("dark", "en", "hd", 0.5),
                                                     ("light", "en", "preview", 1.0)])
@pytest.mark.parametrize("case", range(len(RENDER_CASES)))
def test_render_asks_for_the_theme_language_quality_pace_and_format_given(tmp_path, monkeypatch, case, theme, lang,
                                                                          quality, pace):
    from engine.settings import QUALITIES
    from pipeline import chunks, render_job

    args, name, wanted = RENDER_CASES[case]
    asked = []
    monkeypatch.setattr(render_job, "render_scene", lambda trace, out, options: asked.append((Path(out), options)))
    monkeypatch.setattr(chunks, "render_chunked", lambda trace, out, options, jobs: asked.append((Path(out), options)))
    out = tmp_path / name
    r = run_cli(["render", CHAIN, "-o", str(out), "--theme", theme, "--lang", lang, "--quality", quality,
                 "--pace", str(pace), "-j", "1", *args])
    assert r.exit_code == 0, r.output
    [(written, options)] = asked
    assert written == out
    assert (options.theme, options.lang, options.size, options.timing.pace) == (theme, lang, QUALITIES[quality], pace)
    assert {k: getattr(options, k) for k in wanted} == wanted


@pytest.mark.parametrize("theme,lang,quality,fmt,pace,voice", [("light", "ko", "low", "webm", 2.0, "none"),
                                                               ("dark", "en", "hd", "mp4", 0.5, "none")])
def test_lecture_passes_every_option_on(tmp_path, monkeypatch, theme, lang, quality, fmt, pace, voice):
    from pipeline import lecture

    asked = []

    def render_lecture(path, out, **options):
        asked.append((Path(out), options))
        from pipeline.video import Chapter
        return [Chapter("T", 0.0, 1.0)]
    monkeypatch.setattr(lecture, "render_lecture", render_lecture)
    lec = tmp_path / "l.yaml"
    lec.write_text("title: T\nclips:\n  - config: chain.yaml\n")
    r = run_cli(["lecture", str(lec), "-o", str(tmp_path / f"l.{fmt}"), "--theme", theme, "--lang", lang,
                 "--quality", quality, "--pace", str(pace), "--voice", voice, "-j", "3", "--burn-subtitles"])
    assert r.exit_code == 0, r.output
    [(out, options)] = asked
    assert out == tmp_path / f"l.{fmt}"
    assert {k: options[k] for k in ("quality", "lang", "theme", "fmt", "pace", "voice", "jobs", "burn_subtitles")} \
        == dict(quality=quality, lang=lang, theme=theme, fmt=fmt, pace=pace, voice=voice, jobs=3, burn_subtitles=True)


@pytest.mark.parametrize("command,module,function,extra", [
    ("slides", "pipeline.slides", "make_slides", ["--quality", "low", "--to", "pptx"]),
    ("handout", "pipeline.handout", "make_handout", ["--to", "html"]),
])
@pytest.mark.parametrize("theme,lang", list(itertools.product(["dark", "light"], ["en", "ko"])))
def test_slides_and_handout_take_the_theme_and_language_given(tmp_path, monkeypatch, command, module, function,
                                                              extra, theme, lang):
    import importlib

    asked = []
    monkeypatch.setattr(importlib.import_module(module), function,
                        lambda source, out, **options: asked.append(options) or 3)
    suffix = extra[extra.index("--to") + 1]
    r = run_cli([command, CHAIN, "-o", str(tmp_path / f"x.{suffix}"), "--theme", theme, "--lang", lang, *extra])
    assert r.exit_code == 0, r.output
    [options] = asked
    assert (options["theme"], options["lang"], options["to"]) == (theme, lang, suffix)
    if command == "slides":
        assert options["quality"] == "low"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_narrate_and_gallery_speak_the_language_given(tmp_path, monkeypatch, lang):
    from pipeline import auto_narration, gallery

    said = []
    monkeypatch.setattr(auto_narration, "spoken_steps", lambda trace, language: said.append(language) or [])
    assert run_cli(["narrate", CHAIN, "--lang", lang]).exit_code == 0
    monkeypatch.setattr(gallery, "build_gallery", lambda out, title, configs, language: said.append(language)
                        or out / "index.html")
    assert run_cli(["gallery", str(tmp_path), "--lang", lang]).exit_code == 0
    assert said == [lang, lang]


@pytest.mark.parametrize("name,fmt", [("clip.MP4", "mp4"), ("Clip.WebM", "webm"), ("still.PNG", "png")])
def test_an_output_s_format_is_read_from_its_suffix_in_any_case(tmp_path, monkeypatch, name, fmt):
    from pipeline import render_job

    asked = []
    monkeypatch.setattr(render_job, "render_scene", lambda trace, out, options: asked.append(options.fmt))
    r = run_cli(["render", CHAIN, "-o", str(tmp_path / name), "-j", "1"])
    assert r.exit_code == 0, r.output
    assert asked == [fmt]


@pytest.mark.parametrize("command,module,function,name,fmt", [
    ("lecture", "pipeline.lecture", "render_lecture", "L.MP4", "mp4"),
    ("lecture", "pipeline.lecture", "render_lecture", "L.WEBM", "webm"),
    ("handout", "pipeline.handout", "make_handout", "H.PDF", "pdf"),
    ("slides", "pipeline.slides", "make_slides", "S.PPTX", "pptx"),
])
def test_a_lecture_handout_or_deck_takes_its_format_from_a_suffix_in_any_case(tmp_path, monkeypatch, command, module,
                                                                              function, name, fmt):
    import importlib

    from pipeline.video import Chapter

    asked = []

    def work(source, out, **options):
        asked.append(options.get("fmt") or options.get("to"))
        return [Chapter("T", 0.0, 1.0)] if command == "lecture" else 3
    monkeypatch.setattr(importlib.import_module(module), function, work)
    source = tmp_path / "l.yaml"
    source.write_text("title: T\nclips:\n  - config: chain.yaml\n")
    r = run_cli([command, str(source if command == "lecture" else CHAIN), "-o", str(tmp_path / name)])
    assert r.exit_code == 0, r.output
    assert asked == [fmt]


@pytest.mark.parametrize("args,size,progress", [
    (["--quality", "low"], (426, 240, 10), "line"),
    (["--quality", "hd", "--fps", "30"], (1920, 1080, 30), "line"),  # the quality's size at another rate
    (["--resolution", "1280x720"], (1280, 720, 15), "line"),  # preview's 15 fps at another size
    (["--quality", "hd", "--resolution", "640x360", "--fps", "120", "-q"], (640, 360, 120), "none"),
    (["--fps", "1", "-v"], (854, 480, 1), "manim"),
])
@pytest.mark.parametrize("jobs", ["1", "2"])  # a whole render and a chunked one take the same size
def test_render_asks_for_the_size_rate_and_progress_given(tmp_path, monkeypatch, args, size, progress, jobs):
    from pipeline import chunks, render_job

    asked = []
    monkeypatch.setattr(render_job, "render_scene", lambda trace, out, options: asked.append(("whole", options)))
    monkeypatch.setattr(chunks, "render_chunked", lambda trace, out, options, n: asked.append(("chunks", options)))
    r = run_cli(["render", CHAIN, "-o", str(tmp_path / "c.mp4"), "-j", jobs, *args])
    assert r.exit_code == 0, r.output
    [(how, options)] = asked
    assert how == ("whole" if jobs == "1" else "chunks")
    assert ((options.size.width, options.size.height, options.size.fps), options.progress) == (size, progress)


@pytest.mark.parametrize("args,written", [([], "out/chain_rule.mp4"), (["--still"], "out/chain_rule.png"),
                                         (["--format", "webm"], "out/chain_rule.webm")])
def test_render_writes_under_out_named_after_the_config_by_default(tmp_path, monkeypatch, args, written):
    from pipeline import render_job

    asked = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(render_job, "render_scene", lambda trace, out, options: asked.append(Path(out)))
    r = run_cli(["render", CHAIN, "-j", "1", *args])
    assert r.exit_code == 0, r.output
    assert asked == [Path(written)] and r.output.strip().splitlines()[-1] == f"wrote {written}"


def _recorded(monkeypatch, module, function, result):
    import importlib

    asked = []
    monkeypatch.setattr(importlib.import_module(module), function,
                        lambda source, out, **options: asked.append((Path(out), options)) or result)
    return asked


@pytest.mark.parametrize("command,module,function,args,out,defaults", [
    # what a command does given nothing but its input: where it writes, in what format, theme, language, quality
    ("handout", "pipeline.handout", "make_handout", [], "out/chain_rule.pdf",
     dict(to="pdf", theme="light", lang="en")),  # a handout is for print: light
    ("handout", "pipeline.handout", "make_handout", ["--to", "html"], "out/chain_rule.html", dict(to="html")),
    ("slides", "pipeline.slides", "make_slides", [], "out/chain_rule.html",
     dict(to="html", theme="dark", lang="en", quality="preview")),
    ("slides", "pipeline.slides", "make_slides", ["--to", "pdf"], "out/chain_rule.pdf", dict(to="pdf")),
    ("lecture", "pipeline.lecture", "render_lecture", [], "out/lecture.mp4",
     dict(fmt="mp4", theme="dark", lang="en", quality="preview", pace=1.0, voice="none", jobs=2,
          burn_subtitles=False)),
    ("lecture", "pipeline.lecture", "render_lecture", ["--format", "webm"], "out/lecture.webm", dict(fmt="webm")),
])
def test_each_command_s_defaults(tmp_path, monkeypatch, command, module, function, args, out, defaults):
    from pipeline.video import Chapter

    monkeypatch.chdir(tmp_path)
    asked = _recorded(monkeypatch, module, function, [Chapter("T", 0.0, 1.0)] if command == "lecture" else 3)
    source = CHAIN
    if command == "lecture":
        (tmp_path / "l.yaml").write_text("title: T\nclips:\n  - config: chain.yaml\n")
        source = str(tmp_path / "l.yaml")
    r = run_cli([command, source, *args])
    assert r.exit_code == 0, r.output
    [(written, options)] = asked
    assert written == Path(out) and {k: options[k] for k in defaults} == defaults


@pytest.mark.parametrize("args,title,configs", [
    ([], "Backpropagation clips", ()),
    (["--title", "Mine", "--configs", "b", "--configs", "a"], "Mine", ("b", "a")),  # the folders in the order given
])
def test_the_gallery_takes_its_title_and_config_folders_in_order(tmp_path, monkeypatch, args, title, configs):
    from pipeline import gallery

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    asked = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(gallery, "build_gallery", lambda out, title, folders, lang: asked.append((title, folders))
                        or out / "index.html")
    r = run_cli(["gallery", str(tmp_path), *args])
    assert r.exit_code == 0, r.output
    assert asked == [(title, tuple(Path(c) for c in configs))]


@pytest.mark.parametrize("json_flag", [False, True])
def test_narrate_prints_each_step_s_index_start_name_and_sentence_or_their_json(monkeypatch, json_flag):
    import json

    from pipeline import auto_narration
    from pipeline.auto_narration import SpokenStep

    monkeypatch.setattr(auto_narration, "spoken_steps", lambda trace, language: [
        SpokenStep("title: T", 0.0, "시작합니다."), SpokenStep("forward: x = 3", 12.345, "The input x is 3.")])
    r = run_cli(["narrate", CHAIN, "--lang", "ko", *(["--json"] if json_flag else [])])
    assert r.exit_code == 0, r.output
    if json_flag:  # Korean as it is, not \\u escapes
        assert '"시작합니다."' in r.output and json.loads(r.output) == {"steps": [
            {"name": "title: T", "start": 0.0, "narration": "시작합니다."},
            {"name": "forward: x = 3", "start": 12.345, "narration": "The input x is 3."}]}
    else:
        assert r.output == ("  0    0.0s  title: T\n            시작합니다.\n"
                            "  1   12.3s  forward: x = 3\n            The input x is 3.\n")
