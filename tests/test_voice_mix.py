"""The voice track: segments (recorded narration, the draft voice) placed at their times, whatever order
they come in, each cut where the next one starts."""
import numpy as np

from pipeline.voice import RATE, mix


def test_segments_are_placed_by_their_start_whatever_order_they_come_in():
    # a chapter's recorded voice (at 2 s) listed before an earlier clip's draft voice (at 0 s, 3 s long): the
    # draft is cut at 2 s and the recording plays whole from 2 s
    recorded, draft = np.full(RATE, 0.5, np.float32), np.full(3 * RATE, 0.25, np.float32)
    track = mix([(2.0, recorded), (0.0, draft)], 4.0)
    assert track.size == 4 * RATE
    assert np.all(track[:2 * RATE] == 0.25) and np.all(track[2 * RATE:3 * RATE] == 0.5)
    assert np.all(track[3 * RATE:] == 0)
