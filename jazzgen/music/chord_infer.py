"""Chord changes inferred from accompaniment notes (piano, guitar, bass), for MIDI without symbols.

Band arrangements, Band-in-a-Box files and jazz-piano MIDI carry their changes only as
notes.  This module turns polyphonic notes (NumPy arrays in grid steps) into
``list[notes.ChordChange]`` whose symbols ``chords.parse_chord`` reads ("Bb7", "Cm7b5").

How, in the manner of Magenta note_seq's ``chord_inference``:

1. **Frames.** One per beat (or half bar), cut along the bar lines of the time signatures.
   A half bar sums its beats' chroma; its bass is its first beat's (``frame_chroma``).
2. **Chroma.** Each note adds ``overlap / frame length * velocity`` to its pitch class,
   an onset inside the frame counting extra (an attack is heard more than a held tail).
   The lowest sounding notes of a frame also go to a separate bass chroma, and count
   only 0.3 in the chord chroma: a walking bass passes through notes that are no tone
   of the chord (the chromatic A that leads Fm7 into Bb7 is Fm7's major third), and
   heard at full weight they turned minor sevenths into dominants (3 points of
   quality-family accuracy, ``scripts/tools/chord_accuracy.py``).  The root the bass states
   still counts through the bass terms below.
3. **Templates.** Every (root, quality) scores ``chroma . template``: chord tones +1,
   the quality's usual tensions (9, 11, 13, b9...) a little, other pitch classes minus, and
   a cost for absent guide tones (3rd, 7th/6th).  The bass adds a bonus when it plays
   the root, most on a chord's first frame (walking bass and comping left hands state the
   root where the chord changes: that is what separates Dm7 from the Fmaj7 that its
   rootless voicing F-A-C-E also spells) and a smaller one for any chord tone.  A chord
   whose first frame sounds its root nowhere (bass or not) pays ``root_missing``: else a bare
   triad reads as the seventh chord a third below it (C/G as Am7, G-B-D as Em7), whose
   3rd, 5th and 7th it is, while its root A sounds nowhere.  Later frames need no root:
   a walking bass leaves it.
   A prior favours the common jazz qualities (7, m7, maj7 over aug or sus).
   Which voicings a file plays sets the chord-tone weights: jazz comping leaves out root
   and fifth, so they weigh least (``Params.tone_weight``); pop, folk and classical accompaniment
   doubles the bass in root-position triads, where those weights read a C triad as the
   Am7 whose 3rd, 5th and 7th it is as soon as an A passes by.  ``rooted_share``
   measures how often the upper notes double the bass and moves the weights toward
   ``rooted_weight`` (equal), and the bass root's bonus on a chord's later frames toward
   ``bass_root_rooted`` (a rooted bass holds the root: a bare fifth C#-G# over C# is C#, not
   the Amaj7 whose 3rd and 7th it is).  On the 909 POP909 piano arrangements, roots right
   went from 54.7 % to 78.0 % of beats with the weights, 80.2 % with the bar phases of 4.
   and 82.2 % with the bass, jazzgen's trio unchanged (``scripts/tools/chord_accuracy.py
   --pop909 DIR``).
4. **Smoothing.** Viterbi over (chord, just-changed?) states: a change costs a penalty
   that is low on a downbeat, higher on the bar's middle beat, highest elsewhere (the
   harmonic rhythm of lead sheets), so a passing bass note or comping colour does not
   become a chord of its own.  Long silence becomes N.C.; a short one holds the chord.
   Because a change costs the same from any chord, the max over previous states is one
   ``max`` per frame: linear in frames x states (see the timing in chord_accuracy.py).
   The penalties follow the file's bar lines, which may sit off its music (a pickup
   written as a whole bar, a 4/4 song written in 2/4 or 1/4): each phase of the bar is
   tried (one Viterbi pass each), and another than the file's own wins by a margin
   (``smooth``).

Why our own and not a library (searched: note-seq, chorder, chord-extractor, music21):
note-seq's ``infer_chords_for_sequence`` (0.0.5, 2022) knows only 8 kinds (no 6, m6,
dim7, sus), works on its protobuf NoteSequence and pulls in librosa, bokeh, pandas and
protobuf; chorder (0.1.4, 2021) labels each beat on its own with no smoothing and no 6/m6
kinds and needs miditoolkit objects; chord-extractor works on audio (the Chordino VAMP
plugin); music21's ``chord.Chord.commonName`` names one chord's notes at music21 speed
(seconds per file), with no segmentation.  None takes our arrays, speaks ``QUALITIES``,
or uses the bass the way jazz comping needs.

Key is not modelled.  Magenta's key-aware smoothing (states are (key, chord) pairs, a
chord pays for each tone outside the key's scale, a key change costs extra) was tried
(commit e5b9844; ``scripts/tools/chord_accuracy.py --every 4 --set KEY_OUT=...``): root accuracy
91.7 % without it, 90.6 % at 0.05 per tone outside the key, 87.9 % at 0.1, 81.2 % at 0.2
(key change cost 3; 91.1-91.3 % at 0.03 with 0.3 or 1), and the Nottingham triads stay at
93.6 %.  Jazz changes leave the key all the time (secondary dominants, tritone
substitutes, modal interchange): a key costs more than it gives, and the change penalty
and the bass already carry the harmonic rhythm a key would.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from jazzgen.music.chords import NAMES, QUALITY
from jazzgen.music.notes import NO_CHORD, ChordChange, TimeSignature, chord_index, per_chord

# The qualities inferred, in the order of the Viterbi states (ties go to the first); their
# tones, tensions, suffix and prior are chords.QUALITY's: (quality, tones, tensions, suffix, prior)
INFERRED = ("dom7", "min7", "maj7", "6", "maj", "min", "m7b5", "min6", "dim7", "7sus4", "minmaj7", "aug7", "sus4",
            "aug", "dim")
_VOCAB = tuple((q, QUALITY[q].tones, QUALITY[q].tensions, QUALITY[q].suffix, QUALITY[q].prior) for q in INFERRED)
QUALITY_NAMES = tuple(v[0] for v in _VOCAB)
SUFFIX = {v[0]: v[3] for v in _VOCAB}


@dataclass(frozen=True)
class Params:
    """Every tuning value of the inference, one frozen object passed in (``DEFAULT``; a study
    makes another with ``dataclasses.replace``, e.g. ``scripts/tools/chord_accuracy.py --set``)."""
    tone_weight: tuple[float, ...] = (0.4, 1.0, 0.6, 1.0)   # root, 3rd, 5th, 7th/6th: comping voicings
    # leave out root and 5th (the bass has the root), never 3rd and 7th.  The root weighs least: a
    # rootless Dm7 (F C E A) spells Fmaj7, whose root F the piano then seems to play; the bass, not
    # the piano's lowest note, says which it is (root 0.6 and 5th 0.5 read long Dm7 vamps as Fmaj7:
    # 1.5 points of root accuracy on every other file, scripts/tools/chord_accuracy.py --every 2).
    tension: float = 0.5           # the quality's usual tensions
    other: float = -0.8            # anything else
    guide_missing: float = 0.1     # cost (in chroma units) for each absent 3rd / 7th-or-6th
    root_missing: float = 1.0      # cost for a chord whose first frame nothing sounds the root in
    bass_root_first: float = 0.9   # bass plays the root on the chord's first frame
    bass_root: float = 0.2         # ... on a later frame (a walking bass leaves the root)
    bass_root_rooted: float = 0.5  # ... where the voicings are rooted (rooted_share): the bass holds it
    bass_tone: float = 0.15        # bass plays another chord tone
    prior_scale: float = 0.12
    change_cost: tuple[float, float, float] = (0.5, 0.9, 1.6)   # downbeat, middle of the bar, any other beat
    silent_nc: float = 0.15        # what N.C. gains on a silent frame (a short silence holds the chord)
    onset_bonus: float = 0.5
    anticipation: bool = True
    novelty_cost: float = 0.3      # extra change cost where the upper notes did not change
    full_frame: float = 1.5        # a frame with less energy than this x the median weighs less
    bass_in_chroma: float = 0.3    # weight of each frame's lowest note in the chord chroma (see 2.)
    rooted_weight: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)   # tone_weight where the voicings are rooted
    rooted_from: float = 0.6       # share of frames doubling the bass: rootless below,
    rooted_at: float = 0.8         # ... rooted above
    phase_margin: float = 2.0      # how much better another bar phase must score than the file's own
    present: float = 0.03          # chroma share below which a guide tone counts as absent


DEFAULT = Params()


def _templates(weights: Sequence[float], p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, guide, tones): T[q*12 + r, pc] weights; guide[q*12+r, pc] marks 3rd and 7th/6th;
    tones the chord-tone mask, both for the bass terms."""
    q = len(_VOCAB)
    T = np.full((q * 12, 12), p.other)
    guide = np.zeros((q * 12, 12))
    tones = np.zeros((q * 12, 12))
    for i, (_, ct, tens, _, _) in enumerate(_VOCAB):
        base = np.full(12, p.other)
        base[list(tens)] = p.tension
        base[list(ct)] = weights[:len(ct)]
        g = np.zeros(12)
        g[list(ct[1:2] + ct[3:4])] = 1.0          # the 3rd (or 4th) and the 7th/6th
        t = np.zeros(12)
        t[list(ct)] = 1.0
        for r in range(12):
            T[i * 12 + r] = np.roll(base, r)
            guide[i * 12 + r] = np.roll(g, r)
            tones[i * 12 + r] = np.roll(t, r)
    return T, guide, tones


_ROOTS = np.tile(np.arange(12), len(_VOCAB))
_ROOT_MASK = np.eye(12)[_ROOTS]                      # (states, 12): the root's pitch class


@functools.lru_cache(maxsize=8)
def tables(p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(templates, guide tones, chord tones, prior, rooted templates) of the parameters, built once each."""
    T, guide, tones = _templates(p.tone_weight, p)
    return T, guide, tones, np.repeat([v[4] for v in _VOCAB], 12) * p.prior_scale, _templates(p.rooted_weight, p)[0]


def frames(time_signatures: Sequence[TimeSignature], end: int, per: str = "beat"
           ) -> tuple[np.ndarray, np.ndarray]:
    """(frame start steps, kind) over [0, end): kind 0 = downbeat, 1 = middle of the bar,
    2 = another beat.  per = 'beat' or 'half-bar'."""
    if per not in ("beat", "half-bar"):
        raise ValueError(f"per must be 'beat' or 'half-bar', not {per!r}")
    sigs = sorted(time_signatures, key=lambda t: t.step) or [TimeSignature(0, 4, 4)]
    if sigs[0].step > 0:
        sigs = [TimeSignature(0, 4, 4)] + list(sigs)
    starts, kinds = [], []
    for i, ts in enumerate(sigs):
        stop = min(sigs[i + 1].step if i + 1 < len(sigs) else end, end)
        beat = max(1, ts.bar_steps // max(1, ts.numerator))
        n_beats = max(1, ts.numerator)
        mid = n_beats // 2 if n_beats % 2 == 0 else None
        for bar in range(ts.step, stop, ts.bar_steps):
            for k in range(n_beats):
                s = bar + k * beat
                if s >= stop:
                    break
                kind = 0 if k == 0 else 1 if k == mid else 2
                if per == "half-bar" and kind == 2:
                    continue
                starts.append(s)
                kinds.append(kind)
    if not starts:
        starts, kinds = [0], [0]
    return np.array(starts, np.int64), np.array(kinds, np.int8)


def chroma(pitch, start, end, velocity, fstart: np.ndarray, total: int, p: Params = DEFAULT
           ) -> tuple[np.ndarray, np.ndarray]:
    """(chroma, bass chroma), each (frames, 12): duration- and velocity-weighted, onsets
    counting extra; the bass chroma holds only each frame's lowest sounding pitch."""
    pitch = np.asarray(pitch, np.int64)
    start = np.asarray(start, np.int64)
    end = np.maximum(np.asarray(end, np.int64), start + 1)
    vel = np.asarray(velocity, np.float64) / 100.0
    F = len(fstart)
    fend = np.append(fstart[1:], max(total, fstart[-1] + 1))
    flen = (fend - fstart).astype(np.float64)
    C = np.zeros((F, 12))
    B = np.zeros((F, 12))
    keep = (end > fstart[0]) & (start < fend[-1])
    pitch, start, end, vel = pitch[keep], start[keep], end[keep], vel[keep]
    if not len(pitch):
        return C, B
    f0 = np.maximum(np.searchsorted(fstart, start, "right") - 1, 0)
    f1 = np.searchsorted(fstart, end - 1, "right") - 1
    n = f1 - f0 + 1
    idx = np.repeat(np.arange(len(pitch)), n)
    f = f0[idx] + np.arange(len(idx)) - np.repeat(np.cumsum(n) - n, n)
    ov = np.minimum(end[idx], fend[f]) - np.maximum(start[idx], fstart[f])
    w = ov / flen[f] * vel[idx] * (1.0 + p.onset_bonus * (start[idx] >= fstart[f]))
    pc = pitch[idx] % 12
    C += np.bincount(f * 12 + pc, w, F * 12).reshape(F, 12)
    low = np.full(F, 999)
    np.minimum.at(low, f, pitch[idx])
    is_low = pitch[idx] == low[f]
    B += np.bincount(f[is_low] * 12 + pc[is_low], w[is_low], F * 12).reshape(F, 12)
    return C, B


def frame_chroma(pitch, start, end, velocity, time_signatures: Sequence[TimeSignature],
                 fstart: np.ndarray, total: int, p: Params = DEFAULT) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chroma, bass chroma, bass of the frame's first beat), each (frames, 12), the bass
    taken beat by beat.  In a frame longer than a beat (a half bar) the lowest note over
    all of it is often a walking bass's passing note (Eb-C under Eb7 named the chord Cm:
    51.7 % of roots right on the trio); the bass where the frame starts states the root
    (90.5 %; 90.1 % per beat: ``scripts/tools/chord_accuracy.py --per half-bar``)."""
    bstart, _ = frames(time_signatures, total, "beat")
    C, B = chroma(pitch, start, end, velocity, bstart, total, p)
    if len(bstart) == len(fstart):
        return C, B, B
    bend = np.append(bstart[1:], max(total, bstart[-1] + 1))
    fend = np.append(fstart[1:], max(total, fstart[-1] + 1))
    f = np.maximum(np.searchsorted(fstart, bstart, "right") - 1, 0)
    share = ((bend - bstart) / (fend - fstart)[f])[:, None]      # each beat by its length
    leads = np.r_[True, f[1:] != f[:-1]]
    return _sum_rows(C * share, f, len(fstart)), _sum_rows(B * share, f, len(fstart)), B[leads]


def _sum_rows(X: np.ndarray, into: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, X.shape[1]))
    np.add.at(out, into, X)
    return out


def rooted_share(C: np.ndarray, B: np.ndarray, p: Params = DEFAULT) -> float:
    """0 for rootless comping, 1 for rooted voicings, from the share of frames whose upper
    notes double the bass's pitch class: jazzgen's trio 0.25-0.61 (median 0.37) of its
    frames, POP909's piano 0.44-0.99 (median 0.89)."""
    U = C - B
    has = (B.sum(1) > 0) & (U.sum(1) > 0)
    if not has.any():
        return 0.0
    u = U[has] / U[has].sum(1, keepdims=True)
    d = float(np.mean(u[np.arange(len(u)), B[has].argmax(1)] > 0.05))
    return float(np.clip((d - p.rooted_from) / (p.rooted_at - p.rooted_from), 0.0, 1.0))


def emissions(C: np.ndarray, B: np.ndarray, bass: np.ndarray, p: Params = DEFAULT) -> tuple[np.ndarray, np.ndarray]:
    """(score on a chord's first frame, score on a later frame), each (frames, states);
    the last state is N.C.  B: the bass chroma taken out of C; ``bass``: the one the bass
    terms read (``frame_chroma``)."""
    a = rooted_share(C, B, p)
    T, guide, tones, prior, t_rooted = tables(p)
    C = C - (1.0 - p.bass_in_chroma) * B
    tot = C.sum(1, keepdims=True)
    full = np.median(tot[tot > 0]) if np.any(tot > 0) else 1.0
    c = C / np.maximum(tot, max(p.full_frame * full, 1e-9))     # a thin frame is weak evidence
    b = bass / np.maximum(bass.sum(1, keepdims=True), 1e-9)
    present = (c > p.present).astype(np.float64)
    base = c @ ((1 - a) * T + a * t_rooted).T - p.guide_missing * ((1 - present) @ guide.T) + prior
    root_b = b @ _ROOT_MASK.T
    tone_b = b @ tones.T - root_b
    root_missing = (1 - np.maximum(present, b > p.present)) @ _ROOT_MASK.T   # the bass sounds it too
    first = base + p.bass_root_first * root_b + p.bass_tone * tone_b - p.root_missing * root_missing
    later = base + ((1 - a) * p.bass_root + a * p.bass_root_rooted) * root_b + p.bass_tone * tone_b
    silent = tot[:, 0] <= 1e-9
    first[silent] = 0.0
    later[silent] = 0.0
    nc = np.where(silent, p.silent_nc, -1.0)[:, None]
    return np.hstack([first, nc]), np.hstack([later, nc])


def novelty(C: np.ndarray, B: np.ndarray, p: Params = DEFAULT) -> np.ndarray:
    """Per frame, how much the upper notes (all but the lowest) changed since the last frame
    that had any: 1 - cosine similarity, 0 where a frame has none (no evidence of a change).
    Comping plays a new voicing where the chord changes, and walking bass does not."""
    U = C - B
    norm = np.linalg.norm(U, axis=1)
    has = norm > 1e-9
    u = U / np.where(has, norm, 1.0)[:, None]
    prev = np.where(has, np.arange(len(U)), -1)
    prev = np.maximum.accumulate(prev)               # last frame with upper notes, up to t
    prev = np.concatenate([[-1], prev[:-1]])         # ... strictly before t
    ok = has & (prev >= 0)
    out = np.zeros(len(U))
    out[ok] = 1.0 - np.einsum("ij,ij->i", u[ok], u[prev[ok]])
    if p.anticipation:
        out[1:] = np.maximum(out[1:], out[:-1])   # a voicing pushed an eighth early
    return out


def viterbi(first: np.ndarray, later: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Best (state, is-a-change) per frame, and the path's score; a change into frame t
    costs cost[t]."""
    F, S = first.shape
    bp_first = np.zeros(F, np.int64)           # best previous (phase*S + state) for a change
    bp_later = np.zeros((F, S), np.int8)       # previous phase when staying (0 first, 1 later)
    a, b = first[0].copy(), np.full(S, -np.inf)
    for t in range(1, F):
        both = np.concatenate([a, b])
        j = int(np.argmax(both))
        bp_first[t] = j
        bp_later[t] = b > a
        a, b = first[t] + (both[j] - cost[t]), later[t] + np.maximum(a, b)
    state = np.zeros(F, np.int64)
    change = np.zeros(F, bool)
    phase = int(b.max() > a.max())
    s = int(np.argmax(b if phase else a))
    score = float(max(a.max(), b.max()))
    for t in range(F - 1, -1, -1):
        state[t], change[t] = s, phase == 0
        if t == 0:
            break
        if phase == 0:
            j = bp_first[t]
            phase, s = int(j // S), int(j % S)
        else:
            phase = int(bp_later[t, s])
    return state, change, score


def smooth(first: np.ndarray, later: np.ndarray, kind: np.ndarray, novel: np.ndarray, p: Params = DEFAULT
           ) -> tuple[np.ndarray, np.ndarray]:
    """Viterbi with the change costs of each phase of the bar (the file's bar lines shifted
    by 0, 1, ... frames): a file's bar lines may sit a beat or more off its music (a pickup
    written as a whole bar, a 4/4 song written in 2/4 or 1/4, as many of POP909's are).
    Another phase wins only if its path scores p.phase_margin more than the file's own."""
    downbeats = np.flatnonzero(kind == 0)
    bar = int(np.median(np.diff(downbeats))) if len(downbeats) > 1 else 1
    cost = lambda k: np.array([p.change_cost[int(x)] for x in k]) + p.novelty_cost * (1.0 - novel)
    runs = [viterbi(first, later, cost(np.roll(kind, shift))) for shift in range(bar)]
    state, change, _ = max(runs, key=lambda r: r[2] - p.phase_margin * (r is not runs[0]))
    return state, change


def symbol(state: int) -> str:
    """The lead-sheet symbol of a state index (last index: N.C.)."""
    if state >= len(_ROOTS):
        return NO_CHORD
    q = state // 12
    return NAMES[int(_ROOTS[state])] + SUFFIX[QUALITY_NAMES[q]]


def infer_chords(pitch, start, end, velocity,
                 time_signatures: Sequence[TimeSignature] = (), total: int | None = None,
                 per: str = "beat", params: Params | None = None) -> list[ChordChange]:
    """Chord changes for accompaniment notes (pitch, start step, end step, velocity arrays,
    grid = notes.GRID steps per beat; drums excluded by the caller).

    One symbol per change, at frame starts (beats, or half bars with per='half-bar');
    the first change is at step 0 (N.C. until the music starts).  ``total``: length in
    steps (default: the last note's end).  ``params``: the tuning (None: ``DEFAULT``).
    """
    p = params or DEFAULT
    pitch = np.asarray(pitch)
    end_arr = np.asarray(end)
    if total is None:
        total = int(end_arr.max()) if len(end_arr) else 0
    if total <= 0 or not len(pitch):
        return [ChordChange(0, NO_CHORD)]
    fstart, kind = frames(time_signatures, total, per)
    C, B, bass = frame_chroma(pitch, start, end, velocity, time_signatures, fstart, total, p)
    first, later = emissions(C, B, bass, p)
    state, change = smooth(first, later, kind, novelty(C, B, p), p)
    out: list[ChordChange] = []
    for t in np.flatnonzero(change | (np.arange(len(state)) == 0)).tolist():
        sym = symbol(int(state[t]))
        if not out or out[-1].symbol != sym:
            out.append(ChordChange(int(fstart[t]), sym))
    return out


def chord_per_frame(changes: Sequence[ChordChange], steps: np.ndarray) -> list[str]:
    """The symbol in force at each step (N.C. before the first change)."""
    idx = chord_index([c.step for c in changes], steps)
    return per_chord([c.symbol for c in changes], idx, NO_CHORD).tolist()
