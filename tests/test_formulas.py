"""The formula memory: exact longest matches, the mix, the copy guard, its file, and sampling with it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_sample import VOCAB, chart, random_model, save_model

from conftest import random_walk_solo
from jazzgen.data import tokens as T
from jazzgen.errors import ModelError
from jazzgen.generation import formulas as F
from jazzgen.generation.sample import Sampling, improvise
from jazzgen.music.notes import GRID, ChordChange, NoteSequence, Tempo, TimeSignature


def walk(seed: int, bars: int = 16) -> NoteSequence:
    notes, chords = random_walk_solo(seed, bars)
    start = np.array([round(s * GRID) for _, s, _ in notes])
    dur = np.array([round(d * GRID) for _, _, d in notes])
    return NoteSequence(np.array([p for p, _, _ in notes]), start, dur, np.full(len(notes), 100),
                        chords=[ChordChange(round(b * GRID), s) for b, s in chords], tempos=[Tempo(0, 160.0)],
                        time_signatures=[TimeSignature(0, 4, 4)], end=bars * 4 * GRID, name=f"walk{seed}")


@pytest.fixture(scope="module")
def toks():
    return [T.encode(walk(i), VOCAB) for i in range(6)]


@pytest.fixture(scope="module")
def memory(toks):
    return F.Formulas.build(toks)


def lines(toks):
    """Each song's notes (MIDI pitches)."""
    return [(t.pitch[t.pitch >= T.PITCH0] - T.PITCH0).astype(int).tolist() for t in toks]


def brute_force(songs, context):
    """The longest k and the continuations of the context's last k intervals, by scanning every song."""
    for k in range(min(F.MAX_MATCH, len(context)), 0, -1):
        want = context[-k:]
        nxt = [s[j + 1] - s[j] for s in songs for j in range(k, len(s) - 1)
               if [s[i + 1] - s[i] for i in range(j - k, j)] == want]
        if nxt:
            return k, sorted(nxt)
    return 0, []


def test_longest_match_is_the_longest_run_of_intervals_seen_and_what_followed(toks, memory):
    songs = lines(toks)
    rng = np.random.default_rng(0)
    probes = [np.diff(songs[0][i:i + 14]).tolist() for i in range(0, 60, 7)]               # seen: long matches
    probes += [rng.choice([-2, -1, 1, 2, 5], size=10).tolist() for _ in range(10)]        # random lines
    probes += [[1, 1, 1, 1, 1, 1, 9], [30]]                                                # unseen last interval
    ks = []
    for ctx in probes:
        k, lo, hi = memory.longest_match(ctx)
        got = sorted(memory.interval[memory.order[lo:hi]].tolist()) if k else []
        assert (k, got) == brute_force(songs, ctx)
        ks.append(k)
    assert max(ks) == F.MAX_MATCH and ks[-1] == 0


def test_no_match_crosses_from_one_song_into_the_next():
    a = NoteSequence(np.array([60, 62, 64]), np.array([0, 12, 24]), np.array([12, 12, 12]), np.full(3, 100),
                     end=48, name="a")
    b = replace(a, pitch=np.array([70, 71, 72]), name="b")
    m = F.Formulas.build([T.encode(a, VOCAB), T.encode(b, VOCAB)])
    # 2, 2 then the jump into b (70 - 64 = +6) never happened inside a song
    assert m.longest_match([2, 2])[0] == 1
    k, lo, hi = m.longest_match([2])
    assert k == 1 and m.interval[m.order[lo:hi]].tolist() == [2]


def test_mix_moves_mass_among_notes_only_and_follows_the_chord_degree(memory, toks):
    song = lines(toks)[0]
    probs = np.full(VOCAB.sizes["pitch"], 1.0 / VOCAB.sizes["pitch"])
    mixed = memory.mix(probs, song[:10], root_pc=2)
    assert mixed.sum() == pytest.approx(1.0)
    assert mixed[T.REST] == probs[T.REST] and mixed[T.TIE] == probs[T.TIE]
    k, mem = memory.memory(song[:10], 2, len(probs))
    assert k >= 1 and mixed[mem.argmax()] > probs[mem.argmax()]
    assert np.array_equal(memory.mix(probs, song[:10], 2, scale=0.0), probs)


def tune(pitches, chord):
    n = len(pitches)
    return T.encode(NoteSequence(np.array(pitches), 12 * np.arange(n), np.full(n, 12), np.full(n, 100),
                                 chords=[ChordChange(0, chord)], end=12 * n, name=chord), VOCAB)


def qual_id(quality: str) -> int:
    from jazzgen.music.chords import QUALITIES
    return 1 + QUALITIES.index(quality)


def test_a_continuation_counts_fully_where_its_note_has_the_role_it_had_in_its_chord():
    # after 2, 2: +1 onto the 4th of C7 (a note outside it), and +3 onto the 9th of F7 (a tension)
    m = F.Formulas.build([tune([60, 62, 64, 65], "C7"), tune([60, 62, 64, 67], "F7")])
    n = VOCAB.sizes["pitch"]
    k, mem = m.memory([60, 62, 64], 0, n, qual_id("dom7"))   # over C7: +1 outside again, +3 the fifth
    assert k == 2
    assert mem[T.PITCH0 + 65] == pytest.approx(mem[T.PITCH0 + 67] / F.OTHER_ROLE)
    assert mem[T.PITCH0 + 65] + mem[T.PITCH0 + 67] == pytest.approx(1.0)
    # over D7 the F is the #9 (a tension, not outside as over C7) and the G the 4th (outside, not a tension):
    # neither fits, and the two count alike
    k, mem = m.memory([60, 62, 64], 2, n, qual_id("dom7"))
    assert mem[T.PITCH0 + 65] == pytest.approx(mem[T.PITCH0 + 67])


def test_a_line_lands_on_the_third_of_the_chord_in_force_whichever_third_it_is():
    # the same descent lands on the minor third over Cm7 and on the major third over C7
    m = F.Formulas.build([tune([67, 65, 63], "Cm7"), tune([67, 65, 64], "C7")])
    n = VOCAB.sizes["pitch"]
    _, over_minor = m.memory([67, 65], 0, n, qual_id("min7"))
    _, over_dominant = m.memory([67, 65], 0, n, qual_id("dom7"))     # where Eb would be the #9, a colour
    assert over_minor[T.PITCH0 + 63] == pytest.approx(over_minor[T.PITCH0 + 64] / F.OTHER_ROLE)
    assert over_dominant[T.PITCH0 + 64] == pytest.approx(over_dominant[T.PITCH0 + 63] / F.OTHER_ROLE)
    # by the degree above the root alone both would count fully in both
    _, by_degree = replace(m, role=None).memory([67, 65], 0, n, qual_id("min7"))
    assert by_degree[T.PITCH0 + 63] == pytest.approx(by_degree[T.PITCH0 + 64])


def test_chord_roles_follow_the_quality_table():
    roles = F.chord_roles("dom7")
    assert [F.ROLES[r] for r in roles[[0, 4, 7, 10, 3, 11]]] == ["root", "third", "fifth", "seventh", "tension",
                                                                  "outside"]
    assert F.ROLES[F.chord_roles("min7")[3]] == "third" and F.ROLES[F.chord_roles("7sus4")[5]] == "third"
    assert (F.chord_roles("none") == F.NO_ROLE).all()


def test_a_memory_without_roles_compares_degrees_as_before(tmp_path):
    m = F.Formulas.build([tune([60, 62, 64, 65], "C7"), tune([60, 62, 64, 67], "F7")])
    np.savez(tmp_path / F.FILE, interval=m.interval, degree=m.degree, dur=m.dur, order=m.order, weights=m.weights)
    old = F.load(tmp_path)
    assert old.role is None
    k, mem = old.memory([60, 62, 64], 0, VOCAB.sizes["pitch"], qual_id("dom7"))  # F: the 4th again, G: the 5th
    assert mem[T.PITCH0 + 65] == pytest.approx(mem[T.PITCH0 + 67] / F.OTHER_ROLE)


def test_a_quotation_silences_the_memory_after_its_limit():
    q = F.Quotation(limit=10)
    assert [q.follow(k) for k in (3, 7, 8, 12, 12)] == [True, True, True, False, False]  # runs 0, 8, 9, 10, 11 notes
    assert q.follow(5) and q.run == 0                                                 # the line left the solos
    assert all(F.Quotation(0).follow(12) for _ in range(50))


def test_the_guard_blocks_exactly_the_length_that_would_finish_a_training_window(toks, memory):
    t = toks[1]
    m = t.pitch >= T.PITCH0
    notes = (t.pitch[m] - T.PITCH0).astype(int).tolist()
    durs = t.dur[m].astype(int).tolist()
    memory.longest_match(np.diff(notes[10:17]).tolist())        # as mix() does just before
    blocked = memory.blocked(notes[10:17], durs[10:17], notes[17], VOCAB.sizes["dur"])
    assert blocked[durs[17]]
    assert blocked.sum() < 5
    memory.longest_match([40, -40])                               # nothing matched: nothing to block
    assert memory.blocked(notes[10:17], durs[10:17], notes[17], VOCAB.sizes["dur"]) is None


def test_save_and_load_keep_every_array(tmp_path, memory):
    memory.save(tmp_path / F.FILE)
    back = F.load(tmp_path)
    for k in ("interval", "degree", "dur", "order", "weights", "role"):
        assert np.array_equal(getattr(back, k), getattr(memory, k))
    (tmp_path / "older").mkdir()
    assert F.load(tmp_path / "older") is None                       # a model folder without one


@pytest.mark.parametrize("damage", ["cut", "pickle", "shapes", "roles"])
def test_a_broken_formulas_file_is_one_model_error(tmp_path, memory, damage):
    path = tmp_path / F.FILE
    memory.save(path)
    if damage == "cut":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "pickle":
        np.savez(path, interval=np.array([{"a": 1}], object), degree=memory.degree, dur=memory.dur,
                 order=memory.order, weights=memory.weights)
    elif damage == "shapes":
        np.savez(path, interval=memory.interval, degree=memory.degree[:5], dur=memory.dur, order=memory.order,
                 weights=memory.weights)
    else:
        np.savez(path, interval=memory.interval, degree=memory.degree, dur=memory.dur, order=memory.order,
                 weights=memory.weights, role=np.full(len(memory.interval), 40, np.int8))
    with pytest.raises(ModelError, match="formulas"):
        F.load(tmp_path)


# ---------------------------------------------------------------------------- sampling with it

@pytest.fixture(scope="module")
def stepper(tmp_path_factory):
    from jazzgen.generation.takes import load_stepper
    return load_stepper(save_model(random_model(), tmp_path_factory.mktemp("formulas") / "m"))


def windows(solos, n, with_dur=True):
    out = set()
    for s in solos:
        tok = T.encode(s, VOCAB)
        m = tok.pitch >= T.PITCH0
        p, d = tok.pitch[m].astype(int), tok.dur[m].astype(int)
        iv = np.diff(p)
        for j in range(len(p) - n + 1):
            out.add(tuple(iv[j:j + n - 1]) + (tuple(d[j:j + n]) if with_dur else ()))
    return out


def test_sampling_with_the_memory_plays_its_formulas_and_copies_no_window(stepper):
    like = chart(bars=32)
    walks = [walk(i, 32) for i in range(8)]
    stepper.formulas = F.Formulas.build([T.encode(s, VOCAB) for s in walks], weights=[0.0] + [0.9] * F.MAX_MATCH)
    try:
        alone = improvise(stepper, like, seed=7, num=2, sampling=Sampling(formulas=0.0))
        guided = improvise(stepper, like, seed=7, num=2)
        again = improvise(stepper, like, seed=7, num=2)
    finally:
        stepper.formulas = None
    source = windows(walks, 8, with_dur=False)
    shared = [sum(w in source for w in windows(x, 8, False)) / max(len(windows(x, 8, False)), 1)
              for x in (alone, guided)]
    assert shared[0] == 0 and shared[1] > 0.2, shared             # the walks' 8-note lines come back
    assert not windows(guided, 8) & windows(walks, 8)             # never with their lengths: no copy
    assert all(np.array_equal(a.pitch, b.pitch) and np.array_equal(a.start, b.start) for a, b in zip(guided, again))


def test_scale_zero_is_the_network_alone(stepper):
    like = chart(bars=4)
    [plain] = improvise(stepper, like, seed=3)
    stepper.formulas = F.Formulas.build([T.encode(walk(0), VOCAB)])
    try:
        [off] = improvise(stepper, like, seed=3, sampling=Sampling(formulas=0.0))
    finally:
        stepper.formulas = None
    for f in ("pitch", "start", "duration", "velocity"):
        assert np.array_equal(getattr(plain, f), getattr(off, f))


def test_the_sampler_never_draws_the_length_that_would_finish_a_copy(stepper, toks, monkeypatch):
    from jazzgen.generation import sample
    t = toks[2]
    m = t.pitch >= T.PITCH0
    notes = (t.pitch[m] - T.PITCH0).astype(int).tolist()
    durs = t.dur[m].astype(int).tolist()
    stepper.formulas = F.Formulas.build(toks)
    try:
        line = sample._Line(stepper, Sampling(), notes[:7], durs[:7])
        stepper.formulas.longest_match(np.diff(notes[:7]).tolist())
        favour = np.full(stepper.n_dur, -50.0)
        favour[durs[7]] = 50.0                                    # the network all but insists on the copy
        monkeypatch.setattr(stepper, "dur_logits", lambda h, p: favour)
        d = line.dur(None, T.PITCH0 + notes[7], 1, 10 ** 6, 0.5)
        assert d != durs[7] and line.notes[-1] == notes[7] and line.durs[-1] == d
        off = sample._Line(stepper, Sampling(formulas=0.0), notes[:7], durs[:7])
        assert off.dur(None, T.PITCH0 + notes[7], 1, 10 ** 6, 0.5) == durs[7]
    finally:
        stepper.formulas = None
