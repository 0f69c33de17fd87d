"""Faster parts for Manim 0.22's Cairo pipeline; what is drawn and encoded is the same.

Where a 1080p render's time went (profiled), and what replaces it here:

- One stream per scene. Manim encodes each animation into its own file with its own x264 and joins the
  files at the end: every animation paid for a fresh encoder (a hundred MB of buffers faulted in and
  zeroed), a keyframe and a drained pipeline. Our renders disable Manim's segment cache, so nothing needs
  those files: ``OneStreamFileWriter`` sends the whole scene to one encoder. Files are also smaller.
- No frame copies. Manim copies the camera's array for every frame into fresh memory, and its encoder
  copies it again (``VideoFrame.from_ndarray``). ``RecyclingRenderer`` hands the drawn array itself over
  and draws on into an array the encoder has finished with; PyAV wraps the array without a copy.
- Conversion beside encoding. Manim's encoder thread converts RGBA to YUV and then waits in x264, in
  turn; ``BufferedSegmentEncoder`` converts on that thread while a second one runs x264 (both release
  the GIL), and converts a held frame (a ``wait``) once instead of once per repeat.
- Paths built once. ``Camera.set_cairo_context_path`` reads six NumPy scalars per Bézier curve, for
  every mobject in every frame. Here a path is built from one ``tolist`` of its points, and kept: a
  mobject drawn again with the same points (fades, pulses, each animation's static background) gets
  the stored Cairo path back.
- Colour arrays without detours. Every glyph's fill and strokes are set through
  ``VMobject.generate_rgbas_array``, which builds lists, copies the colour and stacks small arrays for
  what is, nearly always, one colour and one opacity: that case is written out directly.
- Copies without detours. ``Mobject.copy`` (and every Transform) sends each value through
  ``copy.deepcopy``, which cost more than building a text again; ``mobject_deepcopy`` copies arrays and
  rebuilds containers directly and shares immutable values, colours and parsed SVG paths; a cached
  label's groups share their lists of members (``svg_cache``).
- Extents in one pass (``bounds``): a mobject's anchors and extremes gathered with NumPy, not one Python
  tuple per anchor and a recursion per submobject; the same numbers.
- Text outlines closed with NumPy (``text_closing``), not a Python loop over every glyph point; the same
  points.
- No renderer switch that switches nothing. ``tempconfig`` sets the renderer on entry and on exit, and
  Manim's setter re-points the bases of every class it can convert to OpenGL (147; 12 ms, and Python's
  method caches emptied) even when the renderer stays Cairo.
"""
from __future__ import annotations

import copy
import queue
import threading
from collections import deque
from enum import Enum
from fractions import Fraction
from itertools import starmap
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType
from manim import BLACK, ManimColor, Mobject, VMobject
from manim._config.utils import ManimConfig
from manim.camera.camera import Camera
from manim.constants import CapStyleType, LineJointType, RendererType
from manim.renderer.cairo_renderer import CairoRenderer
from manim.scene import scene_file_writer
from manim.scene.scene_file_writer import SceneFileWriter
from manim.scene.video_segment_encoder import VideoSegmentEncoder
from svgelements import Path as SvgPath

from . import bounds, text_closing

_ORIGINAL_PATH = Camera.set_cairo_context_path
_ORIGINAL_RGBAS = VMobject.generate_rgbas_array
_ORIGINAL_DEEPCOPY = Mobject.__deepcopy__
_ORIGINAL_RENDERER = ManimConfig.renderer


# Frame arrays the encoder has finished with, for the renderer to fill again (deque: thread-safe ends).
_FREE_FRAMES: deque[np.ndarray] = deque(maxlen=16)
# The frames (by their number in the stream) that start a step: encoded as keyframes, so that a player
# seeks to a step and a clip cut at its steps (pipeline/chunks.py) is encoded as it would be whole.
_KEYFRAMES: set[int] = set()


class SkipsDrawing(CairoRenderer):
    """Manim's Cairo renderer that draws nothing for an animation it skips.

    Manim draws a skipped animation's static image and frozen frames and then throws them away (only
    its end state matters). A scene built without drawing (its timing, the cost plan of its chunks) or a
    chunk replaying the scene up to its start skips nearly every animation, so that drawing was nearly
    all of their time. A still is drawn after the last animation, outside ``play``, and still is.
    """

    _playing = False

    def play(self, scene, *args, **kwargs):
        self._playing = True
        try:
            super().play(scene, *args, **kwargs)
        finally:
            self._playing = False

    def update_frame(self, scene, *args, **kwargs):
        if not (self._playing and self.skip_animations):
            super().update_frame(scene, *args, **kwargs)

    def save_static_frame_data(self, scene, static_mobjects):
        if self._playing and self.skip_animations:
            self.static_image = None
            return None
        return super().save_static_frame_data(scene, static_mobjects)


class RecyclingRenderer(SkipsDrawing):
    """Manim's Cairo renderer that hands its drawn array over instead of copying it.

    Manim copies the camera's array for every frame, into fresh memory. Here the camera's array itself
    goes to the encoder and the camera draws the next frame into an array the encoder has converted and
    let go. Manim starts every frame by copying the background (or the static image) in, so what was in
    the array before never shows.
    """

    on_play = None  # called after every animation with (animations so far, seconds of video so far)
    keyframe_steps = True  # each step's first frame a keyframe (a chunk's cuts need them)

    def __init__(self, **kwargs):
        super().__init__(file_writer_class=OneStreamFileWriter, **kwargs)
        self.frames_out = 0  # frames handed to the encoder so far
        _KEYFRAMES.clear()

    def on_step(self) -> None:
        """A step starts (scenes/pacing.py): its first frame is a keyframe, if asked."""
        if self.keyframe_steps:
            _KEYFRAMES.add(self.frames_out)

    def add_frame(self, frame, num_frames: int = 1) -> None:
        if not self.skip_animations:
            self.frames_out += num_frames
        super().add_frame(frame, num_frames)

    def play(self, scene, *args, **kwargs):
        super().play(scene, *args, **kwargs)
        if self.on_play is not None:
            self.on_play(self.num_plays, scene.time)

    def get_frame(self):
        camera = self.camera
        frame = camera.pixel_array
        camera.pixel_array_to_cairo_context.pop(id(frame), None)  # its Cairo surface goes with it
        camera.pixel_array = _free_frame_like(frame)
        return frame

    def save_static_frame_data(self, scene, static_mobjects):
        replaced = self.static_image
        image = super().save_static_frame_data(scene, static_mobjects)
        if replaced is not None and replaced is not self.static_image:
            _FREE_FRAMES.append(replaced)  # only ever the background of frames already drawn
        return image


def _free_frame_like(frame: np.ndarray) -> np.ndarray:
    while _FREE_FRAMES:
        try:
            free = _FREE_FRAMES.pop()
        except IndexError:  # taken meanwhile
            break
        if free.shape == frame.shape and free.dtype == frame.dtype:
            return free
    return np.empty_like(frame)


class BufferedSegmentEncoder(VideoSegmentEncoder):
    """Manim's segment encoder, fed without copies, converting each frame while x264 encodes the last.

    Manim's encoder job thread converts RGBA to the codec's format and then waits in x264 for it, in
    turn; here the job thread converts and a second thread runs x264, so the two overlap (both release
    the GIL). The queue between them is short: a converted 1080p frame is 3 MB.
    """

    def __init__(self, *, target, spec) -> None:
        super().__init__(target=target, spec=spec)
        self._converted: queue.Queue = queue.Queue(maxsize=4)
        self._time_base = Fraction(spec.frame_rate.denominator, spec.frame_rate.numerator)
        self._error: BaseException | None = None
        self._x264 = threading.Thread(target=self._encode_converted, name=f"encode-{target.name}", daemon=True)
        self._x264.start()

    def _encode_converted(self) -> None:
        while (item := self._converted.get()) is not None:
            if self._error is not None:
                continue  # drain, so that a writer blocked on the queue is released
            frame, repeat = item
            try:
                for _ in range(repeat):
                    frame.pts, frame.time_base = self._next_pts, self._time_base
                    frame.pict_type = PictureType.I if self._next_pts in _KEYFRAMES else PictureType.NONE
                    self._next_pts += 1
                    for packet in self._stream.encode(frame):
                        self._container.mux(packet)
            except BaseException as error:  # noqa: BLE001 - reported by the next write_frame or finish
                self._error = error

    def write_frame(self, pixels, *, repeat: int = 1) -> None:
        self._validate_frame(pixels, repeat)
        if self._error is not None:
            raise self._operation_error("encode", self._error)
        ctx = self._stream.codec_context
        try:
            frame = av.VideoFrame.from_numpy_buffer(pixels, format="rgba")  # wraps ``pixels``, no copy
            if ctx.format.name != "rgba":
                frame = frame.reformat(ctx.width, ctx.height, ctx.format, threads=ctx.thread_count)
                _FREE_FRAMES.append(pixels)  # converted: the renderer may fill it again
        except BaseException as error:
            raise self._operation_error("encode", error) from error
        self._converted.put((frame, repeat))

    def _drain(self) -> None:
        if self._x264.is_alive():
            self._converted.put(None)
            self._x264.join()

    def finish(self) -> None:
        self._drain()
        if self._error is not None:  # Manim's job then calls abort, which removes the file
            raise self._operation_error("encode", self._error)
        super().finish()

    def abort(self) -> None:
        self._error = self._error or RuntimeError("aborted")
        self._drain()
        super().abort()


class OneStreamFileWriter(SceneFileWriter):
    """Manim's writer with all animations encoded by one encoder job into one segment file.

    Manim opens and seals a job per animation; here the first animation opens the scene's job and the
    others reuse it, and ``finish`` seals it and hands Manim that one file to join (a cheap remux, or the
    GIF conversion). Sections need one file per animation, so with ``save_sections`` it is Manim's writer.
    """

    _stream_job = None

    def open_partial_movie_stream(self, *, animation_index: int, file_path=None) -> None:
        if self.output_spec.save_sections:
            return super().open_partial_movie_stream(animation_index=animation_index, file_path=file_path)
        if self._stream_job is None:
            super().open_partial_movie_stream(
                animation_index=animation_index,
                file_path=self.partial_movie_directory / f"scene{self.output_plan.segment_extension}")
            self._stream_job = self._current_encode_job
        self._current_encode_job = self._stream_job

    def close_partial_movie_stream(self) -> None:
        if self.output_spec.save_sections:
            return super().close_partial_movie_stream()
        self._current_encode_job = None  # the stream stays open for the next animation

    def finish(self) -> None:
        job, self._stream_job = self._stream_job, None
        if job is not None:
            job.seal()
            job.join()
            self.partial_movie_files = [str(job.path)]
        super().finish()

    def abort_encode_jobs(self, reraise_encoder_failures: bool = False) -> None:
        # Between animations the stream is not Manim's "current" job; hand it over so it is discarded.
        if self._stream_job is not None and self._current_encode_job is None:
            self._current_encode_job = self._stream_job
        self._stream_job = None
        super().abort_encode_jobs(reraise_encoder_failures)


# Cairo paths already built, by mobject: (the points they were built from, the path). Fades, pulses and
# each animation's redraw of the static background draw the same outlines again and again; a path is a
# function of its points alone, so an equal copy of the points means the stored path can be appended.
_PATHS: dict[int, tuple[np.ndarray, object]] = {}
_MAX_PATHS = 20_000


def set_cairo_context_path(self: Camera, ctx, vmobject):
    """Manim's method with its per-curve NumPy indexing done as one ``tolist``, and built paths reused."""
    points = self.transform_points_pre_display(vmobject, vmobject.points)
    if len(points) == 0:
        return self
    ctx.new_path()
    built = _PATHS.get(id(vmobject))
    if built is not None and built[0].shape == points.shape and np.array_equal(built[0], points):
        ctx.append_path(built[1])
        return self
    n = vmobject.n_points_per_cubic_curve
    splits = vmobject.get_subpath_split_indices_from_points(points, n_dims=2)
    splits = splits[splits[:, 1] - splits[:, 0] >= n]  # Manim skips a subpath shorter than one curve
    if not len(splits):
        return self
    # Subpaths start on curve boundaries; each curve is [anchor, handle, handle, anchor] and Cairo takes
    # the last three from the current point. Only complete curves are drawn, as in Manim.
    curves = points[:len(points) // n * n].reshape(-1, n, 3)[:, 1:, :2].reshape(-1, 2 * (n - 1)).tolist()
    first, last = points[splits[:, 0], :2], points[splits[:, 1] - 1, :2]
    closed = _points_equal_2d(first, last, vmobject.tolerance_for_point_equality)
    curve_to = ctx.curve_to
    for (start, end), (x, y), close in zip(splits.tolist(), first.tolist(), closed.tolist()):
        ctx.new_sub_path()
        ctx.move_to(x, y)
        deque(starmap(curve_to, curves[start // n:start // n + (end - start) // n]), maxlen=0)  # a loop in C
        if close:
            ctx.close_path()
    if len(_PATHS) >= _MAX_PATHS:
        _PATHS.clear()
    _PATHS[id(vmobject)] = (points.copy(), ctx.copy_path())
    return self


def _points_equal_2d(p0: np.ndarray, p1: np.ndarray, atol: float) -> np.ndarray:
    """``VMobject.consider_points_equals_2d`` for many pairs at once (numpy.isclose with rtol 1e-5)."""
    with np.errstate(invalid="ignore"):
        diff = np.abs(p0 - p1)
        return ((p0 == p1) | ((diff <= atol + 1e-5 * np.abs(p1)) & np.isfinite(diff))).all(axis=1)


def generate_rgbas_array(self: VMobject, color, opacity) -> np.ndarray:
    """``VMobject.generate_rgbas_array`` for its common case (one colour, one opacity, no sheen) without the
    lists, the colour's copy and the per-entry arrays Manim makes on the way: every glyph's fill, stroke and
    background stroke go through here, hundreds of thousands of times a render. Other cases: Manim's."""
    if ((color is None or isinstance(color, (str, ManimColor)))
            and (opacity is None or (isinstance(opacity, (int, float)) and not isinstance(opacity, bool)))
            and self.get_sheen_factor() == 0):
        rgba = np.empty((1, 4))
        rgba[0, :3] = (BLACK if color is None else color if isinstance(color, ManimColor)
                       else ManimColor(color))._internal_value[:3]
        rgba[0, 3] = 0.0 if opacity is None else opacity
        return rgba
    return _ORIGINAL_RGBAS(self, color, opacity)


# Values a copy may share with its original: immutable, or never changed in place by Manim or us: a colour,
# and a glyph's parsed SVG path (``path_obj``, read once while the glyph is made; a label built before its
# glyphs were cached carries one, and copying its segments was three quarters of copying the label).
_SHARED = (type(None), bool, int, float, complex, str, bytes, ManimColor, Enum, Path, np.generic, SvgPath)


def mobject_deepcopy(self: Mobject, memo: dict) -> Mobject:
    """``Mobject.__deepcopy__`` (what ``copy()`` and every Transform's copies use) with the common values
    copied directly: NumPy arrays copied, lists, tuples and dicts rebuilt, mobjects copied through ``memo``
    (so a group's glyphs that are also its submobjects stay one object), immutable values and colours
    shared. Anything else goes to ``copy.deepcopy`` with the same ``memo``. Manim's own sends every value
    through ``copy.deepcopy``: three times the time of building a text from its cached glyphs."""
    result = self.__class__.__new__(self.__class__)
    memo[id(self)] = result
    attrs = result.__dict__
    attrs.update(self.__dict__)  # shared values stay as they are: most of a glyph's thirty are numbers and colours
    for k, v in attrs.items():
        if type(v) not in _SHARED_EXACT:
            attrs[k] = _copied(v, memo)
    result.original_id = str(id(self))
    return result


# The shared types a mobject's values nearly always are, looked up by exact type before isinstance's walk.
_SHARED_EXACT = frozenset({type(None), bool, int, float, str, ManimColor, np.float64, LineJointType, CapStyleType})


def _copied(v, memo: dict):
    if type(v) in _SHARED_EXACT or isinstance(v, _SHARED):
        return v
    done = memo.get(id(v))
    if done is not None:
        return done
    if type(v) is np.ndarray:
        out = v.copy()
    elif type(v) is list:
        out = memo[id(v)] = []
        out.extend(_copied(x, memo) for x in v)
    elif type(v) is dict:
        out = memo[id(v)] = {}
        out.update((_copied(k, memo), _copied(x, memo)) for k, x in v.items())
    elif type(v) is tuple:
        out = tuple(_copied(x, memo) for x in v)
    else:
        return copy.deepcopy(v, memo)  # mobjects (our __deepcopy__) and the rare other value
    memo[id(v)] = out
    copy._keep_alive(v, memo)  # as deepcopy does: v must outlive memo, or its id could be reused
    return out


def _set_renderer(config: ManimConfig, value) -> None:
    """``ManimConfig.renderer``'s setter, which does nothing when the renderer stays the same."""
    try:  # the value as Manim's setter reads it (a name in any case, or the enum)
        same = config._d.get("renderer") is RendererType(value.lower() if isinstance(value, str) else value)
    except ValueError:
        same = False  # not a renderer: Manim's setter says so
    if not same:
        _ORIGINAL_RENDERER.fset(config, value)


KEEPS_RENDERER = property(_ORIGINAL_RENDERER.fget, _set_renderer, doc=_ORIGINAL_RENDERER.__doc__)


def keep_renderer() -> None:
    """Only the renderer setter of ``install`` (the tests take it alone: their Manim is otherwise stock)."""
    ManimConfig.renderer = KEEPS_RENDERER


def install() -> None:
    """Use the encoder, the path builder, the colour arrays, the copies and the renderer setter everywhere
    (idempotent); renders also pass RecyclingRenderer."""
    scene_file_writer.VideoSegmentEncoder = BufferedSegmentEncoder
    Camera.set_cairo_context_path = set_cairo_context_path
    VMobject.generate_rgbas_array = generate_rgbas_array
    Mobject.__deepcopy__ = mobject_deepcopy
    keep_renderer()
    bounds.install()
    text_closing.install()
    _PATHS.clear()


def uninstall() -> None:
    scene_file_writer.VideoSegmentEncoder = VideoSegmentEncoder
    Camera.set_cairo_context_path = _ORIGINAL_PATH
    VMobject.generate_rgbas_array = _ORIGINAL_RGBAS
    Mobject.__deepcopy__ = _ORIGINAL_DEEPCOPY
    ManimConfig.renderer = _ORIGINAL_RENDERER
    bounds.uninstall()
    text_closing.uninstall()
    _PATHS.clear()
