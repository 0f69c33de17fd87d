"""Step-through slides: one slide per step of a scene (its Manim sections), made by manim-slides.

Each scene marks its steps with ``next_section`` (scenes/graph_scenes.py: the title, each forward value,
each backward gate, the summary; the training scenes' phases). A clip rendered with its sections gives
one video per step; those become manim-slides' slides, each with speaker notes (the step's name, which
says what it shows, and the clip's narration on its first step), and manim-slides writes the deck:
reveal.js HTML in one offline file (videos and reveal.js itself inlined), PowerPoint, or PDF (a frame
per step). The slides folder it reads (``slides/*.json``) is kept beside the output too, so
``manim-slides present`` plays the same deck.

reveal.js comes from the npm registry (``npm pack reveal.js``, done by scripts/setup.sh) and is handed to
manim-slides through its own asset cache, so it never downloads anything at conversion time.
"""
from __future__ import annotations

import dataclasses
import html
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.config import ConfigError
from infra.io import OutputError, atomic_path, check_output_path
from engine.languages import DEFAULT_LANG
from engine.settings import SLIDE_FORMATS, RenderOptions
from pipeline.render_job import CACHE, QUALITIES, environment, render_scene
from engine.source import trace_path_for

REVEAL_VERSION = "6.0.1"  # manim-slides 5.7's template
VENDOR = CACHE / "vendor"
FORMATS = SLIDE_FORMATS


class SlidesError(ConfigError):
    """Slides that cannot be made (no reveal.js to inline, a failed conversion); one line."""


@dataclass
class Step:
    video: Path
    notes: str
    label: str = ""  # the slide's text alternative: what is said over the step, else its name


def clip_steps(config: Path, work: Path, options: RenderOptions, narration: str = "",
               chapter: str | None = None, step_narration=()) -> list[Step]:
    """Render one clip with its sections into ``work``: a step per section, with its notes (its name, and
    what a lecture says over it: the chapter's narration on the first, a step's own on its step)."""
    from pipeline.narration import text_in
    from scenes.pacing import match_steps

    work.mkdir(parents=True, exist_ok=True)
    options = dataclasses.replace(options, progress=False, sections_dir=work / "sections")
    done = render_scene(trace_path_for(config), work / "clip.mp4", options)
    found = match_steps([st.step for st in step_narration], [section.name for section in done.sections])
    said = {index: text_in(st.narration, options.lang) for st, index in zip(step_narration, found) if index is not None}
    steps = []
    for i, section in enumerate(done.sections):
        lines = [section.name]
        if i == 0 and chapter:
            lines.insert(0, f"Chapter: {chapter}")
        if i == 0 and narration:
            lines.append(narration)
        if said.get(i):
            lines.append(said[i])
        steps.append(Step(section.video, "\n\n".join(lines), said.get(i) or section.name))
    return steps


def make_slides(source: Path, output: Path, to: str = "html", quality: str = "preview", theme: str = "dark",
                lang: str = DEFAULT_LANG, allow_outside: bool = False) -> int:
    """Slides for a config or a lecture (one clip per config, in order) at ``output``; returns the count."""
    from engine.config import read_yaml

    data = read_yaml(source)
    spec = None
    inputs = [source]
    if isinstance(data, dict) and "clips" in data:
        from pipeline.lecture import input_files, load_lecture

        spec, configs = load_lecture(source, allow_outside)
        inputs = input_files(source, spec, configs)
    # both outputs, the deck and the folder beside it, checked before any work
    check_output_path(output, inputs)
    check_present_folder(present_folder(output), inputs)
    options = RenderOptions(quality=quality, theme=theme, lang=lang)
    with tempfile.TemporaryDirectory(prefix="backprop-slides-") as tmp:
        work = Path(tmp)
        steps: list[Step] = []
        if spec is not None:
            from pipeline.auto_narration import clip_narration
            from pipeline.narration import text_in

            for k, (clip, cfg) in enumerate(zip(spec.clips, configs)):
                card, said, _ = clip_narration(clip, k, cfg, source, lang)
                steps += clip_steps(cfg, work / f"clip{k:02d}", options, text_in(card, lang),
                                    clip.title, said)
        else:  # a config alone: each step's notes say what it shows, written from the trace
            from pipeline.auto_narration import generated_step, step_texts

            said = [generated_step(i, text, source) for i, text in enumerate(step_texts(trace_path_for(source), lang))]
            steps = clip_steps(source, work / "clip", options, step_narration=said)
        if not steps:
            raise SlidesError(f"{source}: the scene marks no steps")
        write_deck(steps, output, to, quality, theme, work, inputs)
    return len(steps)


def write_deck(steps: list[Step], output: Path, to: str, quality: str, theme: str, work: Path, inputs=()) -> None:
    """The deck itself, by manim-slides' converters, written beside ``output`` (a link's target) and moved
    into place, and the folder for `manim-slides present` beside it."""
    from manim_slides.config import PresentationConfig, SlideConfig
    from manim_slides.convert import PDF, PowerPoint, RevealJS

    from scenes import style

    style.apply_theme(theme)
    q = QUALITIES[quality]
    # notes: our own escaped HTML in the deck (reveal.js), as written in PowerPoint's notes pane
    slides = [SlideConfig(file=s.video, rev_file=s.video, notes=notes_html(s.notes) if to == "html" else s.notes)
              for s in steps]
    presentation = PresentationConfig(slides=slides, resolution=(q.width, q.height),
                                      background_color=style.BACKGROUND)
    with atomic_path(output, inputs) as tmp_out:
        if to == "html":
            with _reveal_assets():
                RevealJS(presentation_configs=[presentation], one_file=True, offline=True,
                         template=_plain_notes_template(work), reveal_version=REVEAL_VERSION,
                         reveal_theme="black" if theme == "dark" else "white",
                         background_color=style.BACKGROUND).convert_to(tmp_out)
            _label_slides(Path(tmp_out), [s.label for s in steps])
        elif to == "pptx":
            PowerPoint(presentation_configs=[presentation], width=q.width, height=q.height).convert_to(tmp_out)
        else:
            PDF(presentation_configs=[presentation]).convert_to(tmp_out)
        _write_present_folder(presentation, present_folder(output), inputs)


def _label_slides(deck: Path, labels: list[str]) -> None:
    """Give each slide of the reveal.js deck its text alternative (aria-label): its video, which reveal.js
    makes from the slide's data-background-video, cannot carry one. BeautifulSoup writes the attribute
    escaped, so a config's text stays text."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(deck.read_text(encoding="utf-8"), "html.parser")
    slides = soup.select("div.slides > section[data-background-video]")
    if len(slides) != len(labels):  # a newer manim-slides' template: stop rather than label the wrong slides
        raise SlidesError(f"manim-slides' reveal.js deck has {len(slides)} video slides for {len(labels)} steps; "
                          "pin manim-slides as requirements.txt does")
    for section, label in zip(slides, labels):
        section["aria-label"] = label
    deck.write_text(str(soup), encoding="utf-8")


def notes_html(text: str) -> str:
    """Speaker notes as HTML: a paragraph per paragraph of text, every character of it escaped, so text
    from a config (a title, narration) is shown as written and never becomes markup."""
    return "".join(f"<p>{html.escape(par, quote=True)}</p>" for par in text.split("\n\n"))


NOTES_MARKDOWN = '<aside class="notes" data-markdown>'


def _plain_notes_template(work: Path) -> Path:
    """manim-slides' reveal.js template with the notes taken as HTML, not as Markdown: reveal.js's Markdown
    plugin decodes entities and renders raw HTML, so escaped notes would turn into live markup again."""
    from manim_slides.convert import RevealJS

    template = RevealJS(presentation_configs=[]).load_template()
    if template.count(NOTES_MARKDOWN) != 1:  # a newer manim-slides: stop rather than ship live notes
        raise SlidesError("manim-slides' reveal.js template changed: its notes are no longer "
                          f"{NOTES_MARKDOWN!r}; pin manim-slides as requirements.txt does")
    path = work / "revealjs.html"
    path.write_text(template.replace(NOTES_MARKDOWN, '<aside class="notes">'), encoding="utf-8")
    return path


PRESENT_MARKER = ".backprop-slides"  # in every folder render.py slides made, and only there
_PRESENT_FILES = re.compile(r"\d{3,}\.(mp4|webm|mov)|Backprop\.json|" + re.escape(PRESENT_MARKER))


def present_folder(output: Path) -> Path:
    """The folder for `manim-slides present` beside the deck: deck.html's is deck_slides/."""
    return output.with_name(output.stem + "_slides")


def check_present_folder(folder: Path, inputs=()) -> None:
    """The folder beside the deck is an output too: a new path, or a folder this tool made (its marker
    inside, nothing but what it writes), holding no input. Anything else is left alone, refused in one line."""
    leave = "it is left alone: move it, or choose another -o"
    for inp in inputs:
        if Path(os.path.realpath(inp)).is_relative_to(os.path.realpath(folder)):
            raise OutputError(f"{folder}: holds the input {inp}; {leave}")
    if folder.is_symlink():
        raise OutputError(f"{folder}: is a link, not the slides folder render.py slides makes; {leave}")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OutputError(f"{folder}: is a file, not the slides folder render.py slides makes; {leave}")
    if not (folder / PRESENT_MARKER).is_file():
        raise OutputError(f"{folder}: was not made by render.py slides (no {PRESENT_MARKER} in it); {leave}")
    foreign = sorted(p.name for p in folder.iterdir() if not _PRESENT_FILES.fullmatch(p.name) or not p.is_file()
                     or p.is_symlink())
    if foreign:
        raise OutputError(f"{folder}: holds {foreign[0]}, which render.py slides did not write; {leave}")


def _write_present_folder(presentation, folder: Path, inputs=()) -> None:
    """Copy the step videos into ``folder`` with a manim-slides presentation file that points at them: made
    in a new folder beside it, which then takes the old one's place."""
    fresh = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    old = None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(fresh, 0o777 & ~umask)  # mkdtemp makes it private; the folder is an ordinary one
        slides = []
        for i, slide in enumerate(presentation.slides):
            video = folder / f"{i:03d}{slide.file.suffix}"
            shutil.copyfile(slide.file, fresh / video.name)
            slides.append(slide.model_copy(update={"file": video, "rev_file": video}))
        (fresh / "Backprop.json").write_text(
            presentation.model_copy(update={"slides": slides}).model_dump_json(indent=1))
        (fresh / PRESENT_MARKER).write_text("made by render.py slides, which replaces this folder when it writes "
                                            "the deck beside it again\n")
        check_present_folder(folder, inputs)  # again: it may have changed while the slides rendered
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.replace(folder, old / folder.name)
        os.replace(fresh, folder)
    except BaseException:
        if old is not None and not folder.exists():
            os.replace(old / folder.name, folder)
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _reveal_assets():
    """manim-slides' offline conversion reads reveal.js from its cache folder (by file name) before it
    would download it: the cache is filled from the npm package, and pointed at for the conversion."""
    root = VENDOR / "manim-slides-cache"
    folder = root / "manim-slides" / f"revealjs{REVEAL_VERSION}"
    if not (folder / "reveal.js").exists():
        tarball = fetch_reveal()
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tarball) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.startswith("package/dist/") and \
                        member.name.endswith((".css", ".js")):
                    (folder / Path(member.name).name).write_bytes(tar.extractfile(member).read())
    return environment({"XDG_CACHE_HOME": str(root)})


def fetch_reveal() -> Path:
    """reveal.js's npm package (a tarball under .cache/vendor), fetched with npm once."""
    tarball = VENDOR / f"reveal.js-{REVEAL_VERSION}.tgz"
    if tarball.exists():
        return tarball
    VENDOR.mkdir(parents=True, exist_ok=True)
    npm = shutil.which("npm")
    if npm is None:
        raise SlidesError("HTML slides need reveal.js, which comes from npm: install Node.js's npm "
                          "(scripts/setup.sh does), or use --to pptx or pdf")
    r = subprocess.run([npm, "pack", f"reveal.js@{REVEAL_VERSION}", "--silent", "--pack-destination", str(VENDOR)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 or not tarball.exists():
        raise SlidesError(f"could not fetch reveal.js {REVEAL_VERSION} with npm: "
                          f"{(r.stderr.strip().splitlines() or ['no output'])[-1][:200]}")
    return tarball
