"""Drop-in replacements for two hot spots of Manim 0.22's Cairo pipeline; the frames are the same pixels.

Frames to the encoder: Manim's segment encoder builds each frame with ``VideoFrame.from_ndarray``, which
copies the RGBA array (about 6 ms for a 1080p frame, holding the GIL, so drawing waits too), and
converts RGBA to the codec's pixel format again for every repeat of a held frame (a ``wait``). Manim
already hands the array over for good (its ``write_frame`` contract), so PyAV can wrap the buffer as it
is, and a held frame is converted once and sent again with each new timestamp.

Paths to Cairo: ``Camera.set_cairo_context_path`` reads six NumPy scalars per Bézier curve. Here the
whole path's control points become one Python list and Cairo is fed from it in a C loop; text outlines
are thousands of curves, so fades of captions and equations draw much faster. The curves are the same.
"""
from __future__ import annotations

from collections import deque
from fractions import Fraction
from itertools import starmap

import av
import numpy as np
from manim.camera.camera import Camera
from manim.scene import scene_file_writer
from manim.scene.video_segment_encoder import VideoSegmentEncoder

_ORIGINAL_PATH = Camera.set_cairo_context_path


class BufferedSegmentEncoder(VideoSegmentEncoder):
    def write_frame(self, pixels, *, repeat: int = 1) -> None:
        self._validate_frame(pixels, repeat)
        time_base = Fraction(self.spec.frame_rate.denominator, self.spec.frame_rate.numerator)
        try:
            frame = av.VideoFrame.from_numpy_buffer(pixels, format="rgba")  # keeps ``pixels`` alive
            if repeat > 1:
                ctx = self._stream.codec_context
                frame = frame.reformat(ctx.width, ctx.height, ctx.format, threads=ctx.thread_count)
            for _ in range(repeat):
                frame.pts, frame.time_base = self._next_pts, time_base
                self._next_pts += 1
                for packet in self._stream.encode(frame):
                    self._container.mux(packet)
        except BaseException as error:
            raise self._operation_error("encode", error) from error


def set_cairo_context_path(self: Camera, ctx, vmobject):
    """Manim's method with its per-curve NumPy indexing done as one ``tolist`` for the whole path."""
    points = self.transform_points_pre_display(vmobject, vmobject.points)
    if len(points) == 0:
        return self
    ctx.new_path()
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
    return self


def _points_equal_2d(p0: np.ndarray, p1: np.ndarray, atol: float) -> np.ndarray:
    """``VMobject.consider_points_equals_2d`` for many pairs at once (numpy.isclose with rtol 1e-5)."""
    with np.errstate(invalid="ignore"):
        diff = np.abs(p0 - p1)
        return ((p0 == p1) | ((diff <= atol + 1e-5 * np.abs(p1)) & np.isfinite(diff))).all(axis=1)


def install() -> None:
    """Use both replacements (idempotent)."""
    scene_file_writer.VideoSegmentEncoder = BufferedSegmentEncoder
    Camera.set_cairo_context_path = set_cairo_context_path


def uninstall() -> None:
    scene_file_writer.VideoSegmentEncoder = VideoSegmentEncoder
    Camera.set_cairo_context_path = _ORIGINAL_PATH
