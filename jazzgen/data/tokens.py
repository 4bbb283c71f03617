"""Note sequence <-> token arrays: the vocabulary and a lossless encode/decode.

Encoding (why): each *event* is one note or one rest, and carries four predicted
factors and six conditioning values, all small integers:

    predicted  pitch  pad/unk/bos/rest/tie or MIDI pitch 0..127
               dur    pad/unk/bos or 1..MAX_DUR grid steps (MAX_DUR = 8 beats)
               art    pad (rest, tie) or articulation class: how much of its event a note sounds,
                      or (the last class) that the note is released into a rest
               vel    pad (rest, tie) or velocity level (Vocab.vel_edges)
    given      root   pad/none or pitch class of the chord in force at the event's onset
               qual   pad or one of chords.QUALITIES (index 0 of those is "none")
               beat   pad or quarter-note beat within the bar (0..MAX_BEAT-1)
               sub    pad or grid step within that quarter (0..GRID-1)
               tempo  pad or tempo bucket of the whole solo (Vocab.tempo_edges, log-bpm)
               performer  pad/unknown or the solo's performer (Vocab.performers)
               next_root, next_qual  the next chord that differs from the one in force (root
                      none: no chord follows), as a player reading the changes sees it coming
               change pad or how far away that change is (CHANGE_EDGES buckets of grid steps)

Position works in any meter, through meter changes (``NoteSequence.bar_position``):
the bar restarts at each bar line of the meter in force, and the beat id counts
quarter notes from it, whatever the denominator.  So 3/4 has beats 1-3, 6/8 (36 steps
a bar) has beats 1-3 with its second dotted quarter at beat 2, sub 7, and a 4/4 file
reads as it always has: one vocabulary and one trained model for every meter.

Articulation without losing rhythm: the reader keeps each note's performed length.
A silence of at most CLOSE_GAPS steps before the next onset is articulation, not a
rest, so the note's *event* runs to that onset (the duration head predicts
inter-onset times, as before) and ``art`` says how much of it sounds.  Longer
silences are rest events, and the note before one sounds its whole event: its class
is the last one, "released into a rest" (``Vocab.art_rest``).  That is how the note
ends as a listener hears it, the end of a phrase or a breath, and it is decided with
the note, as a player decides it; the pitch of the next event is then a rest.  Without
it, "sounds its whole event" would lump the legato notes with the phrase ends, and the
next step's pitch head would decide the phrase end blind to how its last note was
played.

Factoring each event into separate heads (pitch, duration, articulation, velocity) (as BebopNet and MINGUS do)
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

from jazzgen.music.notes import GRID, NO_CHORD, ChordChange, NoteSequence, per_chord
from jazzgen.music.timing import MIDI_DEFAULT_QPM
from jazzgen.schema import Field, check

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
CLOSE_GAPS = 3             # steps (1/4 beat): shorter silences before the next onset are articulation
ART0 = 1                   # art id of class 0 (legato); pad (0) on rests and ties
VEL0 = 1                   # vel id of level 0 (softest); pad (0) on rests and ties
TEMPO0 = 1                 # tempo id of bucket 0
PERFORMER_UNKNOWN = 1      # performer id of a solo whose performer is not in the vocabulary
PERFORMER0 = 2             # performer id of Vocab.performers[0]
UNKNOWN_PERFORMER = "unknown"
PREDICTED = ("pitch", "dur", "art", "vel")
EXPRESSION = PREDICTED[2:]   # per note only (rests and ties carry PAD); see the target pitch and duration
PREDATES_DYNAMICS = ("this model predates dynamics (articulation, velocity, tempo, performer) "
                     "and needs retraining with python -m jazzgen.train")
# the chord ahead: what an approach note aims at (a model trained without them ignores them)
HARMONY = ("next_root", "next_qual", "change")
FIELDS = ("pitch", "dur", "art", "vel", "root", "qual", "beat", "sub", "tempo", "performer") + HARMONY
# Steps from an event's onset to the next chord change: the last sixteenth (1-3), the last
# eighth (4-6), the last beat (7-12), the last two beats, the last bar of 4/4, further;
# CHANGE0 + len(CHANGE_EDGES) + 1 is "no change ahead" (the last chord of the solo).
CHANGE_EDGES = (4, 7, 13, 25, 49)
CHANGE0 = 1
CHANGE_NONE = CHANGE0 + len(CHANGE_EDGES) + 1
DEFAULT_VELOCITY = 90

# Chosen from WJazzD (401 solos, 175,724 notes, read without closing gaps; see
# scripts/tools/corpus_dynamics.py).  Articulation = sounding length / event length:
# 55% of notes sound >= 0.9 of their event (legato), 21% 0.7-0.9 (5/6 of an eighth,
# 3/4 of a triplet), 23% 0.5-0.7 (2/3: a sixteenth less one step, half an eighth),
# 1.5% under 0.5 (staccato).  Those edges fall between the ratios the 12-step grid
# makes common, so a class is one thing a listener hears, not a rounding accident.
# Of the legato 55%, 13.6 points are notes released into a rest (the fifth class,
# Vocab.art_rest; 41% sound into the next note).
ART_EDGES = (0.9, 0.7, 0.5)                  # class k: ratio >= ART_EDGES[k] (last class: below all)
ART_VALUES = (1.0, 0.833, 0.667, 0.333)      # each class's median ratio in the corpus
# Velocity: 11 levels, the corpus's octiles (95..117) plus three for the soft tail and one
# for the loud one, so that a soft solo stays soft and a wide one wide (they keep 0.90 of
# the real spread of per-solo velocity sd: scripts/tools/corpus_dynamics.py); each level decodes to
# the median velocity of its bin (WJazzD after its velocity dropouts are filled: values
# 11..127, median 108; fewest notes in a level: 1,285 below 80).
VEL_EDGES = (80, 90, 95, 101, 105, 108, 111, 114, 117, 121)   # level k: VEL_EDGES[k-1] <= v < VEL_EDGES[k]
VEL_VALUES = (75, 85, 92, 98, 103, 106, 109, 112, 115, 118, 122)
# Tempo: 8 buckets, log-spaced between 60 and 300 bpm (WJazzD's solo medians run
# 36-362, 10th-90th percentile 86-272; solos per bucket 4/31/18/70/97/82/86/13).
TEMPO_EDGES = tuple(round(60.0 * 5.0 ** (k / 6), 1) for k in range(7))


@dataclass(frozen=True)
class Vocab:
    """Sizes and meaning of every id; saved as JSON beside each model."""
    grid: int = GRID
    max_dur: int = MAX_DUR
    max_beat: int = MAX_BEAT
    qualities: tuple[str, ...] = ()
    art_edges: tuple[float, ...] = ART_EDGES
    art_values: tuple[float, ...] = ART_VALUES
    art_rest: bool = True                     # a last art class: the note is released into a rest
    vel_edges: tuple[int, ...] = VEL_EDGES
    vel_values: tuple[int, ...] = VEL_VALUES
    tempo_edges: tuple[float, ...] = TEMPO_EDGES
    performers: tuple[str, ...] = ()          # sorted; ids PERFORMER0 + index
    performer_solos: tuple[int, ...] = ()     # training solos of each performer

    @property
    def sizes(self) -> dict[str, int]:
        return {"pitch": PITCH0 + 128, "dur": DUR0 + self.max_dur + 1, "root": N_ROOT, "rel": N_REL,
                "qual": 1 + len(self.qualities), "beat": 1 + self.max_beat, "sub": 1 + self.grid,
                "art": ART0 + len(self.art_values) + self.art_rest, "vel": VEL0 + len(self.vel_values),
                "tempo": TEMPO0 + len(self.tempo_edges) + 1, "performer": PERFORMER0 + len(self.performers),
                "change": CHANGE_NONE + 1}

    # -- per-note and per-solo ids
    @property
    def art_rest_id(self) -> int:
        """The art id of a note released into a rest (-1 for a vocabulary without one)."""
        return ART0 + len(self.art_values) if self.art_rest else -1

    def art_ids(self, ratio) -> np.ndarray:
        """Articulation id of each sounding/event ratio (in (0, 1])."""
        edges = np.asarray(self.art_edges)[::-1]                # ascending
        level = np.searchsorted(edges, np.asarray(ratio, np.float64), side="right")
        return (ART0 + len(edges) - level).astype(np.int16)

    def vel_ids(self, velocity) -> np.ndarray:
        return (VEL0 + np.searchsorted(np.asarray(self.vel_edges), np.asarray(velocity), side="right")).astype(np.int16)

    def velocities(self, vel_ids) -> np.ndarray:
        """MIDI velocity of each vel id (the median of its level's bin)."""
        return np.asarray(self.vel_values, np.int16)[np.asarray(vel_ids, np.int64) - VEL0]

    def tempo_id(self, bpm: float) -> int:
        return TEMPO0 + int(np.searchsorted(np.asarray(self.tempo_edges), float(bpm), side="right"))

    def performer_id(self, name: str) -> int:
        """Id of a performer name (exact), PERFORMER_UNKNOWN if the vocabulary does not hold it."""
        try:
            return PERFORMER0 + self.performers.index(name)
        except ValueError:
            return PERFORMER_UNKNOWN

    def find_performer(self, query: str) -> str:
        """The performer a user means: case- and space-insensitive ("chet baker" -> "ChetBaker")."""
        from jazzgen.errors import FieldError
        key = lambda x: "".join(x.split()).lower()
        hits = [p for p in self.performers if key(p) == key(query)]
        if not hits:
            known = ", ".join(self.performers[:12]) + (", ..." if len(self.performers) > 12 else "")
            raise FieldError("like", f"{query!r}: no such performer in this model (it knows {known or 'none'})")
        return hits[0]

    def to_json(self) -> str:
        d = asdict(self)
        d["sizes"] = self.sizes
        d["pitch_ids"] = {"pad": PAD, "unk": UNK, "bos": BOS, "rest": REST, "tie": TIE, "midi_0": PITCH0}
        d["dur_ids"] = {"pad": PAD, "unk": UNK, "bos": BOS, "steps_1": DUR0 + 1}
        d["art_ids"] = {"pad": PAD, "class_0": ART0}
        d["vel_ids"] = {"pad": PAD, "level_0": VEL0}
        d["tempo_ids"] = {"pad": PAD, "bucket_0": TEMPO0}
        d["performer_ids"] = {"pad": PAD, UNKNOWN_PERFORMER: PERFORMER_UNKNOWN, "performer_0": PERFORMER0}
        return json.dumps(d, indent=1)

    @staticmethod
    def from_json(text: str, where: str = "vocab.json") -> "Vocab":
        """The vocabulary of vocab.json's text; a ModelError naming `where` for anything else."""
        from jazzgen.errors import ModelError
        try:
            d = json.loads(text)
        except RecursionError:
            raise ModelError(f"{where}: nested too deeply") from None
        except ValueError as e:
            raise ModelError(f"{where}: not JSON ({str(e).splitlines()[0][:120]})") from None
        return Vocab.from_dict(d, where)

    @staticmethod
    def from_dict(d, where: str = "vocab.json") -> "Vocab":
        """The vocabulary of vocab.json's parsed JSON, every field checked against VOCAB_FIELDS
        first; a ModelError naming `where` and the field, or one for a vocabulary from before dynamics."""
        from jazzgen.errors import ModelError
        d = check(d, VOCAB_FIELDS, where, ModelError)
        if any(k not in d for k in ("art_values", "vel_values", "tempo_edges", "performers")):
            raise ModelError(PREDATES_DYNAMICS)
        missing = [k for k in ("grid", "max_dur", "max_beat", "qualities", "art_edges", "vel_edges") if k not in d]
        if missing:
            raise ModelError(f"{where}: missing {', '.join(missing)}")
        tup = lambda k: tuple(d[k])
        v = Vocab(grid=d["grid"], max_dur=d["max_dur"], max_beat=d["max_beat"], qualities=tup("qualities"),
                  art_edges=tup("art_edges"), art_values=tup("art_values"), vel_edges=tup("vel_edges"),
                  vel_values=tup("vel_values"), tempo_edges=tup("tempo_edges"), performers=tup("performers"),
                  performer_solos=tuple(d.get("performer_solos", ())), art_rest=bool(d.get("art_rest", False)))
        if v.grid != GRID:
            raise ModelError(f"{where}: vocabulary grid {v.grid} does not match this jazzgen's grid {GRID}")
        pairs = (("art_values", "art_edges", 1), ("vel_values", "vel_edges", 1), ("performer_solos", "performers", 0))
        for a, b, more in pairs:
            if len(getattr(v, a)) != len(getattr(v, b)) + more and (a != "performer_solos" or v.performer_solos):
                raise ModelError(f"{where}: {len(getattr(v, a))} {a} for {len(getattr(v, b))} {b}")
        if len(set(v.performers)) != len(v.performers):
            raise ModelError(f"{where}: a performer named twice")
        return v


# What vocab.json may hold (jazzgen.schema): types and bounds far beyond any real vocabulary's,
# checked before a value sizes an array.
VOCAB_FIELDS = {"grid": Field(int, 1, 96), "max_dur": Field(int, 1, 64 * GRID), "max_beat": Field(int, 1, 64),
                "qualities": Field(str, many=64, chars=40), "art_edges": Field(float, 0, 1, many=16),
                "art_values": Field(float, 0, 1, many=17), "art_rest": Field(bool),
                "vel_edges": Field(int, 0, 128, many=127), "vel_values": Field(int, 0, 127, many=128),
                "tempo_edges": Field(float, 1, 2000, many=64), "performers": Field(str, many=100_000, chars=200),
                "performer_solos": Field(int, 0, 10**9, many=100_000)}


def default_vocab(performers: tuple[str, ...] = (), performer_solos: tuple[int, ...] = ()) -> Vocab:
    from jazzgen.music.chords import QUALITIES
    return Vocab(qualities=tuple(QUALITIES), performers=tuple(performers),
                 performer_solos=tuple(performer_solos) or (0,) * len(performers))


def vocab_for(songs: list[NoteSequence]) -> Vocab:
    """The default vocabulary with the performers of `songs` (the training solos) and their counts."""
    return vocab_of(s.performer for s in songs)


def vocab_of(performers) -> Vocab:
    """The default vocabulary with these performers (one name per training solo) and their counts."""
    from collections import Counter
    n = Counter(p for p in performers if p and p != UNKNOWN_PERFORMER)
    names = tuple(sorted(n))
    return default_vocab(names, tuple(n[p] for p in names))


def solo_bpm(seq: NoteSequence) -> float:
    """The solo's tempo: the median of the tempo in force at its note onsets (at step 0 without notes)."""
    if not seq.tempos:
        return MIDI_DEFAULT_QPM
    steps = np.array([t.step for t in seq.tempos])
    qpm = np.array([t.qpm for t in seq.tempos], np.float64)
    at = seq.start if len(seq) else np.zeros(1, np.int64)
    return float(np.median(qpm[np.maximum(np.searchsorted(steps, at, side="right") - 1, 0)]))


@dataclass
class Tokens:
    """One song as parallel int16 event arrays, plus what the events do not carry."""
    pitch: np.ndarray
    dur: np.ndarray
    art: np.ndarray
    vel: np.ndarray
    root: np.ndarray
    qual: np.ndarray
    beat: np.ndarray
    sub: np.ndarray
    tempo: np.ndarray
    performer: np.ndarray
    next_root: np.ndarray
    next_qual: np.ndarray
    change: np.ndarray
    seq: NoteSequence = field(repr=False, default=None)  # chords/tempo/meter/key/end/name (notes unused)

    def __len__(self) -> int:
        return len(self.pitch)

    def arrays(self) -> dict[str, np.ndarray]:
        return {f: getattr(self, f) for f in FIELDS}


# ---------------------------------------------------------------------------- conditioning

def _chord_table(seq: NoteSequence) -> tuple[np.ndarray, np.ndarray]:
    """(root id, quality id) of each of seq.chords, and in a last slot "before any chord".

    A symbol that does not parse (a hand-built or edited sequence: the reader drops
    them) reads as no chord, like N.C., rather than stopping a whole corpus.
    """
    from jazzgen.music.chords import chord_or_none
    chords = [chord_or_none(c.symbol) for c in seq.chords]
    root = np.array([ROOT_NONE if c is None else ROOT0 + c.root for c in chords] + [ROOT_NONE], np.int16)
    qual = np.array([1 if c is None else 1 + c.quality_index for c in chords] + [1], np.int16)   # 1: "none"
    return root, qual


def chord_ids(seq: NoteSequence, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(root id, quality id) of the chord in force at each step."""
    root, qual = _chord_table(seq)
    idx = seq.chord_at(steps)
    return per_chord(root[:-1], idx, ROOT_NONE, np.int16), per_chord(qual[:-1], idx, 1, np.int16)


def next_chord_ids(seq: NoteSequence, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(root id, quality id, change id) of the next chord after each step that differs from the
    one in force there (a symbol repeated, or respelled to the same root and quality, is no
    change), and how many steps away it starts (``CHANGE_EDGES``).  None ahead: root none,
    quality none, CHANGE_NONE."""
    root, qual = _chord_table(seq)
    n = len(seq.chords)
    starts = np.array([c.step for c in seq.chords], np.int64)
    times = np.unique(starts)                       # the times the chord may change, in order
    slot = np.r_[n, seq.chord_at(times)]            # what sounds from each (first: before any chord)
    key = root[slot].astype(np.int64) * 256 + qual[slot]
    nxt = np.full(len(slot) + 1, len(slot))         # per slot, the next slot that differs (len: none)
    for j in range(len(slot) - 2, -1, -1):
        nxt[j] = j + 1 if key[j + 1] != key[j] else nxt[j + 1]
    steps = np.asarray(steps, np.int64)
    idx = seq.chord_at(steps)
    here = np.where(idx >= 0, np.searchsorted(times, starts[np.maximum(idx, 0)]) + 1, 0) if n else idx + 1
    j = nxt[here]
    ahead = j < len(slot)
    k = np.where(ahead, slot[np.minimum(j, len(slot) - 1)], n)
    away = np.maximum(np.r_[times, 0][np.maximum(j - 1, 0)] - steps, 1)
    change = np.where(ahead, CHANGE0 + np.searchsorted(np.asarray(CHANGE_EDGES), away, side="right"), CHANGE_NONE)
    return root[k], qual[k], change.astype(np.int16)      # slot n: root none, quality none


def position_ids(seq: NoteSequence, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(beat id, sub id) of each step's place in its bar, in quarter notes in every meter."""
    _, pos = seq.bar_position(steps)
    beat = np.minimum(pos // GRID, MAX_BEAT - 1)
    return (1 + beat).astype(np.int16), (1 + pos % GRID).astype(np.int16)


def condition(seq: NoteSequence, onsets: np.ndarray) -> dict[str, np.ndarray]:
    """The given ids of events starting at `onsets`: chord in force, metric position, chord ahead."""
    root, qual = chord_ids(seq, onsets)
    beat, sub = position_ids(seq, onsets)
    next_root, next_qual, change = next_chord_ids(seq, onsets)
    return {"root": root, "qual": qual, "beat": beat, "sub": sub, "next_root": next_root, "next_qual": next_qual,
            "change": change}


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

def events(seq: NoteSequence, close_gaps: int = CLOSE_GAPS):
    """(pitch id, onset step, length, sounding steps, note index or -1) of each note and rest.

    A silence of 1..close_gaps steps before the next onset joins the note's event
    (articulation); a longer one is a rest event.  Before splitting long events.
    """
    n = len(seq)
    start = seq.start.astype(np.int64)
    dur = seq.duration.astype(np.int64)
    if np.any(start[1:] < start[:-1] + dur[:-1]) or np.any(dur < 1):
        raise ValueError(f"{seq.name}: notes overlap or have no length; read it through midi_io")
    nxt = np.concatenate([start[1:], start[-1:] + dur[-1:]])   # the last note: its own end
    closed = (nxt - start - dur) <= close_gaps
    length = np.where(closed, nxt - start, dur)
    prev_end = np.concatenate([[0], start[:-1] + length[:-1]])
    pid = np.empty(2 * n, np.int64)
    onset = np.empty(2 * n, np.int64)
    ln = np.empty(2 * n, np.int64)
    sounding = np.zeros(2 * n, np.int64)
    note = np.full(2 * n, -1, np.int64)
    pid[0::2], onset[0::2], ln[0::2] = REST, prev_end, start - prev_end
    pid[1::2], onset[1::2], ln[1::2], sounding[1::2], note[1::2] = PITCH0 + seq.pitch, start, length, dur, np.arange(n)
    keep = ln > 0
    return pid[keep], onset[keep], ln[keep], sounding[keep], note[keep]


def split_long(pid: np.ndarray, onset: np.ndarray, length: np.ndarray):
    """Events longer than MAX_DUR become a head plus continuations (TIE for notes).

    Returns (pitch id, onset, length, index of the event each piece came from).
    """
    chunks = -(-length // MAX_DUR)
    idx = np.repeat(np.arange(len(pid)), chunks)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(chunks) - chunks, chunks)  # chunk number
    on = onset[idx] + k * MAX_DUR
    ln = np.minimum(length[idx] - k * MAX_DUR, MAX_DUR)
    p = pid[idx].copy()
    p[(k > 0) & (p != REST)] = TIE
    return p, on, ln, idx


def encode(seq: NoteSequence, vocab: Vocab | None = None) -> Tokens:
    """NoteSequence -> Tokens.  Lossless for pitch, onset, event length and velocity level.

    The articulation class and velocity level sit on a note's first event (its head);
    rests and ties carry PAD there, which the loss ignores.  The tempo bucket and the
    performer (``seq.performer`` looked up in `vocab`) repeat on every event.
    """
    vocab = vocab or default_vocab()
    pid, onset, length, sounding, note = events(seq)
    p, on, ln, idx = split_long(pid, onset, length)
    head = (p >= PITCH0)
    art = np.zeros(len(p), np.int16)
    vel = np.zeros(len(p), np.int16)
    art[head] = vocab.art_ids(sounding[idx[head]] / length[idx[head]])
    if vocab.art_rest:
        into_rest = np.r_[pid[1:] == REST, False] & (pid >= PITCH0)      # per event, before splitting
        art[head & into_rest[idx]] = vocab.art_rest_id
    vel[head] = vocab.vel_ids(seq.velocity[note[idx[head]]])
    cond = condition(seq, on)
    tempo = np.full(len(p), vocab.tempo_id(solo_bpm(seq)), np.int16)
    performer = np.full(len(p), vocab.performer_id(seq.performer), np.int16)
    return Tokens(pitch=p.astype(np.int16), dur=(DUR0 + ln).astype(np.int16), art=art, vel=vel, tempo=tempo,
                  performer=performer, seq=seq, **cond)


def follows_release(pitch: np.ndarray, art: np.ndarray, vocab: Vocab) -> np.ndarray:
    """Per event: does it come straight after (a piece of) a note released into a rest?

    Then it is that rest, or the note's tie: what the model knows from the last note's
    articulation before it draws the event, so the pitch baselines get it too.
    """
    pitch, art = np.asarray(pitch), np.asarray(art)
    head = pitch >= PITCH0
    last_head = np.maximum.accumulate(np.where(head, np.arange(len(pitch)), -1))   # the note sounding at i
    released = (last_head >= 0) & (art[np.maximum(last_head, 0)] == vocab.art_rest_id) & (head | (pitch == TIE))
    return np.r_[False, released[:-1]]


def durations_steps(dur_ids: np.ndarray) -> np.ndarray:
    return np.asarray(dur_ids, np.int64) - DUR0


def decode(tok: Tokens, vocab: Vocab | None = None) -> NoteSequence:
    """Tokens -> NoteSequence (notes rebuilt from events; the rest from tok.seq)."""
    return decode_events(tok.pitch, tok.dur, tok.seq, art_ids=tok.art, vel_ids=tok.vel, vocab=vocab)


def sounding_steps(length: np.ndarray, art_ids: np.ndarray, vocab: Vocab) -> np.ndarray:
    """How long each note sounds, given its event length and articulation class.

    Of the lengths a re-encoding keeps as one event (at most CLOSE_GAPS steps short of
    it, at least one step), the one in the class closest to the class's median ratio;
    when none is in the class (a staccato class on a long note, sampled), the closest
    ratio overall.  So encode(decode(t)) gives t back exactly.
    """
    length = np.asarray(length, np.int64)[:, None]
    cand = length - np.arange(CLOSE_GAPS + 1)[None, :]
    ratio = cand / np.maximum(length, 1)
    c = np.asarray(art_ids, np.int64)[:, None]
    c = np.where(c == vocab.art_rest_id, ART0, c)          # released into a rest: it sounds its whole event
    want = np.asarray(vocab.art_values)[np.clip(c - ART0, 0, len(vocab.art_values) - 1)]
    cost = np.abs(ratio - want) + 10.0 * (vocab.art_ids(ratio) != c) + np.where(cand >= 1, 0.0, np.inf)
    return np.take_along_axis(cand, cost.argmin(1)[:, None], 1)[:, 0]


def decode_events(pitch_ids, dur_ids, like: NoteSequence | None = None, velocity: int = DEFAULT_VELOCITY,
                  start_step: int = 0, art_ids=None, vel_ids=None, vocab: Vocab | None = None) -> NoteSequence:
    """Rebuild notes from events; chords/tempo/meter are copied from `like`.

    Without art ids every note sounds its whole event (legato); without vel ids every
    note gets `velocity`.
    """
    vocab = vocab or default_vocab()
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
    if art_ids is not None:
        dur = sounding_steps(dur, np.asarray(art_ids, np.int64)[is_note], vocab)
    n = int(is_note.sum())
    vel = vocab.velocities(np.asarray(vel_ids)[is_note]) if vel_ids is not None else np.full(n, velocity, np.int16)
    ref = like if like is not None else NoteSequence.empty()
    end = int(onset[-1] + length[-1]) if len(onset) else 0
    return replace(ref, pitch=pitch_ids[is_note] - PITCH0, start=onset[is_note], duration=dur,
                   velocity=vel, end=max(end, ref.end), nuance=None)


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
    from jazzgen.music.chords import transpose_symbol
    p, r = transpose_ids(tok.pitch, tok.root, k)
    notes = tok.pitch[tok.pitch >= PITCH0] - PITCH0 + k
    if notes.size and (notes.min() < 0 or notes.max() > 127):
        raise ValueError(f"transposing {tok.seq.name} by {k} leaves the MIDI range")
    chords = [ChordChange(c.step, c.symbol if c.symbol == NO_CHORD else transpose_symbol(c.symbol, k))
              for c in tok.seq.chords]
    keys = [ks._replace(sharps=(ks.sharps + 7 * k + 6) % 12 - 6) for ks in tok.seq.key_signatures]
    seq = replace(tok.seq, pitch=tok.seq.pitch + k, chords=chords, key_signatures=keys)
    return replace(tok, pitch=p, root=r, next_root=transpose_ids(tok.next_root, tok.next_root, k)[1], seq=seq)
