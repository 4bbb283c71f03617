"""The chart a solo is improvised over: one chorus of changes, its meter and its tempo.

Every entry point (the ``generate`` command, the web page, the benchmarks) builds its
chart with ``build_chart`` and turns it into the timeline the sampler reads with
``Chart.timeline``, so a chart typed anywhere means the same music everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .chords import FORMS, form_changes, parse_changes
from .errors import ChordError, UsageError
from .notes import GRID, ChordChange, NoteSequence, Tempo, TimeSignature

DEFAULT_BPM = 160.0
DEFAULT_FORM, DEFAULT_KEY = "blues", "F"
MIN_BPM, MAX_BPM = 20.0, 400.0
MAX_SECONDS = 3600.0
MAX_CHART_BYTES = 2**20       # a chart is a few hundred bytes


@dataclass(frozen=True)
class Chart:
    """One chorus of changes (steps from its downbeat), looped to fill a solo."""
    changes: tuple[ChordChange, ...]
    chorus: int                        # length of one chorus in grid steps (whole bars)
    bpm: float = DEFAULT_BPM
    meter: tuple[int, int] = (4, 4)

    @property
    def bar_steps(self) -> int:
        return TimeSignature(0, *self.meter).bar_steps

    def steps(self, seconds: float) -> int:
        """Grid steps in `seconds` at this tempo (at least one)."""
        return max(1, round(seconds * self.bpm / 60.0 * GRID))

    def timeline(self, steps: int, name: str = "solo") -> NoteSequence:
        """A NoteSequence with no notes: the changes looped over `steps`, tempo and meter."""
        loops = -(-steps // self.chorus)
        chords = [ChordChange(c.step + k * self.chorus, c.symbol) for k in range(loops) for c in self.changes]
        seq = NoteSequence.empty(name)
        seq.chords = [c for c in chords if c.step < steps]
        seq.tempos = [Tempo(0, float(self.bpm))]
        seq.time_signatures = [TimeSignature(0, *self.meter)]
        seq.end = steps
        return seq


def from_bars(bars: list[list[str]], bpm: float = DEFAULT_BPM, meter: tuple[int, int] = (4, 4)) -> Chart:
    """Bars of symbols (chords within a bar share it equally) as a Chart."""
    bar = TimeSignature(0, *meter).bar_steps
    changes = tuple(ChordChange(i * bar + j * bar // len(b), s) for i, b in enumerate(bars) for j, s in enumerate(b))
    return Chart(changes, len(bars) * bar, float(bpm), meter)


def of_primer(primer: NoteSequence, bpm: float) -> Chart:
    """The primer's own changes, a whole number of bars long."""
    ts = primer.time_signature_at(0)
    return Chart(tuple(primer.chords), max(1, -(-primer.end // ts.bar_steps)) * ts.bar_steps, float(bpm),
                 (ts.numerator, ts.denominator))


def read_chart_file(path: str | Path) -> str:
    """The text of a chart file (UTF-8, a BOM allowed); errors name the file."""
    from .files import regular_file
    path = regular_file(path, UsageError, "chart")   # a FIFO would block the read
    try:
        size = path.stat().st_size
        if size > MAX_CHART_BYTES:
            raise UsageError(f"chart {path}: {size} bytes, more than the {MAX_CHART_BYTES} a chord chart needs")
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read chart {path}: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"chart {path} is not a text file (not UTF-8)") from None


MAX_BAR_BEATS = 64   # a primer's meter: more beats to the bar is a corrupt file, not music


def check_primer(primer: NoteSequence, bpm: float | None = None) -> None:
    """A primer's tempo (unless --bpm overrides it), meter and length go through the flags' limits:
    a file at 3,000 us per beat must not make a solo at 20,000 bpm."""
    name = f"primer {primer.name}" if primer.name else "the primer"
    if bpm is None and primer.tempos:
        qpm = float(primer.tempos[0].qpm)
        if not MIN_BPM <= qpm <= MAX_BPM:
            raise UsageError(f"{name}: its tempo {qpm:.6g} bpm is outside [{MIN_BPM:g}, {MAX_BPM:g}]; "
                             "pass --bpm to play it at another")
    ts = primer.time_signature_at(0)
    if not 1 <= ts.numerator <= MAX_BAR_BEATS or ts.bar_steps < 1:
        raise UsageError(f"{name}: its meter {ts.numerator}/{ts.denominator} is not one a solo can be played in")
    qpm = bpm or (primer.tempos[0].qpm if primer.tempos else DEFAULT_BPM)
    seconds = primer.end / GRID * 60.0 / qpm
    if seconds > MAX_SECONDS:
        raise UsageError(f"{name}: {seconds:.0f} s long, more than the {MAX_SECONDS:g} s a solo may last")


def build_chart(*, chords: str | None = None, chart_file: str | Path | None = None, form: str | None = None,
                key: str | None = None, bpm: float | None = None, primer: NoteSequence | None = None) -> Chart:
    """The one chart builder: typed changes, a chart file, the primer's changes, or a form.

    Precedence: `chords`, then `chart_file`, then the primer's own changes (when it has
    some and no form is asked for), then `form` (default: a blues in F).  The tempo is
    `bpm`, else the primer's, else 160.
    """
    if key is not None and (chords is not None or chart_file is not None):
        raise UsageError("--key transposes a --form, not --chords or --chart")
    if bpm is not None and not MIN_BPM <= bpm <= MAX_BPM:   # also NaN
        raise UsageError(f"--bpm must be in [{MIN_BPM:g}, {MAX_BPM:g}], not {bpm:g}")
    if primer is not None:
        check_primer(primer, bpm)
    bpm = bpm if bpm is not None else (primer.tempos[0].qpm if primer is not None and primer.tempos else DEFAULT_BPM)
    if chords is not None:
        return from_bars(parse_changes(chords), bpm)
    if chart_file is not None:
        return from_bars(parse_changes(read_chart_file(chart_file)), bpm)
    if primer is not None and primer.chords and form is None:
        return of_primer(primer, bpm)
    if form is not None and not form.strip():
        raise ChordError("empty form name; known forms: " + ", ".join(FORMS))
    form = form or DEFAULT_FORM
    return from_bars(form_changes(form, key or (DEFAULT_KEY if form == DEFAULT_FORM else None)), bpm)
