"""Trading fours: the player's bars in, jazzgen's answer out, over one looping chart.

A session is a chart at a tempo and N bars a turn.  Time runs from the downbeat of the
band's first bar (session second 0); turn k is the player's bars [2kN, 2kN + N) and
jazzgen's answer in bars [2kN + N, 2(k+1)N).  The page sends the player's notes as it
heard them (session seconds, as played against the swung band); ``answer`` reads them
back onto the grid (``unswing``) as the primer (the player's turn alone, so the work per answer does not
grow with the session), and samples only the answer's N bars after it.  The notes come back in
session seconds, swung as the band swings, for the page to play at their bar.

Why the page asks before the bar line, not at it: an answer that starts on the downbeat
after the player's last bar cannot be made after that bar line and still be ready for
it.  So the page sends what it has heard a little before the bar line (``serve``'s
trade API; the page picks the lead from the latencies it measured), and a note begun in
that last moment is kept for the saved session but not for the answer.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace

import numpy as np

from jazzgen.errors import UsageError
from jazzgen.generation.band import band_parts
from jazzgen.generation.render import SOLO_PROGRAM, synthesize
from jazzgen.generation.sample import Sampling, Stepper, improvise
from jazzgen.music.chart import Chart
from jazzgen.music.midi_io import Part, write_midi
from jazzgen.music.notes import GRID, ChordChange, NoteSequence, Tempo, TimeSignature
from jazzgen.music.quantize import quantize
from jazzgen.music.timing import TPQ_OUT, swing_at_tempo, swing_for, swing_ticks, unswing

TURN_BARS = (1, 2, 4, 8)      # bars a turn the page offers
MAX_NOTES = 20_000            # player notes a session keeps
MAX_TURNS = 1000
PLAYER_PROGRAM, PLAYER_CHANNEL = 0, 1       # the player's voice in the saved MIDI: piano, channel 2
LOOP_BARS = 8                 # the band's loop is whole choruses, at least this many bars
BAND_RATE = 22050             # the band loop's sample rate: half the size of CD audio, for the page


@dataclass
class Trade:
    """One trading session: the chart, the turn length, how jazzgen plays, what was played."""
    chart: Chart
    bars: int
    swing: float
    sampling: Sampling = field(default_factory=Sampling)
    seed: int = 0
    performer: str | None = None
    instrument: int = SOLO_PROGRAM
    band: str = "trio"
    player: dict[int, tuple[float, float, int, int]] = field(default_factory=dict)   # id -> on, off, pitch, vel
    answers: dict[int, NoteSequence] = field(default_factory=dict)                   # turn -> notes (session steps)

    def __post_init__(self):
        if self.bars not in TURN_BARS:
            raise UsageError(f"bars must be one of {', '.join(map(str, TURN_BARS))}, not {self.bars}")

    @property
    def bar_steps(self) -> int:
        return self.chart.bar_steps

    @property
    def turn_steps(self) -> int:
        return self.bars * self.bar_steps

    def seconds(self, steps) -> np.ndarray:
        """Session steps -> session seconds, swung as the band plays them."""
        ticks = swing_ticks(np.asarray(steps, np.float64).reshape(-1), self.swing)
        return ticks / TPQ_OUT * 60.0 / self.chart.bpm

    def steps(self, seconds) -> np.ndarray:
        """Session seconds -> session steps (float), the swing taken out: ``seconds``'s inverse."""
        return unswing(np.asarray(seconds, np.float64) * self.chart.bpm / 60.0 * GRID, self.swing)


def new_trade(chart: Chart, bars: int, swing: float | None = None, **kw) -> Trade:
    """A session over `chart`: swing None follows the tempo; seed None draws one."""
    swing = swing_at_tempo(chart.bpm) if swing is None else swing
    seq = chart.timeline(chart.bar_steps)
    kw["seed"] = kw.get("seed") if kw.get("seed") is not None else secrets.randbelow(2**31)
    return Trade(chart, bars, swing_for(seq, swing), **kw)


# ---------------------------------------------------------------------------- the player's notes

def add_notes(trade: Trade, notes) -> None:
    """Keep the player's notes, [id, on, off, pitch, velocity] each (seconds; off null: still
    held).  A note sent again (same id) replaces the earlier copy, as when a held one ends."""
    for n in notes:
        if not (isinstance(n, (list, tuple)) and len(n) == 5):
            raise UsageError("each note must be [id, on, off, pitch, velocity]")
        nid, on, off, pitch, vel = n
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (nid, on, pitch, vel)) \
                or not (off is None or isinstance(off, (int, float)) and not isinstance(off, bool)):
            raise UsageError("a note's id, on, pitch and velocity must be numbers (off a number or null)")
        if not (0 <= nid < 2**31 and 0 <= on < 86400 and 0 <= pitch <= 127 and 0 <= vel <= 127
                and (off is None or on <= off < 86400)):
            raise UsageError(f"note {nid}: on/off must be seconds in [0, 86400), pitch and velocity 0..127")
        if nid not in trade.player and len(trade.player) >= MAX_NOTES:
            raise UsageError(f"a session keeps at most {MAX_NOTES} notes")
        trade.player[int(nid)] = (float(on), None if off is None else float(off), int(pitch), max(1, int(vel)))


def player_line(trade: Trade, lo: int, hi: int, until: float | None = None) -> NoteSequence:
    """The player's notes with onsets in steps [lo, hi), on the grid, monophonic (the top note
    of a chord), cut at `hi`; a note still held ends at `until` seconds (default: at hi)."""
    notes = sorted(trade.player.values())
    if not notes:
        return NoteSequence.empty()
    on_s = np.array([n[0] for n in notes])
    hi_s = float(trade.seconds([hi])[0]) if until is None else until
    off_s = np.array([n[1] if n[1] is not None else max(hi_s, n[0]) for n in notes])
    on, off = trade.steps(on_s), trade.steps(off_s)
    keep = (on >= lo - 0.5) & (on < hi - 0.5)
    if not keep.any():
        return NoteSequence.empty()
    tick = TPQ_OUT / GRID
    line = quantize(np.rint(on[keep] * tick), np.rint((off[keep] - on[keep]) * tick),
                    np.array([n[2] for n in notes])[keep], np.array([n[3] for n in notes])[keep], TPQ_OUT)
    ok = line.on < hi
    off = np.minimum(line.off[ok], hi)
    return NoteSequence(line.pitch[ok], line.on[ok], off - line.on[ok], line.velocity[ok])


# ---------------------------------------------------------------------------- the answer

def window(chart: Chart, lo: int, hi: int) -> NoteSequence:
    """The chart's timeline over session steps [lo, hi), shifted to start at 0 (the chord in
    force at lo written there); only the choruses it touches are looked at."""
    per = chart.chorus
    looped = [ChordChange(c.step + k * per - lo, c.symbol)
              for k in range(max(0, lo // per - 1), -(-hi // per)) for c in chart.changes]
    before = [c for c in looped if c.step <= 0]
    seq = NoteSequence.empty()
    seq.chords = ([ChordChange(0, before[-1].symbol)] if before else []) + \
        [c for c in looped if 0 < c.step < hi - lo]
    seq.end = hi - lo
    seq.tempos = [Tempo(0, float(chart.bpm))]
    seq.time_signatures = [TimeSignature(0, *chart.meter)]
    return seq


def _shifted(seq: NoteSequence, by: int, lo: int, hi: int) -> tuple[np.ndarray, ...]:
    keep = (seq.start >= lo) & (seq.start < hi)
    start = seq.start[keep].astype(np.int64) + by
    end = np.minimum(start + seq.duration[keep], hi + by)
    return seq.pitch[keep], start, end - start, seq.velocity[keep]


def context(trade: Trade, turn: int, until: float | None = None) -> tuple[NoteSequence, int, int]:
    """(the primer, its first session step, the answer's first step) of turn's answer: the
    player's bars of that turn, on the grid, over the chart's changes there."""
    w0 = 2 * turn * trade.turn_steps
    a0 = w0 + trade.turn_steps
    pitch, start, dur, vel = _shifted(player_line(trade, w0, a0, until), -w0, w0, a0)
    primer = replace(window(trade.chart, w0, a0), pitch=pitch, start=start, duration=dur, velocity=vel,
                     end=a0 - w0)
    return primer, w0, a0


def answer(stepper: Stepper, trade: Trade, turn: int, until: float | None = None) -> NoteSequence:
    """Jazzgen's answer to `turn`: its N bars, in session steps, continuing the player's idea."""
    if not 0 <= turn < MAX_TURNS:
        raise UsageError(f"turn must be in 0..{MAX_TURNS - 1}, not {turn}")
    primer, w0, a0 = context(trade, turn, until)
    timeline = window(trade.chart, w0, a0 + trade.turn_steps)
    solo = improvise(stepper, timeline, sampling=trade.sampling, seed=[trade.seed, turn], primer=primer,
                     performer=trade.performer, resume_at=a0 - w0)[0]
    pitch, start, dur, vel = _shifted(solo, w0, a0 - w0, timeline.end)
    out = NoteSequence(pitch, start, dur, vel)
    trade.answers[turn] = out
    return out


# ---------------------------------------------------------------------------- band and the saved session

def band_loop(trade: Trade, sample_rate: int = BAND_RATE) -> tuple[np.ndarray, float, float]:
    """(audio, loop start s, loop end s): the band over two loops of whole choruses; playing
    it from 0 and looping [start, end) repeats the second loop seamlessly (its first notes
    ring over from the first loop's last ones, as they do at every later wrap)."""
    chorus_bars = max(1, trade.chart.chorus // trade.bar_steps)
    loop = trade.chart.chorus * -(-LOOP_BARS // chorus_bars)
    seq = trade.chart.timeline(2 * loop)
    parts = band_parts(seq, trade.band, seed=trade.seed)
    audio = synthesize(NoteSequence.empty(), parts, swing=trade.swing, sample_rate=sample_rate)
    a, b = (float(x) for x in trade.seconds([loop, 2 * loop]))
    need = int(round(b * sample_rate))
    if len(audio) < need:
        audio = np.concatenate([audio, np.zeros((need - len(audio), 2), audio.dtype)])
    return audio[:need], a, b


def session_midi(trade: Trade, path) -> None:
    """Both voices in one MIDI file: jazzgen's answers (its instrument, channel 1) and the
    player's notes (piano, channel 2), with the chart's chords, tempo and meter; whole bars,
    a key still held ending with the last bar."""
    times = [t for n in trade.player.values() for t in (n[0], n[1]) if t is not None]
    ends = [int(s.start[-1] + s.duration[-1]) for s in trade.answers.values() if len(s)]
    ends += [int(np.ceil(trade.steps(max(times)))) + 1] if times else []
    end = -(-max(ends + [trade.turn_steps]) // trade.bar_steps) * trade.bar_steps
    line = player_line(trade, 0, end)
    cols = [np.concatenate([getattr(s, f) for s in trade.answers.values()] or [np.zeros(0, np.int64)])
            for f in ("pitch", "start", "duration", "velocity")]
    order = np.argsort(cols[1], kind="stable")
    solo = replace(window(trade.chart, 0, end), pitch=cols[0][order], start=cols[1][order],
                   duration=cols[2][order], velocity=cols[3][order], name="jazzgen")
    you = Part("You", PLAYER_PROGRAM, PLAYER_CHANNEL, line.pitch, line.start, line.duration, line.velocity)
    write_midi(path, solo, [you], program=trade.instrument, swing=trade.swing)


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, 1000 * (time.perf_counter() - t0)
