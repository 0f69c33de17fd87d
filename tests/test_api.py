"""The Python API: the CLI's pipeline and messages, from Python."""
import json

import pytest
import torch

import backprop_anim as bp
from render import CONFIG_DIR


def test_trace_takes_a_file_or_a_dict_and_gives_the_cs231n_numbers():
    from_file = bp.trace(CONFIG_DIR / "chain_rule.yaml")
    from_dict = bp.trace({"scene": "graph", "expression": "q = x + y\nf = q * z", "inputs": {"x": -2, "y": 5, "z": -4}})
    for t in (from_file, from_dict):
        assert {n["label"]: n["grad"] for n in t["nodes"] if n["op"] == "input"} == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_errors_are_one_exception_with_the_cli_s_line(tmp_path, monkeypatch):
    with pytest.raises(bp.BackpropError, match=r"^<config>: key 'scene': unknown scene kind 'grpah' \(did you mean "
                                               r"'graph'\?\)"):
        bp.trace({"scene": "grpah"})
    monkeypatch.delenv("BACKPROP_TRUST")
    with pytest.raises(bp.BackpropError, match="runs Python code"):
        bp.trace(CONFIG_DIR / "torch_sigmoid_neuron.yaml")
    assert bp.trace(CONFIG_DIR / "torch_sigmoid_neuron.yaml", trust=True)["kind"] == "graph"
    assert "BACKPROP_TRUST" not in __import__("os").environ  # trust lasts for the call only
    with pytest.raises(bp.BackpropError, match="^not a valid trace: trace: must be an object"):
        bp.check_trace([])
    with pytest.raises(bp.BackpropError, match="^scene 'zigzag': a torch trace is drawn by a graph scene"):
        bp.trace_torch(lambda x: x * x, {"x": 1.0}, scene="zigzag")
    with pytest.raises(bp.BackpropError, match="^the function must return a scalar"):
        bp.trace_torch(lambda x: x * 2, {"x": [1.0, 2.0]})


def test_trace_torch_titles_the_trace_by_its_function():
    def energy(x):
        return (x * x).sum()

    t = bp.trace_torch(energy, {"x": [1.0, -2.0]})
    assert t["config"] == {"scene": "graph", "title": "energy in PyTorch"}
    assert bp.trace_torch(lambda x: x * x, {"x": 2.0})["config"]["title"] == "PyTorch"
    json.dumps(t)  # plain JSON data


@pytest.mark.slow
def test_render_writes_a_still_and_shows_it_inline(tmp_path):
    t = bp.trace_torch(lambda x, w: torch.sigmoid(w * x), {"x": 1.0, "w": 0.5})
    clip = bp.render(t, output=tmp_path / "s.png", still=True)
    assert clip.path == tmp_path / "s.png" and clip.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert clip._repr_html_().startswith('<img src="data:image/png;base64,')
    with pytest.raises(bp.BackpropError, match="is a directory|not a regular file|directory"):
        bp.render(t, output=tmp_path, still=True)


def test_a_still_and_a_clip_show_inline_with_their_step_s_sentence_as_text_alternative(tmp_path):
    """In Jupyter a still is an <img> with an alt text and a clip a <video> with an aria-label: what is said over
    the step shown (a still's last step; a clip's poster's); a title that is markup stays text."""
    from bs4 import BeautifulSoup

    from engine.trace import dumps
    from pipeline.auto_narration import step_texts

    t = bp.trace({"scene": "graph", "title": '<b onclick="x()">"bold"</b>', "expression": "f = x * 2",
                  "inputs": {"x": 3}})
    (tmp_path / "t.json").write_text(dumps(t))
    said = step_texts(tmp_path / "t.json", "en")
    first = BeautifulSoup(bp.render(t, output=tmp_path / "s.png", still=True, upto=0)._repr_html_(), "html.parser")
    assert [e.name for e in first.find_all()] == ["img"] and first.img["alt"] == said[0]  # the title's step
    assert '<b onclick="x()">"bold"</b>' in said[0]
    last = BeautifulSoup(bp.render(t, output=tmp_path / "l.png", still=True)._repr_html_(), "html.parser")
    assert last.img["alt"] == said[-1]  # the last frame: the summary
    clip = BeautifulSoup(bp.render(t, output=tmp_path / "c.mp4")._repr_html_(), "html.parser")
    assert [e.name for e in clip.find_all()] == ["video", "source"] and clip.video["aria-label"] in said[1:]


@pytest.mark.parametrize("suffix,tag,mime", [(".gif", "img", "data:image/gif;base64,"),
                                             (".png", "img", "data:image/png;base64,"),
                                             (".webm", "video", "data:video/webm;base64,"),
                                             (".mov", "video", "data:video/quicktime;base64,")])
def test_every_format_a_render_writes_shows_inline(tmp_path, suffix, tag, mime):
    # a GIF shows as an image (a browser's <video> does not play one), the videos in a player, each with its alt
    from bs4 import BeautifulSoup
    from PIL import Image

    path = tmp_path / f"c{suffix}"
    if suffix in (".gif", ".png"):
        Image.new("RGB", (8, 6), "white").save(path)
    else:
        path.write_bytes(b"\0" * 16)  # (its bytes are only encoded, never read as video here)
    html = BeautifulSoup(bp.Clip(path, 1.0, alt='a "step"')._repr_html_(), "html.parser")
    element = html.find(tag)
    src = element["src"] if tag == "img" else element.find("source")["src"]
    assert src.startswith(mime)
    assert (element["alt"] if tag == "img" else element["aria-label"]) == 'a "step"'


@pytest.mark.parametrize("name,start", [
    ("c.mp4", '<video controls aria-label="said" style="max-width:100%"><source src="data:video/mp4;base64,'),
    ("C.MP4", '<video controls aria-label="said" style="max-width:100%"><source src="data:video/mp4;base64,'),
    ("C.WebM", '<video controls aria-label="said" style="max-width:100%"><source src="data:video/webm;base64,'),
    ("C.GIF", '<img src="data:image/gif;base64,'),  # the suffix in any case
    ("s.Png", '<img src="data:image/png;base64,'),
])
def test_a_clip_shows_inline_by_its_suffix_in_any_case(tmp_path, name, start):
    path = tmp_path / name
    path.write_bytes(b"abc")
    html = bp.Clip(path, 1.0, alt="said")._repr_html_()
    assert html.startswith(start) and "YWJj" in html  # its bytes, base64


def test_a_clip_without_a_text_alternative_is_named_by_its_file_and_its_repr_gives_its_length(tmp_path):
    path = tmp_path / "a&b.png"
    path.write_bytes(b"")
    clip = bp.Clip(path, 2.345)
    assert 'alt="a&amp;b.png"' in clip._repr_html_()
    assert repr(clip) == f"Clip({str(path)!r}, 2.3 s)" and __import__("os").fspath(clip) == str(path)


@pytest.mark.parametrize("title,slug", [
    ("Chain rule: f = (x+y) z", "chain_rule__f____x_y__z"),  # " = (" is four characters
    ("__Sigmoid__", "sigmoid"),
    ("연쇄 법칙", "trace"),  # nothing a file name keeps: the default
    ("a" * 50, "a" * 40),  # 40 characters at most
    ("", "trace"),
])
def test_a_trace_s_default_file_is_named_after_its_title(title, slug):
    from backprop_anim import _slug
    assert _slug(title) == slug


@pytest.mark.parametrize("kwargs,out,fmt", [
    ({}, "out/chain_rule.mp4", "mp4"),  # the default: the config's name, an MP4
    ({"still": True}, "out/chain_rule.png", "png"),
    ({"output": "x/C.WEBM"}, "x/C.WEBM", "webm"),  # the suffix in any case
    ({"output": "x/c.gif"}, "x/c.gif", "gif"),
    ({"output": "x/s.png", "still": True}, "x/s.png", "png"),
])
def test_render_writes_where_and_as_asked_with_every_option_passed_on(tmp_path, monkeypatch, kwargs, out, fmt):
    from pathlib import Path

    from pipeline import render_job

    asked = []

    def render_scene(trace, output, options):
        asked.append((output, options))
        return render_job.Rendered(output, 1.5, 3)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(render_job, "render_scene", render_scene)
    monkeypatch.setattr(bp, "_shown_text", lambda *args: "said")
    clip = bp.render(CONFIG_DIR / "chain_rule.yaml", quality="hd", theme="light", lang="ko", upto=2, **kwargs)
    [(output, options)] = asked
    assert output == Path(out) and clip.path == Path(out) and clip.alt == "said" and clip.duration == 1.5
    assert (options.fmt, options.quality, options.theme, options.lang, options.upto, options.still) == \
        (fmt, "hd", "light", "ko", 2, kwargs.get("still", False))


@pytest.mark.parametrize("still,poster,said", [
    (True, None, "summary"),  # a still shows the last step it reached
    (False, None, "summary"),  # a clip without a poster: as a still of its end
    (False, 1.0, "title"),  # at a step's start the poster shows the step before it, ended
    (False, 1.0004, "title"),  # (the start as read to the millisecond)
    (False, 1.001, "forward"),
    (False, 0.0, "title"),
])
def test_a_clip_s_text_alternative_is_said_over_the_step_its_poster_or_last_frame_shows(monkeypatch, still, poster,
                                                                                        said):
    from pathlib import Path

    from pipeline import auto_narration
    from pipeline.render_job import Rendered, StepTime

    monkeypatch.setattr(auto_narration, "step_texts", lambda trace, lang: ["title", "forward", "summary"])
    done = Rendered(Path("c.mp4"), 3.0, 3, steps=(StepTime("t", 0.0, 1.0), StepTime("f", 1.0, 2.0),
                                                  StepTime("s", 2.0, 3.0)), poster=poster)
    assert bp._shown_text(Path("t.json"), done, still, "en") == said


def test_a_clip_without_steps_or_with_more_steps_than_sentences_has_no_text_alternative(monkeypatch):
    from pathlib import Path

    from pipeline import auto_narration
    from pipeline.render_job import Rendered, StepTime

    monkeypatch.setattr(auto_narration, "step_texts", lambda trace, lang: ["title"])
    assert bp._shown_text(Path("t.json"), Rendered(Path("c.mp4"), 3.0, 3), True, "en") == ""
    two = Rendered(Path("c.mp4"), 3.0, 3, steps=(StepTime("t", 0.0, 1.0), StepTime("f", 1.0, 3.0)))
    assert bp._shown_text(Path("t.json"), two, True, "en") == ""


@pytest.mark.parametrize("name", ["none.json", "none.yaml"])
def test_rendering_a_missing_file_is_one_error_naming_it_and_writes_nothing(tmp_path, name):
    with pytest.raises(bp.BackpropError, match=f"^{tmp_path / name}: cannot read: No such file or directory$"):
        bp.render(tmp_path / name, output=tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


def test_rendering_a_dict_that_is_no_trace_is_one_error_and_writes_nothing(tmp_path):
    with pytest.raises(bp.BackpropError, match="^not a valid trace: "):
        bp.render({"kind": "graph"}, output=tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


def test_a_dict_trace_is_rendered_under_out_named_after_its_title(tmp_path, monkeypatch):
    from pathlib import Path

    from pipeline import render_job

    asked = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(render_job, "render_scene", lambda trace, out, options: asked.append(out) or
                        render_job.Rendered(out, 1.0, 1))
    monkeypatch.setattr(bp, "_shown_text", lambda *args: "")
    t = bp.trace({"scene": "graph", "title": "My Net: v2", "expression": "f = x * 2", "inputs": {"x": 3}})
    assert bp.render(t).path == Path("out/my_net__v2.mp4") and asked == [Path("out/my_net__v2.mp4")]
    untitled = bp.trace({"scene": "graph", "expression": "f = x * 2", "inputs": {"x": 3}})
    assert bp.render(untitled, still=True).path == Path("out/trace.png")
