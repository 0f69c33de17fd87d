"""A printable handout: one figure per step, drawn as vectors, its narration beneath, chapter headings.

Each scene is built without drawing (as `render.py info` builds it); at the end of every step its
mobjects are drawn by Manim's own Cairo camera onto a cairo RecordingSurface instead of pixels, so a
figure is paths (glyphs included), never a raster image. The recordings are replayed onto PDF pages
(two steps a page, the narration set in the language's font, which cairo embeds) or onto SVG for one
self-contained HTML page, each figure with its step's narration as alt text. Light theme by default.
"""
from __future__ import annotations

import base64
import html
import io
import types
from dataclasses import dataclass
from pathlib import Path

from engine.config import ConfigError
from infra.io import atomic_path, check_output_path
from engine.languages import DEFAULT_LANG, LANGUAGES, language
from engine.settings import HANDOUT_FORMATS, RenderOptions

FORMATS = HANDOUT_FORMATS
PAGE = (595.0, 842.0)  # A4 in points
MARGIN = 48.0
TEXT_SIZE = 10.5
HEADING_SIZE = 17.0
LINE = 1.35


@dataclass
class Figure:
    name: str
    narration: str
    drawing: object  # a cairo.RecordingSurface, width x height
    width: int
    height: int


@dataclass
class Chapter:
    title: str
    intro: str  # what the chapter says over its card
    figures: list[Figure]


def scene_figures(trace_path: Path, lang: str, theme: str, narration: dict[int, str] | None = None) -> list[Figure]:
    """Every step of the scene of ``trace_path``, drawn as vectors at its last frame, with its narration
    (``narration``'s by step index where given, else the one written from the trace)."""
    import cairo
    from manim import VMobject

    from pipeline.render_job import undrawn
    from manim_patches.speedups import SkipsDrawing
    from scenes import style
    from pipeline.narration_text import narrate
    from scenes.trace_data import read_trace

    trace = read_trace(trace_path)
    drawings = []
    with undrawn(Path(trace_path), RenderOptions(quality="preview", lang=lang, theme=theme)) as scene_cls:
        renderer = SkipsDrawing(skip_animations=True)
        scene = scene_cls(renderer=renderer)
        camera = renderer.camera
        width, height = camera.pixel_width, camera.pixel_height

        def draw() -> "cairo.RecordingSurface":
            surface = cairo.RecordingSurface(cairo.CONTENT_COLOR_ALPHA, cairo.Rectangle(0, 0, width, height))
            ctx = cairo.Context(surface)
            ctx.set_source_rgb(*(int(style.BACKGROUND.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)))
            ctx.paint()
            fw, fh, fc = camera.frame_width, camera.frame_height, camera.frame_center
            ctx.set_matrix(cairo.Matrix(width / fw, 0, 0, -(height / fh), width / 2 - fc[0] * width / fw,
                                        height / 2 + fc[1] * height / fh))
            camera.set_cairo_context_color = types.MethodType(_rgb_colors, camera)
            try:
                for mob in camera.get_mobjects_to_display(scene.mobjects):
                    if isinstance(mob, VMobject):  # the scenes draw nothing else (no images: a figure stays vectors)
                        camera.display_vectorized(mob, ctx)
            finally:
                del camera.set_cairo_context_color
            return surface

        def on_step():
            if len(scene.step_marks) > 1:  # the step before has ended: its last frame
                drawings.append(draw())
        renderer.on_step = on_step
        scene.render()
        drawings.append(draw())
    names = [name for name, _ in scene.step_marks]
    said = narrate(trace, list(zip(names, scene.step_about)), lang)
    narration = narration or {}
    return [Figure(name, narration.get(i) or said[i], drawing, width, height)
            for i, (name, drawing) in enumerate(zip(names, drawings))]


def _rgb_colors(camera, ctx, rgbas, vmobject):
    """Manim's Camera.set_cairo_context_color for a true cairo surface: Manim writes colours as BGR, because
    its pixel array reads cairo's ARGB32 bytes as RGBA; a PDF or SVG surface takes them as they are."""
    import itertools

    import cairo
    import numpy as np

    if len(rgbas) == 1:
        ctx.set_source_rgba(*rgbas[0][:3], rgbas[0][3])
    else:
        points = camera.transform_points_pre_display(vmobject, vmobject.get_gradient_start_and_end_points())
        pattern = cairo.LinearGradient(*itertools.chain(*(point[:2] for point in points)))
        for rgba, offset in zip(rgbas, np.linspace(0, 1, len(rgbas))):
            pattern.add_color_stop_rgba(offset, *rgba[:3], rgba[3])
        ctx.set_source(pattern)
    return camera


def chapters_of(source: Path, lang: str, theme: str, allow_outside: bool = False) -> tuple[str, list[Chapter], list]:
    """The handout's title, chapters and input files, for a lecture or a single config."""
    from engine.config import load_config, read_yaml
    from pipeline.narration import text_in
    from engine.source import is_trace_file, trace_path_for
    from scenes.pacing import match_steps

    data = None if is_trace_file(source) else read_yaml(source)  # a trace, as `render` and `slides` take one
    if not (isinstance(data, dict) and "clips" in data):
        config = None if data is None else load_config(source)
        figures = scene_figures(trace_path_for(source), lang, theme)
        title = getattr(config, "title", None) or figures[0].name.removeprefix("title: ")
        return title, [Chapter(title, "", figures)], [source]
    from pipeline.auto_narration import clip_narration
    from pipeline.lecture import input_files, load_lecture

    spec, configs = load_lecture(source, allow_outside)
    chapters = []
    for k, (clip, cfg) in enumerate(zip(spec.clips, configs)):
        card, steps, auto = clip_narration(clip, k, cfg, source, lang)
        figures = scene_figures(trace_path_for(cfg), lang, theme)
        if auto:
            authored = {st.step: text_in(st.narration, lang) for st in steps}
        else:  # authored steps by their keys; the others say what the trace says
            found = match_steps([st.step for st in steps], [f.name for f in figures])
            authored = {index: text_in(st.narration, lang) for st, index in zip(steps, found) if index is not None}
        for i, fig in enumerate(figures):
            fig.narration = authored.get(i) or fig.narration
        title = clip.title or getattr(load_config(cfg), "title", None) or cfg.stem
        chapters.append(Chapter(title, text_in(card, lang), figures))
    return spec.title, chapters, input_files(source, spec, configs)


def make_handout(source: Path, output: Path, to: str = "pdf", lang: str = DEFAULT_LANG, theme: str = "light",
                 allow_outside: bool = False) -> int:
    """Write the handout of a lecture or config to ``output``; returns the number of figures."""
    if to not in FORMATS:
        raise ConfigError(f"{output}: a handout is .pdf or .html")
    check_output_path(output, [source])
    title, chapters, inputs = chapters_of(Path(source), lang, theme, allow_outside)
    check_output_path(output, inputs)
    with atomic_path(output, inputs) as tmp:
        if to == "pdf":
            write_pdf(Path(tmp), title, chapters, lang)
        else:
            Path(tmp).write_text(html_page(title, chapters, lang, theme), encoding="utf-8")
    return sum(len(c.figures) for c in chapters)


# --- PDF ----------------------------------------------------------------------------------------------

class _Type:
    """Text set with cairo's own text API (so the PDF holds it as text, its fonts embedded), each character
    in the first of ``fonts`` that has it: NanumGothic has no − (U+2212), DejaVu Sans no Hangul."""

    def __init__(self, ctx, fonts: list[str]):
        self.ctx, self.fonts, self.font_of = ctx, fonts, {}

    def _font(self, char: str) -> str:
        if char not in self.font_of:
            self.font_of[char] = self.fonts[-1]
            for font in self.fonts:
                self.ctx.select_font_face(font)
                glyphs = self.ctx.get_scaled_font().text_to_glyphs(0, 0, char, False)
                if glyphs and all(g.index != 0 for g in glyphs):  # glyph 0: the font lacks it
                    self.font_of[char] = font
                    break
        return self.font_of[char]

    def runs(self, text: str) -> list[tuple[str, str]]:
        runs: list[tuple[str, str]] = []
        for char in text:
            font = runs[-1][0] if char == " " and runs else self._font(char)
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + char)
            else:
                runs.append((font, char))
        return runs

    def width(self, text: str) -> float:
        total = 0.0
        for font, run in self.runs(text):
            self.ctx.select_font_face(font)
            total += self.ctx.text_extents(run).x_advance
        return total

    def show(self, text: str, x: float, y: float) -> None:
        self.ctx.move_to(x, y)
        for font, run in self.runs(text):
            self.ctx.select_font_face(font)
            self.ctx.show_text(run)

    def wrap(self, text: str, width: float) -> list[str]:
        """Lines of ``text`` that fit ``width``, broken at spaces."""
        lines, line = [], ""
        for word in text.split():
            trial = f"{line} {word}" if line else word
            if line and self.width(trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        return lines + ([line] if line else [])


def write_pdf(path: Path, title: str, chapters: list[Chapter], lang: str) -> None:
    import cairo

    fonts = list(dict.fromkeys([language(lang).font, *(other.font for other in LANGUAGES.values())]))
    pw, ph = PAGE
    surface = cairo.PDFSurface(str(path), pw, ph)
    surface.set_metadata(cairo.PDFMetadata.TITLE, title)
    ctx = cairo.Context(surface)
    typeset = _Type(ctx, fonts)
    inner = pw - 2 * MARGIN
    y = MARGIN

    def text(lines: list[str], size: float, at: float) -> float:
        ctx.set_font_size(size)
        ctx.set_source_rgb(0.07, 0.07, 0.07)
        for line in lines:
            at += size * LINE
            typeset.show(line, MARGIN, at)
        return at

    def new_page():
        nonlocal y
        ctx.show_page()
        y = MARGIN

    first = True
    for chapter in chapters:
        if not first:
            new_page()
        first = False
        ctx.set_font_size(HEADING_SIZE)
        y = text(typeset.wrap(chapter.title, inner), HEADING_SIZE, y) + 6
        if chapter.intro:
            ctx.set_font_size(TEXT_SIZE)
            y = text(typeset.wrap(chapter.intro, inner), TEXT_SIZE, y) + 8
        for fig in chapter.figures:
            scale = inner / fig.width
            ctx.set_font_size(TEXT_SIZE)
            lines = typeset.wrap(fig.narration, inner)
            need = fig.height * scale + 10 + len(lines) * TEXT_SIZE * LINE + 18
            if y + need > ph - MARGIN and y > MARGIN:
                new_page()
            ctx.save()
            ctx.translate(MARGIN, y)
            ctx.scale(scale, scale)
            ctx.set_source_surface(fig.drawing, 0, 0)
            ctx.rectangle(0, 0, fig.width, fig.height)
            ctx.fill()
            ctx.restore()
            y = text(lines, TEXT_SIZE, y + fig.height * scale + 4) + 18
    surface.finish()


# --- HTML ---------------------------------------------------------------------------------------------

def _svg(fig: Figure) -> bytes:
    import cairo

    buffer = io.BytesIO()
    surface = cairo.SVGSurface(buffer, fig.width, fig.height)
    ctx = cairo.Context(surface)
    ctx.set_source_surface(fig.drawing, 0, 0)
    ctx.paint()
    surface.finish()
    return buffer.getvalue()


HTML = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ font-family: {font}, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
         color: {text}; background: {background}; line-height: 1.45; }}
  figure {{ margin: 0 0 1.6rem; break-inside: avoid; }}
  figure img {{ width: 100%; height: auto; display: block; border: 1px solid #8884; }}
  figcaption {{ margin-top: .4rem; }}
  h2 {{ break-before: page; }} h2:first-of-type {{ break-before: auto; }}
  @media print {{ body {{ margin: 0; max-width: none; }} }}
</style>
</head>
<body>
<h1>{title}</h1>
{chapters}
</body>
</html>
"""


def html_page(title: str, chapters: list[Chapter], lang: str, theme: str) -> str:
    from scenes import style

    parts = []
    for chapter in chapters:
        parts.append(f"<h2>{html.escape(chapter.title)}</h2>")
        if chapter.intro:
            parts.append(f"<p>{html.escape(chapter.intro)}</p>")
        for fig in chapter.figures:
            data = base64.b64encode(_svg(fig)).decode()
            alt = html.escape(fig.narration, quote=True)
            parts.append(f'<figure data-step="{html.escape(fig.name, quote=True)}">'
                         f'<img src="data:image/svg+xml;base64,{data}" alt="{alt}" width="{fig.width}" '
                         f'height="{fig.height}"><figcaption>{html.escape(fig.narration)}</figcaption></figure>')
    palette = style.THEMES[theme]
    return HTML.format(lang=lang, title=html.escape(title), font=language(lang).font,
                       text=palette["TEXT"], background=palette["BACKGROUND"], chapters="\n".join(parts))
