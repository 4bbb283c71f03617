"""What the corpus says about each file (kept, or why not; how it was read) and about all of them.

``FileReport`` is one file's line; ``Summary`` adds reports up one at a time, so a corpus
of any size is totalled without holding its reports (``summarize`` does it for a list).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ERR_BINS = 480       # quantization error histogram: bins of 1/480 beat (one tick at 480 tpq)


@dataclass
class FileReport:
    path: str
    kept: bool
    reason: str = ""             # why it was dropped
    notes: int = 0
    bars: int = 0
    events: int = 0              # token events (notes, rests, ties)
    chord_coverage: float = 0.0  # share of notes with a chord in force (not N.C.)
    track: str = ""              # the melody part: a track name or "channel 3 (Piano)"
    track_reason: str = ""       # why: "named 'Melody'", "only non-drum track", "highest monophonic part", "--track"
    top_voice: bool = False      # a polyphonic part: its top voice is the melody
    skipped: list[str] = field(default_factory=list)   # "part: reason" of parts that had no melodic line
    chord_source: str = "none"   # "markers", "text", "inferred" or "none"
    polyphony_dropped: int = 0
    overlaps_trimmed: int = 0
    velocity_dropouts: int = 0
    ignored_markers: int = 0
    values_clipped: bool = False  # controller values above 127 clipped to read it
    onset_err_mean: float = 0.0  # beats
    onset_err_max: float = 0.0
    offset_err_mean: float = 0.0
    offset_err_max: float = 0.0
    # |error| histograms, bin i = i/ERR_BINS beat (the last bin: that or more), trailing zeros cut;
    # exact at 480 ticks per beat, and what lets a corpus report percentiles without the raw errors
    onset_err_hist: list[int] = field(default_factory=list)
    offset_err_hist: list[int] = field(default_factory=list)

    def line(self) -> str:
        if not self.kept:
            return f"dropped  {self.path}: {self.reason}"
        extra = [f"{self.polyphony_dropped} polyphonic notes dropped" if self.polyphony_dropped else "",
                 f"{self.overlaps_trimmed} overlaps trimmed" if self.overlaps_trimmed else "",
                 f"{self.velocity_dropouts} velocity dropouts filled" if self.velocity_dropouts else "",
                 f"{self.ignored_markers} non-chord markers ignored" if self.ignored_markers else "",
                 "controller values above 127 clipped" if self.values_clipped else ""]
        return (f"kept     {self.path}: {self.notes} notes, {self.bars} bars, {self.events} events, chords on "
                f"{100 * self.chord_coverage:.0f}% of notes, onset error mean {self.onset_err_mean:.3f} beat"
                + "".join(f", {e}" for e in extra if e) + f"; {self.reading()}")

    def reading(self) -> str:
        """What was read: the melody part and why, and where the chords came from."""
        how = self.track_reason + (", top voice" if self.top_voice else "")
        skipped = f", skipped {len(self.skipped)} part{'s'[:len(self.skipped) != 1]}" if self.skipped else ""
        return f"melody {self.track!r} ({how}{skipped}), chords {self.chord_source}"


def error_hist(err: np.ndarray) -> list[int]:
    """The |error| histogram of FileReport (bins of 1/ERR_BINS beat, trailing zeros cut)."""
    h = np.bincount(np.minimum(np.rint(np.abs(err) * ERR_BINS).astype(np.int64), ERR_BINS), minlength=1)
    return h[:np.flatnonzero(h)[-1] + 1].tolist() if h.any() else []


COUNTED = ("notes", "bars", "events", "polyphony_dropped", "overlaps_trimmed", "velocity_dropouts",
           "values_clipped", "ignored_markers")


class Summary:
    """Corpus totals for the ingest report (counts, chord coverage, quantization error), added up
    one report at a time."""

    def __init__(self):
        self.files = self.kept = 0
        self.sums = dict.fromkeys(COUNTED, 0)
        self.covered = 0.0
        self.sources: dict[str, int] = {}
        self.reasons: dict[str, int] = {}
        self.hist = {w: np.zeros(ERR_BINS + 1, np.int64) for w in ("onset", "offset")}
        self.max = {w: 0.0 for w in ("onset", "offset")}

    def add(self, r: FileReport) -> None:
        self.files += 1
        if not r.kept:
            return
        self.kept += 1
        for k in COUNTED:
            self.sums[k] += int(getattr(r, k))
        self.covered += r.chord_coverage * r.notes
        _bump(self.sources, r.chord_source)
        _bump(self.reasons, r.track_reason + (", top voice" if r.top_voice else ""))
        for w in self.hist:
            h = getattr(r, f"{w}_err_hist")
            self.hist[w][:len(h)] += h
            self.max[w] = max(self.max[w], getattr(r, f"{w}_err_max"))

    def totals(self) -> dict:
        notes = self.sums["notes"]
        return {"files": self.files, "kept": self.kept, "dropped": self.files - self.kept, "notes": notes,
                "bars": self.sums["bars"], "events": self.sums["events"],
                "chord_coverage": self.covered / notes if notes else 0.0,
                **{k: self.sums[k] for k in COUNTED[3:]},
                "chord_sources": _sorted(self.sources), "melody_reasons": _sorted(self.reasons),
                "onset_error": self._error_stats("onset"), "offset_error": self._error_stats("offset")}

    def _error_stats(self, which: str) -> dict[str, float]:
        """mean, p50, p90, p99, max of |quantization error| in beats, from the per-file histograms."""
        h = self.hist[which]
        n = h.sum()
        if n == 0:
            return {k: 0.0 for k in ("mean", "p50", "p90", "p99", "max")}
        values = np.arange(len(h)) / ERR_BINS
        cum = np.cumsum(h)
        q = lambda p: float(values[np.searchsorted(cum, p * n)])
        return {"mean": float(h @ values / n), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "max": self.max[which]}


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def _sorted(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def summarize(reports) -> dict:
    """Corpus totals of a list of reports (see Summary)."""
    s = Summary()
    for r in reports:
        s.add(r)
    return s.totals()
