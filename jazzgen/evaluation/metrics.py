"""Style metrics of a melody, and how to compare generated pieces with real ones.

The per-piece numbers follow the Jazz Transformer's MusDr suite (Wu & Yang 2020) and
Yang & Lerch 2018 ("On the evaluation of generative models in music"): each metric
is one float per piece, the real solos give a reference distribution, and a model is
judged by how much its distribution overlaps that reference.

Choices worth knowing:

* Pitch-class entropy counts note onsets, not durations, as MusDr's
  ``get_pitch_histogram`` does (a bebop line is about *which* notes are played; a
  long held tone would otherwise swamp a bar).  Windows are non-overlapping (bars
  0-3, 4-7, ...), where MusDr slides the window one bar at a time.
* Grooving similarity uses the full 12-steps-per-beat grid (48 positions per 4/4
  bar, MusDr uses 16), over bars holding at least one onset; empty bars are rests,
  not grooves.
* Everything is NaN when it is undefined (no notes, no intervals, no known chord);
  ``summarize`` and ``compare`` drop NaNs.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from jazzgen.music.notes import NoteSequence, per_chord

NAN = float("nan")

# Duration bins in grid steps (GRID = 12 per beat): 16ths and faster, 8th triplets,
# 8ths, up to a quarter, up to a half, longer.
DUR_BINS = (("le1_4", 3), ("le1_3", 4), ("le1_2", 6), ("le1", 12), ("le2", 24), ("gt2", None))


# ----------------------------------------------------------------------------- entropy

def _entropy_bits(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def pitch_class_entropy(seq: NoteSequence, window_bars: int = 1) -> float:
    """Mean pitch-class entropy (bits) over non-overlapping windows of ``window_bars`` bars.

    Low values mean the line sits on few pitch classes (tonal, repetitive); random
    chromatic noise gives log2(12) = 3.58.  Windows without notes are skipped.
    """
    if len(seq) == 0:
        return NAN
    bar, _ = seq.bar_position(seq.start)
    win = bar // window_bars
    pc = seq.pitch.astype(np.int64) % 12
    hist = np.zeros((int(win.max()) + 1, 12))
    np.add.at(hist, (win, pc), 1.0)
    return float(np.mean([_entropy_bits(h) for h in hist if h.sum() > 0]))


# ----------------------------------------------------------------------------- groove

def onset_matrix(seq: NoteSequence) -> tuple[np.ndarray, np.ndarray]:
    """Binary onset vectors of the bars that hold notes, and each bar's length in steps."""
    bar, pos = seq.bar_position(seq.start)
    bars, row = np.unique(bar, return_inverse=True)
    lengths = np.zeros(len(bars), np.int64)
    for i, s in zip(row, seq.start):
        lengths[i] = seq.time_signature_at(int(s)).bar_steps
    m = np.zeros((len(bars), int(lengths.max())), np.float64)
    m[row, pos] = 1.0
    return m, lengths


def grooving_similarity(seq: NoteSequence) -> float:
    """MusDr's GS: mean over bar pairs i<j of 1 - |onsets_i XOR onsets_j| / positions.

    High values mean the player keeps re-using the same rhythmic cells.  The XOR count
    is s_i + s_j - 2 <o_i, o_j>, so all pairs come out of one matrix product.
    """
    if len(seq) == 0:
        return NAN
    m, lengths = onset_matrix(seq)
    if len(m) < 2:
        return NAN
    s = m.sum(1)
    xor = s[:, None] + s[None, :] - 2.0 * (m @ m.T)
    positions = np.maximum(lengths[:, None], lengths[None, :])
    i, j = np.triu_indices(len(m), k=1)
    return float(np.mean(1.0 - xor[i, j] / positions[i, j]))


# ----------------------------------------------------------------------------- harmony

@functools.lru_cache(maxsize=4096)
def _chord_sets(symbol: str) -> tuple[frozenset, frozenset] | None:
    """(all chord pcs, chord tones root/3/5/7) of a symbol; None for N.C. or unparsable."""
    from jazzgen.music.chords import chord_or_none, chord_tones
    ch = chord_or_none(symbol)
    return None if ch is None else (frozenset(ch.pcs), frozenset(chord_tones(ch)))


def chord_tone_rates(seq: NoteSequence) -> tuple[float, float]:
    """(chord_tone_rate, arpeggio_tone_rate) over notes with a known chord in force.

    chord_tone_rate tests the chord's full pitch-class set (tensions included);
    arpeggio_tone_rate only root/3rd/5th/7th.  Notes before the first chord, under
    N.C. or under an unparsable symbol are left out; NaN when none are left.
    """
    if len(seq) == 0 or not seq.chords:
        return NAN, NAN
    sounding = per_chord([_chord_sets(c.symbol) for c in seq.chords], seq.chord_at(seq.start), None)
    hit_all, hit_core, known = 0, 0, 0
    for sets, p in zip(sounding, seq.pitch):
        if sets is None:
            continue
        known += 1
        hit_all += int(p) % 12 in sets[0]
        hit_core += int(p) % 12 in sets[1]
    if known == 0:
        return NAN, NAN
    return hit_all / known, hit_core / known


# ----------------------------------------------------------------------------- melody shape

def interval_stats(seq: NoteSequence) -> dict[str, float]:
    """Melodic motion between consecutive notes (rests ignored).

    The four rates partition the intervals: repeat (0), step (1-2 semitones),
    skip (3-12), leap (> an octave).
    """
    iv = np.abs(np.diff(seq.pitch.astype(np.int64)))
    if len(iv) == 0:
        return dict(mean_abs_interval=NAN, repeat_rate=NAN, step_rate=NAN,
                    skip_rate=NAN, leap_rate=NAN)
    return dict(mean_abs_interval=float(iv.mean()),
                repeat_rate=float(np.mean(iv == 0)),
                step_rate=float(np.mean((iv >= 1) & (iv <= 2))),
                skip_rate=float(np.mean((iv >= 3) & (iv <= 12))),
                leap_rate=float(np.mean(iv > 12)))


def duration_shares(seq: NoteSequence) -> dict[str, float]:
    """Share of notes per duration bin (``DUR_BINS``), i.e. a coarse rhythm histogram."""
    d = seq.duration.astype(np.int64)
    out, lo = {}, 0
    for label, hi in DUR_BINS:
        m = (d > lo) if hi is None else (d > lo) & (d <= hi)
        out[f"dur_share_{label}"] = float(m.mean()) if len(d) else NAN
        lo = hi if hi is not None else lo
    return out


def expression_stats(seq: NoteSequence) -> dict[str, float]:
    """What a listener hears besides the notes: loudness, articulation and silence.

    velocity_mean / velocity_sd: MIDI velocity over the notes; detached_share: notes
    (all but the last) whose sounding length ends before the next onset; rest_share:
    share of the time from the first onset to the last note's end spent in silences
    longer than ``tokens.CLOSE_GAPS`` steps (rests, not articulation).
    """
    from jazzgen.data.tokens import CLOSE_GAPS
    if not len(seq):
        return {"velocity_mean": NAN, "velocity_sd": NAN, "detached_share": NAN, "rest_share": NAN}
    v = seq.velocity.astype(np.float64)
    start, end = seq.start.astype(np.int64), seq.start.astype(np.int64) + seq.duration
    gap = start[1:] - end[:-1]
    span = max(int(end[-1] - start[0]), 1)
    return {"velocity_mean": float(v.mean()), "velocity_sd": float(v.std()),
            "detached_share": float((gap > 0).mean()) if len(gap) else NAN,
            "rest_share": float(gap[gap > CLOSE_GAPS].sum() / span)}


def piece_metrics(seq: NoteSequence, ngram_index: set | None = None, n: int = 8) -> dict[str, float]:
    """All per-piece metrics as one flat dict (novelty keys only when an index is given)."""
    out = dict(n_notes=float(len(seq)))
    out["H1"] = pitch_class_entropy(seq, 1)
    out["H4"] = pitch_class_entropy(seq, 4)
    out["GS"] = grooving_similarity(seq)
    out["chord_tone_rate"], out["arpeggio_tone_rate"] = chord_tone_rates(seq)
    if len(seq):
        bar, _ = seq.bar_position(seq.start)
        out["notes_per_bar"] = len(seq) / float(bar.max() - bar.min() + 1)
        out["pitch_range"] = float(seq.pitch.max() - seq.pitch.min())
        out["distinct_pitches"] = float(len(np.unique(seq.pitch)))
    else:
        out["notes_per_bar"] = out["pitch_range"] = out["distinct_pitches"] = NAN
    out.update(interval_stats(seq))
    out.update(duration_shares(seq))
    out.update(expression_stats(seq))
    if ngram_index is not None:
        out.update(novelty(seq, ngram_index, n))
    return out


# ----------------------------------------------------------------------------- novelty

def _window_keys(seq: NoteSequence, n: int) -> list[bytes]:
    """One bytes key per n-note window: its n-1 intervals then its n durations.

    Intervals make the key transposition-invariant; bytes hash fast and a set of
    ~175k of them is a few MB.
    """
    if len(seq) < n:
        return []
    iv = np.diff(seq.pitch.astype(np.int32))
    dur = seq.duration.astype(np.int32)
    w = len(seq) - n + 1
    rows = np.empty((w, 2 * n - 1), np.int32)
    rows[:, : n - 1] = np.lib.stride_tricks.sliding_window_view(iv, n - 1)[:w]
    rows[:, n - 1:] = np.lib.stride_tricks.sliding_window_view(dur, n)
    return np.ascontiguousarray(rows).view(np.dtype((np.void, rows.shape[1] * 4))).ravel().tolist()


def build_ngram_index(seqs, n: int = 8) -> set:
    """Set of every n-note (intervals, durations) window in the training pieces."""
    index: set = set()
    for s in seqs:
        index.update(_window_keys(s, n))
    return index


def novelty(seq: NoteSequence, index: set, n: int = 8) -> dict[str, float]:
    """How much of a piece is copied verbatim from the training set.

    copied_share: share of the piece's n-note windows found in ``index`` (NaN when the
    piece is shorter than n); longest_copied_run: the longest stretch of consecutive
    notes covered by copied windows, in notes (0 when nothing is copied).
    """
    keys = _window_keys(seq, n)
    if not keys:
        return dict(copied_share=NAN, longest_copied_run=0.0)
    hit = np.array([k in index for k in keys])
    covered = np.zeros(len(seq) + 1, np.int64)  # difference array of window coverage
    np.add.at(covered, np.flatnonzero(hit), 1)
    np.add.at(covered, np.flatnonzero(hit) + n, -1)
    on = np.concatenate([[0], (np.cumsum(covered[:-1]) > 0).astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(on))
    runs = edges[1::2] - edges[::2]
    return dict(copied_share=float(hit.mean()),
                longest_copied_run=float(runs.max()) if len(runs) else 0.0)


# ----------------------------------------------------------------------------- sets of pieces

def _values(dicts: list[dict], key: str) -> np.ndarray:
    v = np.array([d.get(key, NAN) for d in dicts], np.float64)
    return v[~np.isnan(v)]


def _keys(*sets: list[dict]) -> list[str]:
    keys: dict[str, None] = {}
    for dicts in sets:
        for d in dicts:
            keys.update(dict.fromkeys(d))
    return list(keys)


def _sd(v: np.ndarray) -> float:
    return float(v.std(ddof=1)) if len(v) > 1 else (0.0 if len(v) else NAN)


def summarize(dicts: list[dict]) -> dict[str, dict[str, float]]:
    """Per metric: mean, sample sd, median and n over the pieces, NaNs ignored."""
    out = {}
    for k in _keys(dicts):
        v = _values(dicts, k)
        out[k] = dict(mean=float(v.mean()) if len(v) else NAN, sd=_sd(v),
                      median=float(np.median(v)) if len(v) else NAN, n=len(v))
    return out


def _kde(x: np.ndarray, grid: np.ndarray, h: float) -> np.ndarray:
    z = (grid[:, None] - x[None, :]) / h
    return np.exp(-0.5 * z * z).sum(1) / (len(x) * h * math.sqrt(2 * math.pi))


def overlap_area(a: np.ndarray, b: np.ndarray, grid_points: int = 2048) -> float:
    """Overlapping area of two Gaussian KDEs (Scott's bandwidth), as in Yang & Lerch 2018.

    1 means indistinguishable distributions, 0 disjoint ones.  The bandwidth is
    floored at 1/200 of the pooled range (constant sets would otherwise give a zero
    bandwidth), and each density is renormalised on the grid so both integrate to 1.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        return NAN
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    floor = (hi - lo) / 200 if hi > lo else max(abs(hi), 1.0) * 1e-3
    ha, hb = (max(_sd(v) * len(v) ** -0.2, floor) for v in (a, b))
    grid = np.linspace(lo - 5 * max(ha, hb), hi + 5 * max(ha, hb), grid_points)
    pa, pb = _kde(a, grid, ha), _kde(b, grid, hb)
    pa, pb = pa / np.trapezoid(pa, grid), pb / np.trapezoid(pb, grid)
    return float(min(1.0, np.trapezoid(np.minimum(pa, pb), grid)))


def compare(gen: list[dict], real: list[dict]) -> dict[str, dict[str, float]]:
    """Per metric: means/sds of both sets, KDE overlap, and whether gen_mean is within 1 real sd."""
    out = {}
    for k in _keys(real, gen):
        g, r = _values(gen, k), _values(real, k)
        gm = float(g.mean()) if len(g) else NAN
        rm = float(r.mean()) if len(r) else NAN
        rs = _sd(r)
        out[k] = dict(gen_mean=gm, gen_sd=_sd(g), real_mean=rm, real_sd=rs,
                      overlap=overlap_area(g, r),
                      within_1sd=bool(abs(gm - rm) <= rs) if len(g) and len(r) else False)
    return out


def metrics_table_markdown(comparison: dict[str, dict[str, float]]) -> str:
    """The output of ``compare`` as a Markdown table, one metric per row."""
    lines = ["| metric | generated | real | overlap | within 1 sd |",
             "|---|---|---|---|---|"]
    for k, c in comparison.items():
        lines.append(f"| {k} | {c['gen_mean']:.3f} ± {c['gen_sd']:.3f} "
                     f"| {c['real_mean']:.3f} ± {c['real_sd']:.3f} "
                     f"| {c['overlap']:.3f} | {'yes' if c['within_1sd'] else 'no'} |")
    return "\n".join(lines) + "\n"


def plot_histograms(gen: list[dict], real: list[dict], path_png: str) -> None:
    """A grid of small histograms, generated vs real, one panel per metric; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = _keys(real, gen)
    cols = 4
    rows = max(1, -(-len(keys) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, k in zip(axes.ravel(), keys):
        g, r = _values(gen, k), _values(real, k)
        both = np.concatenate([g, r])
        if len(both):
            lo, hi = both.min(), both.max()
            bins = np.linspace(lo, hi if hi > lo else lo + 1, 21)
            ax.hist(r, bins=bins, density=True, alpha=0.5, label="real")
            ax.hist(g, bins=bins, density=True, alpha=0.5, label="generated")
        ax.set_title(k, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(keys):]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=7)
    fig.tight_layout()
    from jazzgen.util import atomic_write
    try:
        atomic_write(path_png, lambda f: fig.savefig(f, format="png", dpi=100))
    finally:
        plt.close(fig)
