"""Note sequence <-> token arrays: the vocabulary and a lossless encode/decode.

Encoding (why): each *event* is one note or one rest, and carries two predicted
factors and four conditioning values, all small integers:

    predicted  pitch  pad/unk/bos/rest/tie or MIDI pitch 0..127
               dur    pad/unk/bos or 1..MAX_DUR grid steps (MAX_DUR = 8 beats)
    given      root   pad/none or pitch class of the chord in force at the event's onset
               qual   pad or one of chords.QUALITIES (index 0 of those is "none")
               beat   pad or quarter-note beat within the bar (0..MAX_BEAT-1)
               sub    pad or grid step within that quarter (0..GRID-1)

Position works in any meter, through meter changes (``NoteSequence.bar_position``):
the bar restarts at each bar line of the meter in force, and the beat id counts
quarter notes from it, whatever the denominator.  So 3/4 has beats 1-3, 6/8 (36 steps
a bar) has beats 1-3 with its second dotted quarter at beat 2, sub 7, and a 4/4 file
reads as it always has: one vocabulary and one trained model for every meter.

Factoring pitch and duration into two heads of one event (as BebopNet and MINGUS do)
keeps the sequence one event per note (half the length of interleaved pitch and
duration tokens), and keeps pitch and duration perplexity per note directly
measurable.  Chord and metric position are not predicted: they come from the chart
and from the durations so far, so the generator knows them before sampling a note.

A rest fills each gap between notes (and the lead-in before the first); an event
longer than MAX_DUR continues with rest (rests) or TIE (notes) events, so that every
quantized note, however long, survives the round trip exactly.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .notes import GRID, NO_CHORD, ChordChange, NoteSequence

PAD, UNK, BOS = 0, 1, 2
REST, TIE = 3, 4
PITCH0 = 5                 # pitch id of MIDI pitch 0
DUR0 = 2                   # dur id of d steps = DUR0 + d  (d >= 1)
MAX_DUR = 8 * GRID
MAX_BEAT = 12              # beats in a bar that get their own id; later beats share the last
ROOT_NONE = 1              # root id of "no chord"
ROOT0 = 2                  # root id of pitch class 0: pitch class pc -> ROOT0 + pc
N_ROOT = ROOT0 + 12        # root ids: pad, none, 12 pitch classes
N_REL = 13                 # interval ids: 0 = none (rest, special or no chord), 1..12 = semitones above root + 1
FIELDS = ("pitch", "dur", "root", "qual", "beat", "sub")
DEFAULT_VELOCITY = 90


@dataclass(frozen=True)
class Vocab:
    """Sizes and meaning of every id; saved as JSON beside each model."""
    grid: int = GRID
    max_dur: int = MAX_DUR
    max_beat: int = MAX_BEAT
    qualities: tuple[str, ...] = ()

    @property
    def sizes(self) -> dict[str, int]:
        return {"pitch": PITCH0 + 128, "dur": DUR0 + self.max_dur + 1, "root": N_ROOT, "rel": N_REL,
                "qual": 1 + len(self.qualities), "beat": 1 + self.max_beat, "sub": 1 + self.grid}

    def to_json(self) -> str:
        d = asdict(self)
        d["sizes"] = self.sizes
        d["pitch_ids"] = {"pad": PAD, "unk": UNK, "bos": BOS, "rest": REST, "tie": TIE, "midi_0": PITCH0}
        d["dur_ids"] = {"pad": PAD, "unk": UNK, "bos": BOS, "steps_1": DUR0 + 1}
        return json.dumps(d, indent=1)

    @staticmethod
    def from_json(text: str) -> "Vocab":
        d = json.loads(text)
        v = Vocab(grid=d["grid"], max_dur=d["max_dur"], max_beat=d["max_beat"], qualities=tuple(d["qualities"]))
        if v.grid != GRID:
            raise ValueError(f"vocabulary grid {v.grid} does not match this jazzgen's grid {GRID}")
        return v


def default_vocab() -> Vocab:
    from .chords import QUALITIES
    return Vocab(qualities=tuple(QUALITIES))


@dataclass
class Tokens:
    """One song as parallel int16 event arrays, plus what the events do not carry."""
    pitch: np.ndarray
    dur: np.ndarray
    root: np.ndarray
    qual: np.ndarray
    beat: np.ndarray
    sub: np.ndarray
    seq: NoteSequence = field(repr=False, default=None)  # chords/tempo/meter/key/end/name (notes unused)

    def __len__(self) -> int:
        return len(self.pitch)

    def arrays(self) -> dict[str, np.ndarray]:
        return {f: getattr(self, f) for f in FIELDS}


# ---------------------------------------------------------------------------- conditioning

def chord_ids(seq: NoteSequence, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(root id, quality id) of the chord in force at each step.

    A symbol that does not parse (a hand-built or edited sequence: the reader drops
    them) reads as no chord, like N.C., rather than stopping a whole corpus.
    """
    from .chords import ChordError, parse_chord
    table_root = np.full(len(seq.chords) + 1, ROOT_NONE, np.int16)   # last slot: before any chord
    table_qual = np.ones(len(seq.chords) + 1, np.int16)              # 1 + index of "none"
    for i, ch in enumerate(seq.chords):
        try:
            c = parse_chord(ch.symbol)
        except ChordError:
            continue
        if c.root is not None:
            table_root[i] = ROOT0 + c.root
        table_qual[i] = 1 + c.quality_index
    idx = seq.chord_at(steps)
    return table_root[idx], table_qual[idx]


def position_ids(seq: NoteSequence, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(beat id, sub id) of each step's place in its bar, in quarter notes in every meter."""
    _, pos = seq.bar_position(steps)
    beat = np.minimum(pos // GRID, MAX_BEAT - 1)
    return (1 + beat).astype(np.int16), (1 + pos % GRID).astype(np.int16)


def condition(seq: NoteSequence, onsets: np.ndarray) -> dict[str, np.ndarray]:
    root, qual = chord_ids(seq, onsets)
    beat, sub = position_ids(seq, onsets)
    return {"root": root, "qual": qual, "beat": beat, "sub": sub}


def interval_ids(pitch, root, xp=np):
    """Interval id (N_REL ids) of each pitch id above its chord-root id.

    1 + semitones above the root (mod 12), or 0 for a rest, a special id or no chord.
    ``xp`` is ``numpy`` or ``keras.ops``: the model (in training) and the sampler (in
    NumPy) share this one definition.
    """
    valid = xp.logical_and(pitch >= PITCH0, root >= ROOT0)
    rel = xp.mod(pitch - PITCH0 - (root - ROOT0), 12) + 1
    return xp.where(valid, rel, xp.zeros_like(rel))


# ---------------------------------------------------------------------------- encode / decode

def events(seq: NoteSequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pitch id, onset step, length) of each note and rest, before splitting long ones."""
    n = len(seq)
    prev_end = np.concatenate([[0], seq.start[:-1] + seq.duration[:-1]]).astype(np.int64)
    gap = seq.start - prev_end
    if np.any(gap < 0) or np.any(seq.duration < 1):
        raise ValueError(f"{seq.name}: notes overlap or have no length; read it through midi_io")
    pid = np.empty(2 * n, np.int64)
    onset = np.empty(2 * n, np.int64)
    length = np.empty(2 * n, np.int64)
    pid[0::2], onset[0::2], length[0::2] = REST, prev_end, gap
    pid[1::2], onset[1::2], length[1::2] = PITCH0 + seq.pitch, seq.start, seq.duration
    keep = length > 0
    return pid[keep], onset[keep], length[keep]


def split_long(pid: np.ndarray, onset: np.ndarray, length: np.ndarray):
    """Events longer than MAX_DUR become a head plus continuations (TIE for notes)."""
    chunks = -(-length // MAX_DUR)
    idx = np.repeat(np.arange(len(pid)), chunks)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(chunks) - chunks, chunks)  # chunk number
    on = onset[idx] + k * MAX_DUR
    ln = np.minimum(length[idx] - k * MAX_DUR, MAX_DUR)
    p = pid[idx].copy()
    p[(k > 0) & (p != REST)] = TIE
    return p, on, ln


def encode(seq: NoteSequence) -> Tokens:
    """NoteSequence -> Tokens. Lossless for pitch, onset and duration of every note."""
    pid, onset, length = split_long(*events(seq))
    cond = condition(seq, onset)
    return Tokens(pitch=pid.astype(np.int16), dur=(DUR0 + length).astype(np.int16), seq=seq, **cond)


def durations_steps(dur_ids: np.ndarray) -> np.ndarray:
    return np.asarray(dur_ids, np.int64) - DUR0


def decode(tok: Tokens, velocity: int = DEFAULT_VELOCITY) -> NoteSequence:
    """Tokens -> NoteSequence (notes rebuilt from events; the rest from tok.seq)."""
    return decode_events(tok.pitch, tok.dur, tok.seq, velocity)


def decode_events(pitch_ids, dur_ids, like: NoteSequence | None = None, velocity: int = DEFAULT_VELOCITY,
                  start_step: int = 0) -> NoteSequence:
    """Rebuild notes from (pitch id, dur id) events; chords/tempo/meter are copied from `like`."""
    pitch_ids = np.asarray(pitch_ids, np.int64)
    length = durations_steps(dur_ids)
    if np.any((length < 1) | (length > MAX_DUR)):
        raise ValueError("duration ids outside 1..MAX_DUR steps (pad/unk/bos in a sequence to decode)")
    onset = start_step + np.concatenate([[0], np.cumsum(length)[:-1]])
    is_note = pitch_ids >= PITCH0
    is_tie = pitch_ids == TIE
    # each tie extends the most recent note (and is dropped if none is sounding)
    note_idx = np.cumsum(is_note) - 1
    prev_is_sounding = np.zeros(len(pitch_ids), bool)
    for i in np.flatnonzero(is_tie):  # ties are rare: > 8 beats
        prev_is_sounding[i] = i > 0 and (pitch_ids[i - 1] >= PITCH0 or prev_is_sounding[i - 1])
    dur = length[is_note].copy()
    ok_tie = is_tie & prev_is_sounding
    np.add.at(dur, note_idx[ok_tie], length[ok_tie])
    ref = like if like is not None else NoteSequence.empty()
    end = int(onset[-1] + length[-1]) if len(onset) else 0
    return replace(ref, pitch=pitch_ids[is_note] - PITCH0, start=onset[is_note], duration=dur,
                   velocity=np.full(int(is_note.sum()), velocity, np.int16), end=max(end, ref.end))


# ---------------------------------------------------------------------------- transposition

def transpose_ids(pitch: np.ndarray, root: np.ndarray, k) -> tuple[np.ndarray, np.ndarray]:
    """Shift pitch ids and chord-root ids by k semitones (k: scalar or broadcastable array)."""
    is_pitch = pitch >= PITCH0
    p = np.where(is_pitch, pitch + k, pitch)
    has_root = root >= ROOT0
    r = np.where(has_root, ROOT0 + (root - ROOT0 + k) % 12, root)
    return p.astype(pitch.dtype), r.astype(root.dtype)


def transpose(tok: Tokens, k: int) -> Tokens:
    """Notes and chords together, k semitones; the song's chord symbols are respelled."""
    from .chords import transpose_symbol
    p, r = transpose_ids(tok.pitch, tok.root, k)
    notes = tok.pitch[tok.pitch >= PITCH0] - PITCH0 + k
    if notes.size and (notes.min() < 0 or notes.max() > 127):
        raise ValueError(f"transposing {tok.seq.name} by {k} leaves the MIDI range")
    chords = [ChordChange(c.step, c.symbol if c.symbol == NO_CHORD else transpose_symbol(c.symbol, k))
              for c in tok.seq.chords]
    keys = [ks._replace(sharps=(ks.sharps + 7 * k + 6) % 12 - 6) for ks in tok.seq.key_signatures]
    seq = replace(tok.seq, pitch=tok.seq.pitch + k, chords=chords, key_signatures=keys)
    return replace(tok, pitch=p, root=r, seq=seq)
