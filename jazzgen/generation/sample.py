"""Improvise: run the trained network one note at a time and sample from it.

Generation is one-to-many: each sampled note is fed back as the next step's input.
Calling ``model.predict`` per note costs ~100 ms of framework overhead; instead the
trained weights are run in NumPy (checked equal to Keras to 1e-5 in the tests), with
every embedding folded into the first LSTM layer's input projection once, so a step
is a handful of small matrix-vector products.  This module never imports Keras or
TensorFlow unless ``weights.npz`` is missing or stale and must be exported.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.data.nuance import perform
from jazzgen.errors import FieldError, ModelError, UsageError
from jazzgen.generation.formulas import Quotation, blend
from jazzgen.model.folder import load_vocab, load_weights
from jazzgen.model.spec import EXPRESSION, features, has_harmony
from jazzgen.music.notes import NoteSequence

# the given ids of a step, in Stepper.step's order after the solo's tempo and performer
CONDITION = ("root", "qual", "beat", "sub", "next_root", "next_qual", "change")

# ---------------------------------------------------------------------------- the step

class Stepper:
    """The network of model.py, one step at a time, in NumPy (float32, as Keras runs it).

    Folded once at load: each embedding table into its slice of the first layer's
    input kernel (and that layer's bias), the chord-relative pitch logits into one
    absolute pitch matrix per root id, and the target-pitch (and target-duration)
    embeddings into the duration, articulation and velocity heads.  Gate columns are
    reordered (i, f, o, g) so one sigmoid covers three gates.

    `vocab` (the model's vocab.json) names the performers; without one they are
    numbered.  Weights without the dynamics layers are a ModelError (retrain).
    `formulas` (``formulas.Formulas``, the model folder's formula memory) is mixed into
    the pitch head when sampling; None samples from the network alone.
    """

    nuance = None    # the model folder's data.nuance.NuanceTables (load_stepper sets them), or None
    calibration = None   # the model folder's calibration.Calibration (load_stepper sets it), or None

    def __init__(self, w: dict[str, np.ndarray], vocab: T.Vocab | None = None, dtype=np.float32, formulas=None):
        if "emb_prev_vel" not in w or "vel_w" not in w:
            raise ModelError(T.PREDATES_DYNAMICS)
        n_perf = w["emb_performer"].shape[0] - T.PERFORMER0
        self.vocab = vocab or T.default_vocab(tuple(f"performer{i}" for i in range(n_perf)))
        if self.vocab.sizes["performer"] != w["emb_performer"].shape[0]:
            raise ModelError("the model's vocab.json and weights disagree on the performers (retrain)")
        w = {k: v.astype(np.float64) for k, v in w.items()}   # fold in float64, run in dtype
        self.harmony = has_harmony(w)                          # reads the chord ahead (train --harmony)
        self.n_layers = sum(1 for k in w if k.endswith("_recurrent"))
        self.units = u = w["lstm_0_recurrent"].shape[0]
        order = np.r_[0:2 * u, 3 * u:4 * u, 2 * u:3 * u]       # keras (i, f, g, o) -> (i, f, o, g)
        k0, off, self.tables = w["lstm_0_kernel"], 0, []
        for f in features(self.harmony):
            e = w[f"emb_{f}"]
            self.tables.append((e @ k0[off:off + e.shape[1]])[:, order])
            off += e.shape[1]
        self.tables[0] = self.tables[0] + w["lstm_0_bias"][order]
        self.recurrent = [w[f"lstm_{i}_recurrent"][:, order] for i in range(self.n_layers)]
        # layers above the first: [x, h] @ [[kernel], [recurrent]] in one product
        self.stacked = [np.concatenate([w[f"lstm_{i}_kernel"], w[f"lstm_{i}_recurrent"]])[:, order]
                        for i in range(1, self.n_layers)]
        self.biases = [w[f"lstm_{i}_bias"][order] for i in range(1, self.n_layers)]
        n_pitch = w["pitch_abs_w"].shape[1]
        rel = T.interval_ids(np.arange(n_pitch)[:, None], np.arange(T.N_ROOT)[None, :])  # (pitch id, root id)
        self.pitch_w, self.pitch_b = _by_root(w["pitch_rel_w"], w["pitch_rel_b"], rel)    # (roots, u, V), (roots, V)
        self.pitch_w += w["pitch_abs_w"][None]
        self.pitch_b += w["pitch_abs_b"][None]
        if self.harmony:                                         # the same, by the next chord's root
            self.next_w, self.next_b = _by_root(w["pitch_next_w"], w["pitch_next_b"], rel)
        self.dur_h_w, self.dur_h_b = w["dur_hidden_w"][:u], w["dur_hidden_b"]
        self.dur_target = w["emb_target_pitch"] @ w["dur_hidden_w"][u:] + self.dur_h_b
        self.dur_w, self.dur_b = w["dur_w"], w["dur_b"]
        ep = w["emb_target_pitch"].shape[1]
        self.expr = {}    # head -> (hidden kernel, target pitch table (+ bias), target dur table, out w, out b)
        for h in EXPRESSION:
            k = w[f"{h}_hidden_w"]
            self.expr[h] = (k[:u], w["emb_target_pitch"] @ k[u:u + ep] + w[f"{h}_hidden_b"],
                            w["emb_target_dur"] @ k[u + ep:], w[f"{h}_w"], w[f"{h}_b"])
        for k, v in list(vars(self).items()):
            if isinstance(v, np.ndarray):
                setattr(self, k, v.astype(dtype))
            elif isinstance(v, list) and v and isinstance(v[0], np.ndarray):
                setattr(self, k, [a.astype(dtype) for a in v])
        self.expr = {h: tuple(a.astype(dtype) for a in v) for h, v in self.expr.items()}
        self.dtype = dtype
        self.formulas = formulas                                 # formulas.Formulas, or None
        self.rel = rel                                          # interval id of (pitch id, root id)
        self.n_pitch, self.n_dur = n_pitch, self.dur_w.shape[1]
        self.n_art, self.n_vel = self.expr["art"][3].shape[1], self.expr["vel"][3].shape[1]

    def zero_state(self, batch: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Zero (h, c) per layer, for a batch of `batch` rows or (None) one unbatched solo."""
        z = np.zeros((self.units,) if batch is None else (batch, self.units), self.dtype)
        return [(z, z) for _ in range(self.n_layers)]

    def _cell(self, z, c):
        u = self.units
        s = 0.5 * np.tanh(0.5 * z[..., :3 * u]) + 0.5         # sigmoid of i, f, o at once
        c = s[..., u:2 * u] * c + s[..., :u] * np.tanh(z[..., 3 * u:])
        return s[..., 2 * u:] * np.tanh(c), c

    def step(self, state, prev_pitch, prev_dur, prev_art, prev_vel, tempo, performer, root, qual, beat, sub,
             next_root=T.ROOT_NONE, next_qual=1, change=T.CHANGE_NONE):
        """One event: ids are ints (one solo, the fast path) or int arrays of shape (B,).

        The chord ahead (next_root, next_qual, change: ``tokens.condition``) is read by a
        model with harmony; an older one ignores it.  Returns (top hidden, new state).
        """
        t = self.tables
        rel = self.rel[prev_pitch, root]
        z = (t[0][prev_pitch] + t[1][prev_dur] + t[2][prev_art] + t[3][prev_vel] + t[4][tempo] + t[5][performer]
             + t[6][root] + t[7][qual] + t[8][beat] + t[9][sub] + t[10][rel])
        if self.harmony:
            z = z + t[11][next_root] + t[12][next_qual] + t[13][change] + t[14][self.rel[prev_pitch, next_root]]
        h, c = state[0]
        x, c = self._cell(z + h @ self.recurrent[0], c)
        new = [(x, c)]
        for layer in range(1, self.n_layers):
            h, c = state[layer]
            x, c = self._cell(np.concatenate([x, h], -1) @ self.stacked[layer - 1] + self.biases[layer - 1], c)
            new.append((x, c))
        return x, new

    def pitch_logits(self, hidden, root, next_root=T.ROOT_NONE):
        """Pitch logits under the chord in force (and, for a model with harmony, the next one)."""
        z = _matvec(hidden, self.pitch_w, self.pitch_b, root)
        return z + _matvec(hidden, self.next_w, self.next_b, next_root) if self.harmony else z

    def dur_logits(self, hidden, pitch):
        d = np.maximum(hidden @ self.dur_h_w + self.dur_target[pitch], 0.0)
        return d @ self.dur_w + self.dur_b

    def expression_logits(self, head: str, hidden, pitch, dur):
        """Logits of the `head` ("art" or "vel") given the note's pitch and duration ids."""
        kh, tp, td, wo, bo = self.expr[head]
        return np.maximum(hidden @ kh + tp[pitch] + td[dur], 0.0) @ wo + bo


def _by_root(rel_w: np.ndarray, rel_b: np.ndarray, rel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """12 root-relative pitch logits (kernel, bias) spread onto the absolute pitches, one
    (kernel, bias) per root id: ``network.RelativeLogits`` folded (interval id 0 adds nothing)."""
    n_pitch = len(rel)
    onehot = np.zeros((T.N_ROOT, T.N_REL, n_pitch))             # root id -> (interval id -> pitch id)
    onehot[np.arange(T.N_ROOT)[:, None], rel.T, np.arange(n_pitch)[None, :]] = 1.0
    w = np.concatenate([np.zeros((rel_w.shape[0], 1)), rel_w], 1)
    b = np.concatenate([[0.0], rel_b])
    return np.einsum("hk,rkv->rhv", w, onehot), np.einsum("k,rkv->rv", b, onehot)


def _matvec(hidden, w, b, root):
    """hidden @ w[root] + b[root], for one solo (ints) or a batch (root ids per row)."""
    if hidden.ndim == 1:
        return hidden @ w[root] + b[root]
    root = np.asarray(root)
    return np.einsum("bh,bhv->bv", hidden, w[root]) + b[root]


def load_stepper(model_dir: str | Path) -> Stepper:
    """The NumPy network of a model folder, with its formula memory if it has one (ModelError if
    either cannot be used)."""
    from jazzgen.data.nuance import NuanceTables
    from jazzgen.generation import calibration, formulas
    vocab = load_vocab(model_dir)        # first: an old model's vocab.json says why in one line
    stepper = Stepper(load_weights(model_dir), vocab, formulas=formulas.load(model_dir))
    stepper.nuance = NuanceTables.load(model_dir, vocab)   # None: the notes are played on the grid
    stepper.calibration = calibration.load(model_dir)      # None: the network's pitches uncorrected
    return stepper


# ---------------------------------------------------------------------------- sampling

def sample_ids(logits: np.ndarray, allowed: np.ndarray, rng: np.random.Generator,
               temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, min_p: float = 0.0) -> np.ndarray:
    """One id per row from softmax(logits / temperature) restricted to `allowed`, min-p, top-k and nucleus."""
    u = rng.random(len(logits))
    return np.array([_sample_row(z, a, r, temperature, top_k, top_p, min_p) for z, a, r in zip(logits, allowed, u)])


def _sample_row(z, allowed, u: float, temperature: float, top_k: int, top_p: float, min_p: float = 0.0) -> int:
    """Inverse-CDF draw `u` from the sorted, truncated distribution (per row: a batch is a few rows).

    min_p > 0 first drops every id less likely than min_p times the likeliest one.
    """
    z = np.where(allowed, z * (1.0 / max(temperature, 1e-6)), -np.inf)
    if min_p > 0:
        z = np.where(z >= z.max() + np.log(min_p), z, -np.inf)
    if top_k <= 0 and top_p >= 1.0:   # nothing cut off: no need to sort (the fast default path)
        c = np.cumsum(np.exp(z - z.max()))
        return int(min(np.searchsorted(c, u * c[-1], side="right"), len(c) - 1))
    order = np.argsort(-z)
    p = np.exp(z[order] - z[order[0]])
    if top_k > 0:
        p[top_k:] = 0.0
    c = np.cumsum(p)
    if top_p < 1.0:   # the smallest prefix whose mass reaches top_p
        c = c[:np.searchsorted(c, top_p * c[-1]) + 1]
    return int(order[min(np.searchsorted(c, u * c[-1], side="right"), len(c) - 1)])


@dataclass(frozen=True)
class Sampling:
    """How to draw from the network's distributions.

    The defaults were chosen by ``scripts/tools/sweep_sampling.py`` on the 40 validation solos.
    First temperature 0.9/1.0/1.1 x top-p 0.9/0.95/0.98/1.0 (two seeds per setting):
    temperature 1.0 with top-p 1.0 was the hardest to tell from the real solos (two-sample
    accuracy 0.575, against 0.697 for the former top-p 0.95); cutting the pitch distribution
    to a nucleus cut out the wider intervals.  Its cost was a stray note from the far tail
    now and then (pitch range 41 +- 17 semitones, real 28 +- 4).  So the pitch head alone
    gets a min-p cut, which drops only notes far less likely than the likeliest one.
    With the model that has the released-into-a-rest class, min-p 0/0.0025/0.005/0.0075/0.01 over
    eight seeds each: 0.0025 scored best among the settings that keep the solos as
    different from each other as real ones in every seed (per-solo spread of step rate at
    least half the real one: min 0.52; 0.005 scored 0.718 against 0.724 but fell just
    under 0.5 in one seed, no cut to 0.43): two-sample accuracy 0.532, pitch-range overlap 0.69
    (0.50 without a cut), mean interval overlap 0.79.  The other heads have at most 11
    classes, whose rare ones (staccato, 2 %) are music, not noise.
    The formula memory at its fitted weights (``formulas`` 1) and the model's calibration at
    full scale (``harmony``, ``line`` 1) were chosen with the listener over three seeds against
    ``formulas`` 1.5 and no calibration (docs/measured.md): linear accuracy 0.615, trees 0.654,
    formula use 10.2 %, chord tones 0.481 (real 0.501), against 0.692 / 0.730 / 5.8 % / 0.456
    uncalibrated.
    """
    temperature: float = 1.0
    top_k: int = 0            # 0: off
    top_p: float = 1.0        # nucleus mass; 1: off
    min_p: float = 0.0025     # pitch only: drop notes less likely than min_p x the likeliest; 0: off
    formulas: float = 1.0     # scale of the formula memory's weights (formulas.py); 0: the network alone
    quote_notes: int = 0      # the memory falls silent after a run of this many notes shared with its solos; 0: never
    harmony: float = 1.0      # scale of the model's harmony calibration (calibration.py); 0: off
    line: float = 1.0         # scale of the model's line calibration (calibration.py); 0: off

    def __post_init__(self):
        if not self.temperature > 0:
            raise FieldError("temperature", "must be positive")
        if self.top_k < 0:
            raise FieldError("top_k", "must be >= 0")
        if not 0 < self.top_p <= 1:
            raise FieldError("top_p", "must be in (0, 1]")
        if not 0 <= self.min_p < 1:
            raise FieldError("min_p", "must be in [0, 1)")
        if not 0 <= self.formulas <= 5:
            raise FieldError("formulas", "must be in [0, 5]")
        if self.quote_notes < 0:
            raise FieldError("quote_notes", "must be >= 0")
        for name in ("harmony", "line"):
            if not 0 <= getattr(self, name) <= 5:
                raise FieldError(name, "must be in [0, 5]")


def improvise(stepper: Stepper, timeline: NoteSequence, *, sampling: Sampling = Sampling(),
              seed: int | None = None, primer: NoteSequence | None = None, num: int = 1,
              performer: str | None = None, resume_at: int | None = None) -> list[NoteSequence]:
    """`num` new solos over timeline.chords / meter / tempos, each exactly timeline.end steps long.

    `timeline` is a NoteSequence whose notes are ignored (``Chart.timeline`` makes one;
    a real solo serves too, to improvise over its own changes); its tempo reaches the
    network as the solo's tempo bucket.  `performer` (a name as ``Vocab.find_performer``
    matches it) plays every solo; None draws one at random per solo from the model's
    performers.  With a primer, its notes open each solo (fed through the network to
    set its state) and the rest is improvised.  The same seed gives the same solos.
    `resume_at`: the step where improvising begins, silence before it (after the primer, or
    from the start without one) fed as the encoder writes it; default: where the primer's
    last note ends.
    """
    steps = int(timeline.end)
    if steps < 1:
        raise UsageError("nothing to improvise: length must be at least one grid step")
    vocab = stepper.vocab
    rng = np.random.default_rng(seed)
    played = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])   # the nuance's own stream
    cond = T.condition(timeline, np.arange(steps))                     # ids for every grid step
    cond = [cond[k].tolist() for k in CONDITION]                      # Python ints: the fast path
    tempo = vocab.tempo_id(T.solo_bpm(timeline))
    fixed = None if performer is None else vocab.find_performer(performer)
    out = []
    for _ in range(num):
        who = fixed or _draw_performer(vocab, rng)
        ev = _one_solo(stepper, cond, steps, rng, sampling, primer, tempo, vocab.performer_id(who), resume_at)
        solo = T.decode_events(ev[0], ev[1], timeline, art_ids=ev[2], vel_ids=ev[3], vocab=vocab)
        if stepper.nuance is not None:
            solo = perform(solo, stepper.nuance, vocab, played)
        out.append(replace(solo, end=steps, name=timeline.name or "solo", performer=who))
    return out


def _draw_performer(vocab: T.Vocab, rng: np.random.Generator) -> str:
    """A performer of the model, uniformly (each style as likely as another); "unknown" if none."""
    if not vocab.performers:
        return T.UNKNOWN_PERFORMER
    return vocab.performers[int(rng.integers(len(vocab.performers)))]


def _one_solo(stepper: Stepper, cond: list[list[int]], steps: int, rng, sampling: Sampling, primer,
              tempo: int, performer: int, resume_at: int | None = None):
    """(pitch, dur, art, vel ids) of one solo: primer events first, then sampled ones until `steps`."""
    state = stepper.zero_state()
    prev = [T.BOS, T.BOS, T.PAD, T.PAD]                              # pitch, dur, art, vel
    t = 0
    out: list[list[int]] = [[], [], [], []]
    if primer is not None and len(primer):
        ptok = T.encode(primer, stepper.vocab)
        for ev in zip(ptok.pitch.tolist(), ptok.dur.tolist(), ptok.art.tolist(), ptok.vel.tolist()):
            if t + ev[1] - T.DUR0 > steps:
                break
            _, state = stepper.step(state, *prev, tempo, performer, *(c[t] for c in cond))
            prev, t = list(ev), t + ev[1] - T.DUR0
            for o, v in zip(out, ev):
                o.append(v)
    if resume_at is not None:
        state, prev, t = _silence_until(stepper, state, prev, t, min(resume_at, steps), out, tempo, performer, cond)
    rest_id = stepper.vocab.art_rest_id
    note_art = prev[2] if prev[0] >= T.PITCH0 else T.PAD          # the articulation of the sounding note
    line = _Line(stepper, sampling, [p - T.PITCH0 for p in out[0] if p >= T.PITCH0],
                 [d for p, d in zip(out[0], out[1]) if p >= T.PITCH0])
    while t < steps:
        here = [c[t] for c in cond]
        h, state = stepper.step(state, *prev, tempo, performer, *here)
        line.allowed[T.TIE] = prev[0] >= T.PITCH0                # a tie only continues a note
        sounding = prev[0] >= T.PITCH0 or prev[0] == T.TIE
        _follow_articulation(line.allowed, note_art, rest_id, sounding)
        p = line.pitch(h, here, rng.random())
        # the solo ends exactly on time; a rest after a note is longer than a gap the note's articulation holds
        shortest = T.CLOSE_GAPS + 1 if p == T.REST and sounding and steps - t > T.CLOSE_GAPS else 1
        d = line.dur(h, p, shortest, steps - t, rng.random())
        a = v = T.PAD
        if p >= T.PITCH0:                                        # rests and ties have neither
            a, v = line.expression(h, p, d, rng)
            note_art = a
        prev = [p, d, a, v]
        t += d - T.DUR0
        for o, x in zip(out, prev):
            o.append(x)
    return tuple(np.array(o, np.int64) for o in out)


class _Line:
    """One solo's draws, head by head, and the notes so far (which the formula memory reads)."""

    def __init__(self, stepper: Stepper, sampling: Sampling, notes: list[int], durs: list[int]):
        self.stepper, self.sampling, self.notes, self.durs = stepper, sampling, notes, durs
        self.memory = stepper.formulas if sampling.formulas > 0 else None
        self.quotation = Quotation(sampling.quote_notes)
        self.calibration = stepper.calibration if sampling.harmony > 0 or sampling.line > 0 else None
        self.allowed = np.zeros(stepper.n_pitch, bool)
        self.allowed[T.PITCH0:] = True
        self.dur_len = np.arange(stepper.n_dur) - T.DUR0         # steps of each dur id
        self.any_art = np.arange(stepper.n_art) >= T.ART0
        self.any_vel = np.arange(stepper.n_vel) >= T.VEL0
        self.draw = (sampling.temperature, sampling.top_k, sampling.top_p)

    def pitch(self, h, here: list[int], u: float) -> int:
        """The next pitch id, given the step's condition ids `here` (CONDITION's order)."""
        root, qual, beat, sub, next_root = here[:5]
        z = self.stepper.pitch_logits(h, root, next_root)
        if self.memory is not None and len(self.notes) >= 2:
            q = np.exp(z - z.max(), dtype=np.float64)
            k, memory = self.memory.memory(self.notes, root - T.ROOT0 if root >= T.ROOT0 else None, len(q), qual)
            lam = self.memory.weight(k, self.sampling.formulas) if self.quotation.follow(k) else 0.0
            z = np.log(np.maximum(blend(q / q.sum(), memory, lam), 1e-300))
        if self.calibration is not None:
            z = z + self.calibration.bias(len(z), beat, sub, root, qual, self.notes, self.sampling.harmony,
                                          self.sampling.line)
        return _sample_row(z, self.allowed, u, *self.draw, self.sampling.min_p)

    def dur(self, h, p: int, shortest: int, left: int, u: float) -> int:
        fits = (self.dur_len >= shortest) & (self.dur_len <= left)
        if self.memory is not None and p >= T.PITCH0:            # never end a copied 8-note window
            copied = self.memory.blocked(self.notes, self.durs, p - T.PITCH0, len(fits))
            if copied is not None and (fits & ~copied).any():
                fits &= ~copied
        d = _sample_row(self.stepper.dur_logits(h, p), fits, u, *self.draw)
        if p >= T.PITCH0:
            self.notes.append(p - T.PITCH0)
            self.durs.append(d)
        return d

    def expression(self, h, p: int, d: int, rng) -> tuple[int, int]:
        s = self.stepper
        a = _sample_row(s.expression_logits("art", h, p, d), self.any_art, rng.random(), *self.draw)
        v = _sample_row(s.expression_logits("vel", h, p, d), self.any_vel, rng.random(), *self.draw)
        return a, v


def _silence_until(stepper: Stepper, state, prev: list[int], t: int, until: int, out, tempo: int,
                   performer: int, cond):
    """Silence from step t to `until`, as ``tokens.encode`` writes it: a gap of at most
    CLOSE_GAPS steps lengthens the sounding note's event (articulation); a longer one is a
    rest, the note before it released into it.  Returns (state, prev, until)."""
    gap = until - t
    if gap <= 0:
        return state, prev, t
    if prev[0] >= T.PITCH0 and gap <= T.CLOSE_GAPS and prev[1] - T.DUR0 + gap <= T.MAX_DUR:
        prev = [prev[0], prev[1] + gap, prev[2], prev[3]]
        out[1][-1] = prev[1]
        return state, prev, until
    if prev[0] >= T.PITCH0 and stepper.vocab.art_rest_id >= 0:
        prev[2] = out[2][-1] = stepper.vocab.art_rest_id
    while t < until:
        d = min(until - t, T.MAX_DUR)
        _, state = stepper.step(state, *prev, tempo, performer, *(c[t] for c in cond))
        prev, t = [T.REST, T.DUR0 + d, T.PAD, T.PAD], t + d
        for o, v in zip(out, prev):
            o.append(v)
    return state, prev, t


def _follow_articulation(allowed: np.ndarray, note_art: int, rest_id: int, sounding: bool) -> None:
    """Allow a rest next exactly when the sounding note was released into one (its art class says).

    A note of any other class runs to the next onset, so a rest cannot follow it; after a
    rest (or at the start) both may come.  Vocabularies without the class (rest_id -1)
    allow a rest everywhere.
    """
    into_rest = note_art == rest_id
    allowed[T.REST] = rest_id < 0 or not sounding or into_rest
    allowed[T.PITCH0:] = rest_id < 0 or not sounding or not into_rest
