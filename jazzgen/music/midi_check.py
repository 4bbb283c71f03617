"""Is it a whole MIDI file with music in it?  The checks before and around symusic's parse.

A pure-Python walk over the chunk headers rejects what is not a whole MIDI file, so every
bad file gets a specific one-line reason; symusic's own (terse, C++) messages are put in
plain English naming the track; rhythm-game charts and keyboard style files are refused
with their reason; a stray controller value above 127 is clipped (the report says so).
mido reads what symusic does not keep (channels, plain text events, lyrics), once per file.
"""
from __future__ import annotations

import functools
import re

from jazzgen.errors import MidiError
from jazzgen.util import size_text

MAX_FILE_BYTES = 16 * 2**20   # a solo is kilobytes; anything this large is not one (read at call time)
MIN_TPQ, MAX_TPQ = 12, 30000  # ticks per beat: below the grid, or absurd


def too_large(n: int) -> MidiError:
    return MidiError(f"file too large ({size_text(n)} > {size_text(MAX_FILE_BYTES)})")


def check_header(data: bytes) -> None:
    """Size, MThd, type, time division: the reasons a file is no solo before parsing it."""
    if len(data) == 0:
        raise MidiError("empty file")
    if len(data) > MAX_FILE_BYTES:
        raise too_large(len(data))
    if data[:4] != b"MThd":
        raise MidiError("not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise MidiError(f"truncated MIDI header ({len(data)} bytes)")
    hlen = int.from_bytes(data[4:8], "big")
    if hlen != 6:
        raise MidiError(f"corrupt MIDI header (MThd length {hlen}, not 6)")
    fmt = int.from_bytes(data[8:10], "big")
    division = int.from_bytes(data[12:14], "big")
    if fmt not in (0, 1):
        raise MidiError(f"unsupported MIDI type {fmt} (only types 0 and 1)")
    if division & 0x8000:
        raise MidiError("SMPTE time division is not supported (no beats to place notes on)")
    if not MIN_TPQ <= division <= MAX_TPQ:
        raise MidiError(f"absurd ticks per beat: {division}")
    _check_chunks(data, int.from_bytes(data[10:12], "big"))


def _check_chunks(data: bytes, ntracks: int) -> None:
    """Walk the chunk headers: every track the header announces is there, whole.

    symusic parses only as many tracks as the header says and silently accepts a file
    cut at a chunk boundary; this catches that, and names truncation plainly.
    """
    pos, found = 14, 0
    while found < ntracks and pos + 8 <= len(data):
        cid, n = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
        if cid == b"MTrk":
            found += 1
            if pos + 8 + n > len(data):
                raise MidiError(f"truncated: track {found} of {ntracks} claims {n} bytes, "
                                f"{len(data) - pos - 8} left")
        elif not (cid.isascii() and cid.isalpha()):
            raise MidiError(f"corrupt MIDI file (no chunk at byte {pos}: {cid!r})")
        pos += 8 + n  # an unknown chunk is skipped, as the standard says
    if ntracks == 0 or found == 0:
        raise MidiError("no tracks")
    if found < ntracks:
        raise MidiError(f"truncated: the header announces {ntracks} tracks, {found} found")


# symusic's messages (C++, terse) -> plain English; each was provoked by the fuzz
# strategies of tests/test_fuzz.py.  Anything else is passed on as "symusic: ...".
_SYMUSIC_SAYS = [
    (r"Get velocity=(\d+)", "a note velocity of {0}, above 127"),
    (r"Get pitch=(\d+)", "a note pitch of {0}, above 127"),
    (r"Get program=(\d+)", "a program number of {0}, above 127"),
    (r"Get control_number=(\d+)", "a controller number of {0}, above 127"),
    (r"Get control_value=(\d+)", "a controller value of {0}, above 127"),
    (r"Get pitch_bend=(-?\d+)", "a pitch bend of {0}, outside -8192..8191"),
    (r"Unexpected EOF in Meta Event", "a meta event runs past the end of the track"),
    (r"Unexpected EOF in SysEx Event", "a SysEx event runs past the end of the track"),
    (r"Unexpected EOF in (?:MIDI Event|running status)", "an event runs past the end of the track"),
    (r"Unexpected running status", "data bytes with no status byte before them"),
    (r"Unknown or unsupported status byte: 0x([0-9a-fA-F]+)", "unknown status byte 0x{0}"),
]


def _plain(msg: str) -> str:
    """A symusic error message in words a user can act on."""
    for pattern, words in _SYMUSIC_SAYS:
        m = re.search(pattern, msg)
        if m:
            return words.format(*(g.upper() if words.endswith("0x{0}") else g for g in m.groups()))
    msg = msg.removeprefix("MiniMidi: ").removesuffix(": iostream error")
    return f"symusic: {msg}"


def _bad_track(data: bytes) -> int | None:
    """The first track (from 1) that symusic cannot parse on its own; only on the error path."""
    import symusic
    pos, found = 14, 0
    while pos + 8 <= len(data):
        n = int.from_bytes(data[pos + 4:pos + 8], "big")
        if data[pos:pos + 4] == b"MTrk":
            found += 1
            one = data[:10] + b"\x00\x01" + data[12:14] + data[pos:pos + 8 + n]
            try:
                symusic.Score.from_midi(one)
            except Exception:
                return found
        pos += 8 + n
    return None


def _parse(data: bytes):
    import symusic
    try:
        return symusic.Score.from_midi(data)
    except Exception as e:  # symusic raises RuntimeError/ValueError with a C++ message
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        where = _bad_track(data)
        raise MidiError(f"corrupt MIDI data{f' in track {where}' if where else ''} ({_plain(msg)})") from None


# Rock Band / Clone Hero / Rocksmith charts: tracks named "PART GUITAR", "PART REAL_BASS"...
_GAME_TRACK = re.compile(r"PART (GUITAR|BASS|DRUMS|VOCALS|KEYS|RHYTHM|REAL_[A-Z_]+)( [A-Z_]+)*")


def refuse_game_chart(data: bytes) -> None:
    """A rhythm-game chart is a MIDI file whose notes are buttons (pitches 96-100 are the
    lanes of one difficulty): no music to learn from, and no part of it is a melody."""
    names = {data[m.end():m.end() + m.group(1)[0]].decode("latin-1")
             for m in re.finditer(rb"\xff\x03([\x01-\x7f])", data)}
    names = sorted(n for n in names if _GAME_TRACK.fullmatch(n))
    if names:
        raise MidiError(f"a rhythm-game chart (tracks {', '.join(names)}): its notes are buttons, not music")


def refuse_style_file(score) -> None:
    """A Yamaha keyboard style (SFF1/SFF2: markers "SInt", "Main A", "Fill In AA"...) holds
    the accompaniment patterns an arranger keyboard loops: no melody, whichever part wins."""
    marks = {m.text.strip() for m in score.markers}
    if marks & {"SFF1", "SFF2"} and "SInt" in marks:
        kind = sorted(marks & {"SFF1", "SFF2"})[0]
        raise MidiError(f"a Yamaha style file ({kind}: accompaniment patterns such as 'Main A'), no melody")


def _clipped(data: bytes) -> bytes | None:
    """The file rewritten with its data values above 127 clipped to 127 (mido's clip), or None
    when that does not read either.  Some real files carry a stray controller value (168 in a
    track whose notes are fine: Rush's "Closer to the Heart" in mido's test files), and symusic
    refuses the whole file for it.  Only for controllers: a note or program byte above 127
    is a corrupt note, and clipping would make it a wrong one."""
    import io

    import mido
    try:
        mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
        out = io.BytesIO()
        mf.save(file=out)
        return out.getvalue()
    except Exception:
        return None


def parse_or_clip(data: bytes) -> tuple[object, bytes, bool]:
    """(score, the bytes it was read from, whether data values had to be clipped)."""
    try:
        return _parse(data), data, False
    except MidiError as e:
        fixed = _clipped(data) if "a controller" in str(e) else None   # notes and programs stay errors
        if fixed is None:
            raise
        return _parse(fixed), fixed, True


@functools.lru_cache(maxsize=1)
def mido_file(data: bytes):
    """The file parsed by mido (None if it cannot be), once per file: what symusic does not
    keep (channels, plain text events, lyrics of .kar files) is read from it."""
    import io

    import mido
    try:
        return mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception:
        return None


def _note_ons(data: bytes) -> tuple[int, int]:
    """(note-ons, note-offs) counted with mido: only to explain a file that reads as empty."""
    mf = mido_file(data)
    if mf is None:
        return 0, 0
    ons = offs = 0
    for tr in mf.tracks:
        for msg in tr:
            if msg.type == "note_on" and msg.velocity > 0:
                ons += 1
            elif msg.type in ("note_on", "note_off"):
                offs += 1
    return ons, offs


def no_notes(score, data: bytes) -> MidiError:
    """Why no track has a note: drums only, note-ons never ended, or simply none."""
    if any(t.note_num() for t in score.tracks):
        return MidiError("only drum notes (channel 10)")
    ons, offs = _note_ons(data)
    if ons:
        return MidiError(f"notes never end: {ons} note-ons, {offs} note-offs, no complete note")
    return MidiError("no notes")
