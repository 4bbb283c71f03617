"""The rhythm section: a walking bass, a comping piano and a ride cymbal from the changes.

A lone melody line sounds like an exercise; the same line over a walking bass, a
comping piano and a ride cymbal sounds like jazz.  Everything here is a pure function
of a chart (a NoteSequence whose chords, meter and end matter; its notes do not) and a
seed, returning ``midi_io.Part`` tracks: no file is read or written, so the band can be
tested, rendered to any format, or regenerated identically from the same seed.

Times are grid steps (``notes.GRID`` per quarter note).  Off-beat eighths sit on step 6
of the beat, i.e. straight; the writer (``midi_io``) swings every track by the same
amount, so ride, piano and solo always agree on the feel (``swing_for`` turns swing off
where it would bend the beat: 6/8 and the like are already in triplets).

Any meter: the band plays the felt beats of each bar (``TimeSignature.groups``).  The
bass walks every beat (three to the bar in 3/4, two dotted quarters in 6/8); the piano
picks a comping rhythm per group of beats (the 4/4 Charleston family, a waltz family
that comps on 2 and 3, two-beat cells, 6/8 cells; 5/4 is a waltz cell plus a two-beat
one); the ride plays spang-a-lang in groups of four or two and the jazz-waltz ride
(1, 2 &, 3 with the hi-hat on 2 and 3) in groups of three.  4/4 is one group of four
quarter beats and comes out exactly as it always has.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from jazzgen.music.midi_io import DRUM_CHANNEL, Part
from jazzgen.music.notes import GRID, NoteSequence, per_chord

BANDS = ("none", "bass", "trio")   # solo only | + walking bass | + piano, bass and drums
EIGHTH = GRID // 2                 # the off-beat eighth, straight; the writer swings it

BASS_CHANNEL, PIANO_CHANNEL = 1, 2           # drums on midi_io.DRUM_CHANNEL (GM channel 10)
BASS_PROGRAM, PIANO_PROGRAM = 32, 0          # GM acoustic bass, acoustic grand
BASS_LOW, BASS_HIGH = 28, 50                 # E1..D3, where an upright walks
PIANO_LOW, PIANO_HIGH = 48, 72               # C3..C5, under the solo, above the bass
RIDE, HIHAT_PEDAL, KICK, SNARE = 51, 44, 36, 38
DRUM_KITS = (32, 0)        # GS/GM2 'Jazz' kit if the SoundFont has it, else 'Standard'


# ---------------------------------------------------------------------------- harmony

@dataclass(frozen=True)
class Harmony:
    """What the rhythm section needs to know about one chord symbol (pitch classes)."""
    root: int
    bass: int                   # what the bass plays on the chord's first beat
    tones: tuple[int, ...]      # chord tones: root, 3rd, 5th, (7th)
    scale: tuple[int, ...]      # chord tones first, then the other scale tones
    voicing: tuple[int, ...]    # 3rd, 7th and two colour tones for the piano


@functools.lru_cache(maxsize=None)
def harmony(symbol: str) -> Harmony | None:
    """Parse a chord symbol for the band; None for N.C. or a symbol nobody can read."""
    from jazzgen.music.chords import QUALITY, chord_or_none, chord_tones
    ch = chord_or_none(symbol)     # an unreadable symbol: the band lays out rather than crash
    if ch is None:
        return None
    root = ch.root
    tones = tuple(dict.fromkeys(int(t) % 12 for t in chord_tones(ch) if t is not None))
    q = QUALITY.get(ch.quality, QUALITY["dom7"])
    ivs = q.voicing   # rootless: the bass has the root, the piano guide tones + tensions (Bill Evans A/B)
    third = (tones[1] - root) % 12 if len(tones) > 1 else ivs[0]
    seventh = (tones[3] - root) % 12 if len(tones) > 3 else ivs[1]
    voicing = (third, seventh) + _colours(ch, root, tones, ivs[2:])
    voicing = tuple(dict.fromkeys((root + v) % 12 for v in voicing))
    scale = tones + tuple((root + s) % 12 for s in q.scale)
    bass = ch.bass if ch.bass is not None else root
    return Harmony(root, int(bass) % 12, tones, tuple(dict.fromkeys(scale)), voicing)


def _colours(ch, root: int, tones: tuple[int, ...], defaults: tuple[int, ...]) -> tuple[int, ...]:
    """Two colour tones: tensions written in the symbol first (b9, #11...), then defaults.

    A default a semitone from a written tension is skipped (no 9 against a written b9).
    """
    bass = ch.bass if ch.bass is not None else root
    written = [(p - root) % 12 for p in ch.pcs if p not in tones and p != bass]
    out = list(dict.fromkeys(written))[:2]
    for d in defaults:
        if len(out) >= 2:
            break
        if d not in out and all(min((d - w) % 12, (w - d) % 12) > 1 for w in written):
            out.append(d)
    return tuple(out)


def _chords_per_step(seq: NoteSequence, steps: np.ndarray) -> list[Harmony | None]:
    return per_chord([harmony(c.symbol) for c in seq.chords], seq.chord_at(steps), None).tolist()


def _nearest(pc: int, ref: float, low: int, high: int) -> int:
    """The pitch of class `pc` in [low, high] closest to `ref`."""
    cands = np.arange(low + (pc - low) % 12, high + 1, 12)
    return int(cands[np.argmin(np.abs(cands - ref))])


# ---------------------------------------------------------------------------- the band

def beats(seq: NoteSequence) -> list[tuple[int, int, int, int]]:
    """(onset, length, index in its group, group size) of every felt beat before seq.end.

    A bar cut short by a meter change keeps only the beats that start inside it."""
    out = []
    for start, length in seq.bars():
        t = start
        for group in seq.time_signature_at(start).groups:
            for k, b in enumerate(group):
                if t < start + length and t < seq.end:
                    out.append((t, min(b, start + length - t), k, len(group)))
                t += b
    return out


def _part(name: str, program: int, channel: int, notes: list[tuple[int, int, int, int]], end: int):
    """A midi_io.Part from (pitch, start, duration, velocity) tuples, cut at `end`."""
    a = np.array(sorted(notes, key=lambda n: (n[1], n[0])), np.int64).reshape(-1, 4)
    a = a[a[:, 1] < end]
    a[:, 2] = np.minimum(a[:, 2], end - a[:, 1])
    a = a[a[:, 2] > 0]
    return Part(name, program, channel, a[:, 0].astype(np.int16), a[:, 1].astype(np.int32),
                a[:, 2].astype(np.int32), np.clip(a[:, 3], 1, 127).astype(np.int16))


def walking_bass(seq: NoteSequence, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """A note on every felt beat (quarters; dotted quarters in 6/8): root (or slash bass) on
    each chord's first beat, an approach note a half or whole step from the next root on
    its last beat.

    Each chord first picks which octave of the next root to aim for, then walks there by
    steps and small skips through chord and scale tones, so the line never has to leap.
    Rests under N.C.
    """
    felt = beats(seq)
    if not felt:
        return []
    onsets, lengths = (np.array(x, np.int64) for x in zip(*[(b[0], b[1]) for b in felt]))
    downbeat = {a for a, _ in seq.bars()}
    idx = seq.chord_at(onsets)
    chords = _chords_per_step(seq, onsets)
    notes, prev = [], None
    for a, b in _runs(idx):                  # beats a..b-1 are under one chord
        h, nxt = chords[a], (chords[b] if b < len(onsets) else None)
        if h is None:
            prev = None
            continue
        line = [_nearest(h.bass, 38 if prev is None else prev, BASS_LOW, BASS_HIGH)]
        goal = _target(nxt.bass, line[0], b - a, rng) if nxt is not None else None
        for i in range(a + 1, b):
            p = line[-1]
            if i == b - 1 and goal is not None:
                p = _approach(goal, h, p, rng)
            elif int(onsets[i]) in downbeat and rng.random() < 0.5:
                p = _nearest(h.root, p, BASS_LOW, BASS_HIGH)   # new bar, same chord: root again
            else:
                p = _step(h, p, line[0] if goal is None else goal, b - 1 - i, rng)
            line.append(p)
        for k, p in enumerate(line):
            notes.append((p, int(onsets[a + k]), int(lengths[a + k]) - 1,
                          (72 if k == 0 else 66) + int(rng.integers(-6, 7))))
        prev = line[-1]
    return notes


def _runs(idx: np.ndarray) -> list[tuple[int, int]]:
    """[a, b) index ranges over which `idx` stays the same."""
    cuts = [0] + (np.flatnonzero(np.diff(idx)) + 1).tolist() + [len(idx)]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _target(pc: int, ref: int, beats: int, rng: np.random.Generator) -> int:
    """Which octave of the next root to walk to: near ones likelier, far ones only when
    there are beats enough to get there by step."""
    cands = np.arange(BASS_LOW + 2 + (pc - BASS_LOW - 2) % 12, BASS_HIGH - 1, 12)
    w = np.exp(-np.abs(cands - ref) / (1.5 * beats)) + 1e-9
    return int(rng.choice(cands, p=w / w.sum()))


def _approach(target: int, h: Harmony, ref: int, rng: np.random.Generator) -> int:
    """A half step below/above the target (chromatic), or a scale tone a whole step away."""
    cands = [(target - 1, 0.35), (target + 1, 0.3)]
    cands += [(target + d, 0.35) for d in (-2, 2) if (target + d) % 12 in h.scale]
    cands = [(p, w / (1 + ((p - ref) / 2) ** 2)) for p, w in cands if BASS_LOW <= p <= BASS_HIGH and p != ref]
    p, w = zip(*cands)
    return int(rng.choice(p, p=np.array(w) / sum(w)))


def _step(h: Harmony, ref: int, goal: int, left: int, rng: np.random.Generator) -> int:
    """A chord or scale tone 1..5 semitones from the last note, preferring chord tones,
    small intervals and motion toward `goal`, and never so far from it that the `left`
    beats still to come could not get there by step."""
    cands, weights = [], []
    for p in range(ref - 5, ref + 6):
        if p == ref or not BASS_LOW <= p <= BASS_HIGH or p % 12 not in h.scale:
            continue
        if abs(goal - p) > 3 * left + 2 and abs(goal - p) >= abs(goal - ref):
            continue
        w = 3.0 if p % 12 in h.tones else 1.0
        w *= 2.0 if abs(goal - p) < abs(goal - ref) else 1.0
        w *= 1.5 if abs(p - ref) <= 4 else 1.0
        cands.append(p)
        weights.append(w)
    if not cands:
        return _nearest(h.root, ref, BASS_LOW, BASS_HIGH)
    return int(rng.choice(cands, p=np.array(weights) / sum(weights)))


# Comping rhythms for one 4/4 bar: (onset, length) in steps.  Few hits, off-beats and
# pushes; a hit on the last off-beat before a chord change anticipates that chord.
COMP_PATTERNS = (
    ((0, 9), (18, 6)),                 # Charleston: 1, and-of-2
    ((0, 9), (18, 6), (42, 6)),        # Charleston, push into the next bar
    ((12, 8), (36, 8)),                # 2 and 4
    ((6, 6), (30, 9)),                 # and-of-1, and-of-3
    ((18, 6), (42, 6)),                # the ands of 2 and 4
    ((0, 20), (30, 6)),                # held downbeat, and-of-3
    ((12, 9), (30, 6), (42, 6)),
    ((42, 6),),                        # lay out, then push the next bar
)


# The same for one group of three quarter beats (3/4, and the 3 of 5/4): the waltz comps
# on 2 and 3 (twice as likely as any other cell), with pushes and a held downbeat.
WALTZ_PATTERNS = (
    ((0, 20), (24, 9)),                # held 1, then 3
    ((12, 9), (24, 9)),                # 2 and 3: the waltz
    ((12, 9), (24, 9)),
    ((12, 8), (30, 6)),                # 2, and-of-3 (a push)
    ((6, 6), (24, 9)),                 # and-of-1, 3
    ((0, 9), (18, 6)),                 # 1, and-of-2
    ((30, 6),),                        # lay out, then push the next bar
)
# Two quarter beats (2/4, the 2 of 5/4): one hit or none.
TWO_PATTERNS = (((0, 9),), ((12, 9),), ((6, 6), (18, 6)), ((18, 6),), ())
# Two dotted quarters (6/8): both beats, a held bar, the second beat, eighth pushes.
SIX_EIGHT_PATTERNS = (
    ((0, 15), (18, 15)),
    ((0, 30),),
    ((18, 15),),
    ((0, 9), (30, 6)),
    ((12, 6), (30, 6)),
    ((6, 6), (24, 12)),
)
COMP_TABLES = {(GRID,) * 4: COMP_PATTERNS, (GRID,) * 3: WALTZ_PATTERNS, (GRID,) * 2: TWO_PATTERNS,
               (18, 18): SIX_EIGHT_PATTERNS}


@functools.lru_cache(maxsize=None)
def comp_patterns(group: tuple[int, ...]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """The comping cells for one group of felt beats (lengths in steps); the first starts on 1.

    Groups without a table of their own (7/8's 2+2+3, 12/8's four dotted quarters...)
    get cells made from their beats: the downbeat, every beat but the first, the first
    and the last, and a push into the next group."""
    if group in COMP_TABLES:
        return COMP_TABLES[group]
    on = np.concatenate([[0], np.cumsum(group)[:-1]]).tolist()
    hold = lambda b: max(1, b * 3 // 4)   # noqa: E731
    rest = tuple((o, hold(b)) for o, b in zip(on[1:], group[1:]))
    last = on[-1] + group[-1] // 2
    cells = [((0, hold(group[0])),), rest or ((0, hold(group[0]) // 2 or 1),),
             ((0, hold(group[0])), (on[-1], hold(group[-1]))) if len(group) > 1
             else ((last, group[-1] - group[-1] // 2),),
             ((last, group[-1] - group[-1] // 2),)]
    return tuple(cells)


def piano_comping(seq: NoteSequence, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Rootless voicings, voice-led, on syncopated comping cells (per group of beats: see
    the module docstring) with anticipations."""
    starts = np.array([c.step for c in seq.chords], np.int64)
    hits = []
    for n, (bar_start, bar_len) in enumerate(seq.bars()):
        at = 0
        for g, group in enumerate(seq.time_signature_at(bar_start).groups):
            table = comp_patterns(group)
            pattern = table[0 if n == 0 and g == 0 else int(rng.integers(len(table)))]  # start on 1
            hits += [(bar_start + at + s, d) for s, d in pattern if at + s < bar_len]
            at += sum(group)
    notes, prev, last_end = [], None, -1
    for s, d in hits:
        if s < last_end:                       # the previous hit is still tied over
            continue
        ant = s % GRID == EIGHTH and bool(np.any(starts == s + EIGHTH))
        at = s + EIGHTH if ant else s
        i = int(seq.chord_at([at])[0])
        h = harmony(seq.chords[i].symbol) if i >= 0 else None
        if h is None:
            continue
        change = starts[starts > seq.chords[i].step]
        end = s + (d + GRID if ant else d)      # an anticipation ties over the change
        if len(change):
            end = min(end, int(change[0]))
        voicing = _voice(h, prev)
        vel = int(rng.integers(74, 90)) + (5 if s % GRID else 0) + (5 if ant else 0)
        for k, p in enumerate(voicing):
            top = 4 if k == len(voicing) - 1 else 0
            notes.append((p, s, end - s, vel + top + int(rng.integers(-3, 4))))
        prev, last_end = voicing, end
    return notes


def _voice(h: Harmony, prev: tuple[int, ...] | None) -> tuple[int, ...]:
    """The close-position voicing with the 3rd or 7th at the bottom (A or B form) that moves
    least from the previous one, kept near the middle of the piano's comping range."""
    best, best_cost = None, np.inf
    for bottom_pc in h.voicing[:2]:
        ivs = sorted((pc - bottom_pc) % 12 for pc in h.voicing)
        for low in range(PIANO_LOW, PIANO_HIGH + 1):
            if low % 12 != bottom_pc or low + ivs[-1] > PIANO_HIGH:
                continue
            v = tuple(low + i for i in ivs)
            cost = abs(np.mean(v) - 61) * 0.5
            if prev is not None:
                cost += _motion(v, prev)
            if cost < best_cost:
                best, best_cost = v, cost
    return best


def _motion(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Total semitones the voices move (each voice to its nearest new note)."""
    a, b = np.array(a), np.array(b)
    return float(np.abs(a[:, None] - b[None, :]).min(axis=1).sum() + abs(a.mean() - b.mean()))


def drums(seq: NoteSequence, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Spang-a-lang ride (1, 2, 2+, 3, 4, 4+) with the hi-hat foot on 2 and 4 in groups of
    four or two beats; the jazz-waltz ride (1, 2, 2+, 3) with the hi-hat on 2 and 3 in
    groups of three; a feathered kick on every beat, and now and then a quiet snare comp
    on an off-beat.  The skip note of a dotted-quarter beat (6/8) is its third eighth."""
    notes = []

    def j() -> int:                                        # a little human unevenness
        return int(rng.integers(-5, 6))

    for b, length, k, size in beats(seq):
        back = k % 2 == 1                                  # beats 2 and 4 (2 of a waltz)
        hat = back or (size == 3 and k == 2)               # waltz: the hi-hat on 3 too
        skip = EIGHTH if length == GRID else max(1, length * 2 // 3)
        notes.append((RIDE, b, skip if back else length, (92 if back else 82) + j()))
        if back:
            notes.append((RIDE, b + skip, length - skip, 70 + j()))
        if hat:
            notes.append((HIHAT_PEDAL, b, EIGHTH, 70 + j()))
        notes.append((KICK, b, EIGHTH, 34 + j()))
        if rng.random() < 0.12:
            notes.append((SNARE, b + skip, min(EIGHTH, length - skip), 46 + j()))
    return notes


def band_parts(seq: NoteSequence, band: str = "trio", seed: int = 0) -> list:
    """The rhythm section for `seq`'s changes, as midi_io.Part tracks over 0..seq.end.

    band: 'none' (solo alone), 'bass' (walking bass only) or 'trio' (piano comping,
    walking bass and drums).  The same seq and seed always give the same parts; each
    instrument has its own random stream so changing one leaves the others alone.
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}, not {band!r}")
    if band == "none" or seq.end <= 0:
        return []
    rng = lambda k: np.random.default_rng([seed, k])   # noqa: E731
    bass = _part("Bass", BASS_PROGRAM, BASS_CHANNEL, walking_bass(seq, rng(1)), seq.end)
    if band == "bass":
        return [bass]
    piano = _part("Piano", PIANO_PROGRAM, PIANO_CHANNEL, piano_comping(seq, rng(2)), seq.end)
    kit = _part("Drums", DRUM_KITS[0], DRUM_CHANNEL, drums(seq, rng(3)), seq.end)
    return [piano, bass, kit]

