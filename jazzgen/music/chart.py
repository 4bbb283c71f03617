"""The chart a solo is improvised over: one chorus of changes, its meter and its tempo.

Every entry point (the ``generate`` command, the web page, the benchmarks) builds its
chart with ``build_chart`` and turns it into the timeline the sampler reads with
``Chart.timeline`` (or ``timeline_with_primer``), so a chart typed anywhere means the
same music everywhere.

Meter.  A chart is in one meter: ``meter=(3, 4)`` / ``--meter 3/4``, else the chart
file's own, else the form's (``chords.FORM_METERS``: the waltz is 3/4, the rest 4/4),
else the primer's, else 4/4.  A chart file states its meter on its first non-empty
line, alone, as ``3/4`` or ``meter: 3/4`` (``time: 6/8`` too; any N/D with D in 1, 2,
4, 8, 16); the lines after it are the changes.  Chords sharing a bar split its felt
beats (``TimeSignature.groups``), the first ones getting the extra beat: in 3/4,
``Dm7 G7`` is two beats of Dm7 and one of G7 (4/4 keeps its equal split).

Primers.  ``fit_primer`` cuts a primer to its first bars (``--primer-bars``; by default
all of it, or its first ``PRIMER_BARS`` bars when it lasts more than half of
``--seconds``) and refuses one that fills the whole length; ``timeline_with_primer``
keeps the primer's tempo map, meter and key signature under its bars, then goes on in
the chart's tempo and meter, the chart's changes running from bar 1 under both.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from jazzgen.errors import ChordError, FieldError, UsageError
from jazzgen.music.charts import Tune, changes_of, pick_tune, read_chart_file, read_tunes
from jazzgen.music.chords import FORMS, clean, form_changes, form_meter, parse_changes
from jazzgen.music.notes import ChordChange, NoteSequence, Tempo, TimeSignature, parse_meter
from jazzgen.music.timing import seconds_in, seconds_of, steps_in

DEFAULT_BPM = 160.0
DEFAULT_FORM, DEFAULT_KEY = "blues", "F"
MIN_BPM, MAX_BPM = 20.0, 400.0
MAX_SOLO_SECONDS = 3600.0
PRIMER_BARS = 4            # a primer longer than half of --seconds is cut to this many bars
_METER_LINE = re.compile(r"\s*(?:(?:meter|time)\s*:?\s*)?(\d{1,2}\s*/\s*\d{1,2})\s*", re.I)


@dataclass(frozen=True)
class Chart:
    """One chorus of changes (steps from its downbeat), looped to fill a solo."""
    changes: tuple[ChordChange, ...]
    chorus: int                        # length of one chorus in grid steps (whole bars)
    bpm: float = DEFAULT_BPM
    meter: tuple[int, int] = (4, 4)
    meters: tuple[tuple[int, int], ...] = ()   # each bar's meter, when the chart changes meter
    title: str = ""                    # the tune's name, when the chart has one

    @property
    def bar_steps(self) -> int:
        """Steps in a bar of the chart's (first) meter."""
        return TimeSignature(0, *self.meter).bar_steps

    def bars(self) -> list[tuple[int, int]]:
        """(start, length) in steps of each bar of one chorus."""
        lengths = [TimeSignature(0, *m).bar_steps for m in self.meters] or [self.bar_steps] * (
            self.chorus // self.bar_steps)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist()
        return list(zip(starts, lengths))

    def steps(self, seconds: float) -> int:
        """Grid steps in `seconds` at this tempo (at least one)."""
        return steps_in(seconds, self.bpm)

    def timeline(self, steps: int, name: str = "solo") -> NoteSequence:
        """A NoteSequence with no notes: the changes looped over `steps`, tempo and meter."""
        loops = -(-steps // self.chorus)
        chords = [ChordChange(c.step + k * self.chorus, c.symbol) for k in range(loops) for c in self.changes]
        seq = NoteSequence.empty(name)
        seq.chords = [c for c in chords if c.step < steps]
        seq.tempos = [Tempo(0, float(self.bpm))]
        seq.time_signatures = [TimeSignature(0, *self.meter)]
        if self.meters:
            marks = [(a, m) for (a, _), m, before in zip(self.bars(), self.meters, (None,) + self.meters)
                     if m != before]
            seq.time_signatures = [TimeSignature(a + k * self.chorus, *m) for k in range(loops)
                                   for a, m in marks if a + k * self.chorus < steps]
        seq.end = steps
        return seq


def default_key(form: str) -> str | None:
    """The key a form is played in when none is asked for: the blues in F, the others as written."""
    return DEFAULT_KEY if form == DEFAULT_FORM else None


def from_bars(bars: list[list[str]], bpm: float = DEFAULT_BPM, meter: tuple[int, int] = (4, 4)) -> Chart:
    """Bars of symbols as a Chart: chords within a bar share it (see the module docstring)."""
    meter = tuple(meter)
    bar = TimeSignature(0, *meter).bar_steps
    changes = tuple(ChordChange(i * bar + off, s) for i, b in enumerate(bars)
                    for off, s in zip(_offsets(len(b), meter), b))
    return Chart(changes, len(bars) * bar, float(bpm), meter)


def _offsets(n: int, meter: tuple[int, int]) -> list[int]:
    """Where each of n chords in one bar starts: equal shares in 4/4 (as always), on the
    felt beats in other meters, the earlier chords taking the odd beat."""
    ts = TimeSignature(0, *meter)
    bar = ts.bar_steps
    beats = [b for g in ts.groups for b in g]
    if meter == (4, 4) or n > len(beats):
        return [j * bar // n for j in range(n)]
    onsets = np.concatenate([[0], np.cumsum(beats)]).tolist()
    return [int(onsets[-(-j * len(beats) // n)]) for j in range(n)]


def split_meter(text: str) -> tuple[tuple[int, int] | None, str]:
    """(meter stated on the first non-empty line, the rest) of a chart's text; (None, text)
    when that line is not a meter.  Raises UsageError for a meter line that is no meter."""
    lines = str(text).splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None, text
    m = _METER_LINE.fullmatch(lines[first])
    if not m:
        return None, text
    return meter_of(m.group(1), "chart meter line"), "\n".join(lines[first + 1:])


def meter_of(value, what: str | None = None) -> tuple[int, int]:
    """A meter given as '3/4' or (3, 4), checked; else a UsageError naming `what`, or (None)
    the field ``meter``."""
    try:
        if isinstance(value, str):
            return parse_meter(value)
        num, den = (int(v) for v in value)
        return parse_meter(f"{num}/{den}")
    except (TypeError, ValueError) as e:
        if what is None:
            raise FieldError("meter", str(e).removeprefix("meter ")) from None
        raise UsageError(f"{what}: {e}") from None


def of_primer(primer: NoteSequence, bpm: float, meter: tuple[int, int]) -> Chart:
    """The primer's own changes bar by bar, in `meter`: a change a third of the way into the
    primer's bar k is a third of the way into the chart's bar k, whatever meters the primer
    went through (a 4/4 bar before a tune in 5/4 is still one bar)."""
    bars = primer.bars(primer_end(primer))
    starts = np.array([b[0] for b in bars])
    per = TimeSignature(0, *meter).bar_steps
    changes = []
    for c in primer.chords:
        k = max(0, int(np.searchsorted(starts, c.step, side="right")) - 1)
        changes.append(ChordChange(k * per + (c.step - bars[k][0]) * per // bars[k][1], c.symbol))
    return Chart(tuple(changes), len(bars) * per, float(bpm), tuple(meter))


def primer_tempo_and_meter(primer: NoteSequence, at: int) -> tuple[float | None, tuple[int, int]]:
    """The primer's tempo (None without a tempo map) and meter in force just before step
    `at`, where the solo takes over from it: a primer whose first bar is in 4/4 and the
    rest in 5/4 is continued in 5/4, at the tempo it has reached."""
    before = [t for t in sorted(primer.tempos, key=lambda t: t.step) if t.step < max(at, 1)]
    ts = primer.time_signature_at(max(at, 1) - 1)
    return (float(before[-1].qpm) if before else None), (ts.numerator, ts.denominator)


MAX_BAR_BEATS = 64   # a primer's meter: more beats to the bar is a corrupt file, not music


def check_primer(primer: NoteSequence, bpm: float | None = None) -> None:
    """A primer's tempo (unless `bpm` overrides it), meter and length go through the settings' limits:
    a file at 3,000 us per beat must not make a solo at 20,000 bpm."""
    name = f"primer {primer.name}" if primer.name else "the primer"
    if bpm is None and primer.tempos:
        qpm = float(primer.tempos[0].qpm)
        if not MIN_BPM <= qpm <= MAX_BPM:
            raise UsageError(f"{name}: its tempo {qpm:.6g} bpm is outside [{MIN_BPM:g}, {MAX_BPM:g}]; "
                             "give `bpm` to play it at another")
    ts = primer.time_signature_at(0)
    if not 1 <= ts.numerator <= MAX_BAR_BEATS or ts.bar_steps < 1:
        raise UsageError(f"{name}: its meter {ts.numerator}/{ts.denominator} is not one a solo can be played in")
    qpm = bpm or (primer.tempos[0].qpm if primer.tempos else DEFAULT_BPM)
    seconds = seconds_in(primer.end, qpm)
    if seconds > MAX_SOLO_SECONDS:
        raise UsageError(f"{name}: {seconds:.0f} s long, more than the {MAX_SOLO_SECONDS:g} s a solo may last")


def build_chart(*, chords: str | None = None, chart_file: str | Path | None = None, form: str | None = None,
                key: str | None = None, bpm: float | None = None, primer: NoteSequence | None = None,
                meter: tuple[int, int] | str | None = None, primer_until: int | None = None,
                tune: str | None = None, chart_data: bytes | None = None) -> Chart:
    """The one chart builder: typed changes, a chart file, the primer's changes, or a form.

    Precedence: `chords`, then `chart_file` (or the file's bytes, `chart_data`: any format
    of ``chart_files``; `tune` picks one of a playlist), then the primer's own changes
    (when it has some and no form is asked for), then `form` (default: a blues in F; a
    primer without chords gets it too).  The tempo is `bpm`, else the chart file's, else
    the primer's, else 160.  The meter is `meter`, else the chart file's, else the form's,
    else the primer's, else 4/4.  The primer's tempo and meter are those in force where
    the solo takes over: at `primer_until` (the end of the bars kept, ``fit_primer``),
    else at the primer's end.
    """
    from_file = chart_file is not None or chart_data is not None
    if key is not None and (chords is not None or from_file):
        raise FieldError("key", "transposes a form, not chords or a chart")
    if tune is not None and not from_file:
        raise FieldError("tune", "picks a tune of a chart file")
    if bpm is not None and not MIN_BPM <= bpm <= MAX_BPM:   # also NaN
        raise FieldError("bpm", f"must be in [{MIN_BPM:g}, {MAX_BPM:g}], not {bpm:g}")
    if primer is not None:
        check_primer(primer, bpm)
    primer_bpm, primer_meter = None, None
    if primer is not None:
        primer_bpm, primer_meter = primer_tempo_and_meter(
            primer, primer_until if primer_until is not None else primer_end(primer))
    asked = meter_of(meter) if meter is not None else None
    if from_file:
        data = chart_data if chart_data is not None else read_chart_file(chart_file)
        return file_chart(data, "" if chart_data is not None else str(chart_file), tune,
                          bpm, primer_bpm, asked or primer_meter, asked is not None)
    bpm = bpm if bpm is not None else (primer_bpm or DEFAULT_BPM)
    if chords is not None:
        return from_bars(parse_changes(chords), bpm, asked or primer_meter or (4, 4))
    if primer is not None and primer.chords and form is None:
        return of_primer(primer, bpm, asked or primer_meter)
    if form is not None:
        form = clean(form)
        if not form:
            raise ChordError("empty form name; known forms: " + ", ".join(FORMS))
    bars = form_changes(form or DEFAULT_FORM, key or default_key(form or DEFAULT_FORM))
    own = form_meter(form) if form is not None else (primer_meter or form_meter(DEFAULT_FORM))
    return from_bars(bars, bpm, asked or own)


def file_chart(data: bytes, name: str, tune: str | None, bpm: float | None, primer_bpm: float | None,
               meter: tuple[int, int] | None, forced: bool = False) -> Chart:
    """The Chart of a chart file's bytes (any format; `tune` picks one of a playlist).

    Its tempo: `bpm`, else the chart's own (when within the flag's limits), else
    `primer_bpm`, else 160.  Its meter: `meter` when `forced` (--meter), else the chart's
    own, else `meter`, else 4/4.  Errors name the field and the file: ``chart F: tune
    'Blue Bossa', bar 5: unknown chord symbol ...`` (``--chart F: ...`` on the command line).
    """
    what = "the chart" + (f" {name}" if name else "")
    try:
        got = read_tunes(data, name)
        if isinstance(got, str):
            if tune is not None:
                raise FieldError("tune", "picks a tune of a playlist; a text chart holds one chorus")
            own, text = split_meter(got)
            return from_bars(parse_changes(text), bpm or primer_bpm or DEFAULT_BPM,
                             (meter if forced else own or meter) or (4, 4))
    except (ChordError, UsageError) as e:
        if e.field is not None:
            raise
        raise type(e)(f"{name}: {e}" if name else f": {e}", field="chart") from None
    entry = pick_tune(got, tune, what)
    try:
        picked = entry.read()
        own_bpm = picked.bpm if picked.bpm and MIN_BPM <= picked.bpm <= MAX_BPM else None
        return from_tune(picked, bpm or own_bpm or primer_bpm or DEFAULT_BPM, meter if forced else None)
    except ChordError as e:
        raise ChordError(f"{name}: {e}" if name else f": {e}", field="chart") from None


def from_tune(tune: Tune, bpm: float, meter: tuple[int, int] | None = None) -> Chart:
    """The Chart of a tune read from a file: the bars its road map plays, once through
    (``form.play_order``), each in its own meter (or all in `meter`, chords kept at their
    place in the bar)."""
    played = tune.played()
    if meter is not None:
        played = [replace(b, meter=tuple(meter)) for b in played]
    changes, meters, steps = changes_of(played)
    uniform = len(set(meters)) == 1
    return Chart(tuple(ChordChange(s, c) for s, c in changes), steps, float(bpm), tuple(meters[0]),
                 () if uniform else tuple(tuple(m) for m in meters), tune.title)


# ---------------------------------------------------------------------------- primers


def primer_end(primer: NoteSequence) -> int:
    """The step where the primer's last bar ends (the primer fills whole bars)."""
    bars = primer.bars(max(1, primer.end))
    return bars[-1][0] + bars[-1][1]


def cut_primer(primer: NoteSequence, bars: int) -> NoteSequence:
    """The first `bars` bars of the primer (notes cut at the bar line), or all of it."""
    starts = primer.bars()
    if bars >= len(starts):
        return primer
    cut = starts[bars][0]
    keep = primer.start < cut
    before = lambda xs: [x for x in xs if x.step < cut]   # noqa: E731
    return replace(primer, pitch=primer.pitch[keep], start=primer.start[keep], velocity=primer.velocity[keep],
                   duration=np.minimum(primer.duration[keep], cut - primer.start[keep]), end=cut,
                   chords=before(primer.chords), tempos=before(primer.tempos),
                   time_signatures=before(primer.time_signatures), key_signatures=before(primer.key_signatures))


def fit_primer(primer: NoteSequence, seconds: float, bars: int | None = None) -> tuple[NoteSequence, str | None]:
    """(the primer to continue, a note saying it was cut by default, or None; the note's
    fields in backquotes, for each edge to say in its words: ``errors.in_words``).

    `bars`: keep the first `bars` bars (None: all of it, unless it lasts more than half of
    `seconds`, then its first PRIMER_BARS).  UsageError if what is kept fills `seconds`.
    """
    if bars is not None and bars < 1:
        raise FieldError("primer_bars", f"must be at least 1, not {bars}")
    note = None
    whole = seconds_of(primer, primer_end(primer))
    if bars is None and whole > seconds / 2 and len(primer.bars()) > PRIMER_BARS:
        bars = PRIMER_BARS
        note = (f"the primer lasts {whole:.1f} s, more than half of `seconds` {seconds:g}: "
                f"the solo continues after its first {PRIMER_BARS} bars (`primer_bars` N to choose)")
    head = cut_primer(primer, bars) if bars is not None else primer
    used = seconds_of(head, primer_end(head))
    if used >= seconds:
        what = f"its first {bars} bars" if bars is not None and head is not primer else "the whole primer"
        raise FieldError("seconds", f"{seconds:g}: the primer ({what}) lasts {used:.1f} s and fills all of it: "
                                    "ask for more `seconds` or fewer `primer_bars`")
    return head, note


def timeline_with_primer(chart: Chart, seconds: float, primer: NoteSequence, name: str = "solo") -> NoteSequence:
    """The timeline of a solo that continues `primer`: `seconds` long in all.

    Under the primer's bars: its own tempo map, meter and key signature; from the bar line
    after it, the chart's tempo and meter.  The chart's changes run from bar 1 under both,
    bar by bar (a chord a third of the way into a chart bar stays a third of the way into
    whatever bar it falls in).
    """
    head = primer_end(primer)
    used = seconds_of(primer, head)
    if used >= seconds:
        raise FieldError("seconds", f"{seconds:g}: the primer lasts {used:.1f} s and fills all of it: "
                                    "ask for more `seconds` or fewer `primer_bars`")
    steps = head + steps_in(seconds - used, chart.bpm)
    before = lambda xs: sorted((x for x in xs if x.step < head), key=lambda x: x.step)   # noqa: E731
    seq = NoteSequence.empty(name)
    seq.tempos = before(primer.tempos) or [Tempo(0, float(chart.bpm))]
    if seq.tempos[-1].qpm != chart.bpm:
        seq.tempos.append(Tempo(head, float(chart.bpm)))
    seq.time_signatures = before(primer.time_signatures) or [TimeSignature(0, 4, 4)]
    if (seq.time_signatures[-1].numerator, seq.time_signatures[-1].denominator) != tuple(chart.meter):
        seq.time_signatures.append(TimeSignature(head, *chart.meter))
    seq.key_signatures = before(primer.key_signatures)
    seq.end = steps
    seq.chords = _chords_over_bars(chart, seq.bars())
    return seq


def _chords_over_bars(chart: Chart, bars: list[tuple[int, int]]) -> list[ChordChange]:
    """The chart's changes looped over the given bars, each at the same fraction of its bar."""
    own = chart.bars()
    starts = np.array([a for a, _ in own])
    by_bar: dict[int, list[ChordChange]] = {}
    for c in chart.changes:
        by_bar.setdefault(int(np.searchsorted(starts, c.step, side="right")) - 1, []).append(c)
    out = []
    for k, (start, length) in enumerate(bars):
        first, per = own[k % len(own)]
        for c in by_bar.get(k % len(own), []):
            off = (c.step - first) * length // per
            if off < length:
                out.append(ChordChange(start + off, c.symbol))
    return out
