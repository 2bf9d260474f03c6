"""Where a recording pauses, measured from the audio itself (frame energy), and whether a clip edge is in speech.

Whisper's word timestamps are often 0.1-0.3 s off, so they only say roughly where a pause is; this module
finds the quiet stretch itself and the quietest moment in it, which is where a cut belongs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME_SECONDS = 0.01
EDGE_SECONDS = 0.03  # the stretch at each end of a clip that must not be speech
EDGE_SPEECH_RATIO = 0.25  # ... "speech": louder than this share of the clip's median frame energy
QUIET_BELOW_LOUD_DB = 35.0  # quiet: this far below the recording's loud frames ...
QUIET_ABOVE_FLOOR_DB = 10.0  # ... or close to its noise floor, whichever is the louder level,
MIN_BELOW_LOUD_DB = 12.0  # ... but never closer to the loud frames than this
NEAR_QUIETEST_DB = 3.0


@dataclass(frozen=True)
class Pause:
    """A quiet stretch [start, end] in seconds and the moment to cut in it (start == end: no quiet found)."""

    start: float
    end: float
    cut: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


class EnergyTrack:
    """Frame energy of one recording (10 ms frames, smoothed over 30 ms) and its quiet threshold."""

    def __init__(self, samples: np.ndarray, sample_rate: int):
        self.sample_rate = sample_rate
        self.frame = max(1, int(round(sample_rate * FRAME_SECONDS)))
        self.duration = len(samples) / sample_rate
        power = frame_power(samples, self.frame)
        # A 30 ms window: a single quiet frame between two pitch pulses is not a pause.
        smoothed = np.convolve(power, np.ones(3) / 3, mode="same") if power.size >= 3 else power
        self.db = 10.0 * np.log10(np.maximum(smoothed, 1e-10))
        audible = self.db[self.db > -95.0]  # digital silence is not part of the speech level
        if audible.size:
            loud, floor = float(np.percentile(audible, 90)), float(np.percentile(self.db, 5))
            # Quiet: near the noise floor, but always at least 12 dB under the speech, and everything 35 dB
            # under the speech (a recording with a low floor or digital silence).
            self.quiet_db = max(loud - QUIET_BELOW_LOUD_DB, min(floor + QUIET_ABOVE_FLOOR_DB, loud - MIN_BELOW_LOUD_DB))
        else:
            self.quiet_db = 0.0  # nothing but digital silence: all of it is quiet
        edges = np.diff(np.concatenate([[0], (self.db < self.quiet_db).astype(np.int8), [0]]))
        self._run_starts, self._run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)

    def pause_in(self, lo: float, hi: float) -> Pause:
        """The longest quiet stretch with frames inside [lo, hi], measured to its full extent, cut at its
        quietest moment inside [lo, hi]; with no quiet frame there, the quietest moment of [lo, hi] itself."""
        first, last = self._frames(lo, hi)
        if last < first:
            t = min(max(lo, 0.0), self.duration)
            return Pause(t, t, t)
        runs = self._quiet_runs(first, last)
        if not runs:
            cut = self._time(first + self._quietest(first, last) + 0.5)
            return Pause(cut, cut, cut)
        run_start, run_end = max(runs, key=lambda r: (min(r[1], last + 1) - max(r[0], first), -abs(r[0] - first)))
        inner_first, inner_last = max(run_start, first), min(run_end, last + 1) - 1
        cut_frame = inner_first + self._quietest(inner_first, inner_last)
        return Pause(self._time(run_start), self._time(run_end), self._time(cut_frame + 0.5))

    def quiet_runs_in(self, lo: float, hi: float) -> list[Pause]:
        """Every quiet stretch with frames inside [lo, hi], each to its full extent (cut at its middle)."""
        first, last = self._frames(lo, hi)
        return [Pause(self._time(s), self._time(e), self._time((s + e) / 2)) for s, e in self._quiet_runs(first, last)]

    def _frames(self, lo: float, hi: float) -> tuple[int, int]:
        """The frames whose centres lie in [lo, hi]."""
        first = max(0, int(np.ceil(lo * self.sample_rate / self.frame - 0.5)))
        last = min(len(self.db) - 1, int(np.floor(hi * self.sample_rate / self.frame - 0.5)))
        return first, last

    def _quiet_runs(self, first: int, last: int) -> list[tuple[int, int]]:
        """[start, end) frame ranges of the quiet runs that touch frames first..last, to their full extent."""
        lo = int(np.searchsorted(self._run_ends, first, side="right"))
        hi = int(np.searchsorted(self._run_starts, last, side="right"))
        return [(int(self._run_starts[i]), int(self._run_ends[i])) for i in range(lo, hi)]

    def _quietest(self, first: int, last: int) -> int:
        """Offset from `first` of the quietest frame; among near-equal ones (flat silence), the middle one."""
        levels = self.db[first:last + 1]
        near = np.flatnonzero(levels <= levels.min() + NEAR_QUIETEST_DB)
        middle = (len(levels) - 1) / 2
        return int(near[np.argmin(np.abs(near - middle))])

    def _time(self, frame: float) -> float:
        return min(self.duration, frame * self.frame / self.sample_rate)


def frame_power(samples: np.ndarray, frame: int) -> np.ndarray:
    """Mean square of consecutive frames of `frame` samples (a last partial frame over its own samples)."""
    samples = np.asarray(samples, dtype=np.float32)
    whole = len(samples) // frame
    frames = samples[:whole * frame].reshape(whole, frame)  # a view: no copy of an hour-long recording
    power = np.einsum("ij,ij->i", frames, frames) / frame
    tail = samples[whole * frame:]
    if tail.size:
        power = np.append(power, np.mean(tail * tail))
    return power.astype(np.float32)


def edges_in_speech(clip: np.ndarray, sample_rate: int) -> tuple[bool, bool]:
    """(start, end): whether the first / last 30 ms of `clip` are speech, i.e. their energy is above a quarter
    of the clip's median 10 ms frame energy (the rule the cut benchmark measures by)."""
    clip = np.asarray(clip, dtype=np.float32)
    edge = max(1, int(round(EDGE_SECONDS * sample_rate)))
    power = frame_power(clip, max(1, int(round(FRAME_SECONDS * sample_rate))))
    if power.size == 0 or len(clip) < 2 * edge:
        return False, False
    limit = EDGE_SPEECH_RATIO * float(np.median(power))
    head, tail = clip[:edge], clip[-edge:]
    return float(np.mean(head * head)) > limit, float(np.mean(tail * tail)) > limit
