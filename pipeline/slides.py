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

import html
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.config import ConfigError
from pipeline.render_job import CACHE, QUALITIES, environment, render_scene
from pipeline.source import trace_path_for

REVEAL_VERSION = "6.0.1"  # manim-slides 5.7's template
VENDOR = CACHE / "vendor"
FORMATS = ("html", "pptx", "pdf")


class SlidesError(ConfigError):
    """Slides that cannot be made (no reveal.js to inline, a failed conversion); one line."""


@dataclass
class Step:
    video: Path
    notes: str


def clip_steps(config: Path, work: Path, quality: str, theme: str, lang: str, narration: str = "",
               chapter: str | None = None, step_narration=()) -> list[Step]:
    """Render one clip with its sections into ``work``: a step per section, with its notes (its name, and
    what a lecture says over it: the chapter's narration on the first, a step's own on its step)."""
    from pipeline.narration import text_in
    from scenes.pacing import match_steps

    work.mkdir(parents=True, exist_ok=True)
    done = render_scene(trace_path_for(config), work / "clip.mp4", quality=quality, lang=lang, theme=theme,
                        progress=False, sections_dir=work / "sections")
    found = match_steps([st.step for st in step_narration], [section.name for section in done.sections])
    said = {index: text_in(st.narration, lang) for st, index in zip(step_narration, found) if index is not None}
    steps = []
    for i, section in enumerate(done.sections):
        lines = [section.name]
        if i == 0 and chapter:
            lines.insert(0, f"Chapter: {chapter}")
        if i == 0 and narration:
            lines.append(narration)
        if said.get(i):
            lines.append(said[i])
        steps.append(Step(section.video, "\n\n".join(lines)))
    return steps


def make_slides(source: Path, output: Path, to: str = "html", quality: str = "preview", theme: str = "dark",
                lang: str = "en", allow_outside: bool = False) -> int:
    """Slides for a config or a lecture (one clip per config, in order) at ``output``; returns the count."""
    from engine.config import read_yaml

    data = read_yaml(source)
    with tempfile.TemporaryDirectory(prefix="backprop-slides-") as tmp:
        work = Path(tmp)
        steps: list[Step] = []
        if isinstance(data, dict) and "clips" in data:
            from pipeline.lecture import load_lecture

            spec, configs = load_lecture(source, allow_outside)
            for k, (clip, cfg) in enumerate(zip(spec.clips, configs)):
                steps += clip_steps(cfg, work / f"clip{k:02d}", quality, theme, lang, clip.narration_in(lang),
                                    clip.title, clip.steps)
        else:
            steps = clip_steps(source, work / "clip", quality, theme, lang)
        if not steps:
            raise SlidesError(f"{source}: the scene marks no steps")
        write_deck(steps, output, to, quality, theme, work)
    return len(steps)


def write_deck(steps: list[Step], output: Path, to: str, quality: str, theme: str, work: Path) -> None:
    """The deck itself, by manim-slides' converters, written next to ``output`` and moved into place."""
    from manim_slides.config import PresentationConfig, SlideConfig
    from manim_slides.convert import PDF, PowerPoint, RevealJS

    from scenes import style

    style.apply_theme(theme)
    q = QUALITIES[quality]
    # notes: escaped where they become HTML (reveal.js), as written in PowerPoint's notes pane
    slides = [SlideConfig(file=s.video, rev_file=s.video, notes=_notes(s.notes) if to == "html" else s.notes)
              for s in steps]
    presentation = PresentationConfig(slides=slides, resolution=(q.width, q.height),
                                      background_color=style.BACKGROUND)
    # manim-slides' own folder for `manim-slides present`, beside the output
    folder = output.with_name(output.stem + "_slides")
    _write_present_folder(presentation, folder)
    tmp_out = work / f"deck.{to}"
    if to == "html":
        with _reveal_assets():
            RevealJS(presentation_configs=[presentation], one_file=True, offline=True,
                     reveal_version=REVEAL_VERSION, reveal_theme="black" if theme == "dark" else "white",
                     background_color=style.BACKGROUND).convert_to(tmp_out)
    elif to == "pptx":
        PowerPoint(presentation_configs=[presentation], width=q.width, height=q.height).convert_to(tmp_out)
    else:
        PDF(presentation_configs=[presentation]).convert_to(tmp_out)
    shutil.move(str(tmp_out), output)


def _notes(text: str) -> str:
    """Speaker notes as manim-slides writes them (HTML, read as Markdown by reveal.js): escaped for both,
    so a title from a config can neither inject markup nor turn into emphasis."""
    text = html.escape(text, quote=True)
    return re.sub(r"([\\`*_{}\[\]()#+!|~>-])", r"\\\1", text)


def _write_present_folder(presentation, folder: Path) -> None:
    """Copy the step videos into ``folder`` with a manim-slides presentation file that points at them."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    slides = []
    for i, slide in enumerate(presentation.slides):
        video = folder / f"{i:03d}{slide.file.suffix}"
        shutil.copyfile(slide.file, video)
        slides.append(slide.model_copy(update={"file": video, "rev_file": video}))
    (folder / "Backprop.json").write_text(presentation.model_copy(update={"slides": slides}).model_dump_json(indent=1))


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
