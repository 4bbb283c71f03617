"""Malformed MIDI never escapes as anything but a one-line MidiError.

Random bytes, truncations and byte flips of real WJazzD files and of small made-up
ones go to read_midi_bytes in this process: a crash or hang in the C++ parser would
take the test run down with it, which is the point.  (A wider fuzz run of 23,000
files, each parse in a child process, found none in symusic 0.6.)
"""
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import Track, midi_bytes, wjazzd_file
from jazzgen.music.midi_io import MidiError, read_midi_bytes
from jazzgen.music.notes import NoteSequence

SEED_FILES = ["ArtPepper_Anthropology_FINAL.mid", "DavidMurray_BluesForTwo-1_FINAL.mid",
              "FreddieHubbard_DolphinDance_FINAL.mid"]


def small(n: int, drums: bool = False, text: bool = False, meta: bool = True) -> bytes:
    """A short two-track file with tempo, meter, key (unless not meta), chord markers or text, and n notes."""
    conductor = Track(tempo=120, meter=(4, 4), key="Eb") if meta else Track()
    notes, t = [], 0
    for i in range(n):
        d = (120 + 40 * (i % 3)) / 480
        notes.append((60 + i % 12, t, d))
        t += d
    chords = [(s, ["C7", "Fm7", "Bb7", "N.C."][i % 4]) for i, (_, s, _) in enumerate(notes)]
    solo = Track(notes, name="Melody", channel=9 if drums else 0,
                 **{"texts" if text else "markers": chords})
    return midi_bytes(conductor, solo)


def seeds() -> list[bytes]:
    return [wjazzd_file(n).read_bytes() for n in SEED_FILES] + [small(12), small(3, drums=True), small(6, text=True),
                                                                small(5, meta=False)]


SEEDS = seeds()


@st.composite
def malformed(draw) -> bytes:
    kind = draw(st.sampled_from(["random", "header+random", "truncate", "flip", "flip+truncate", "splice"]))
    if kind == "random":
        return draw(st.binary(max_size=512))
    if kind == "header+random":
        return b"MThd\x00\x00\x00\x06\x00\x01" + draw(st.binary(max_size=4)) + b"MTrk" + draw(st.binary(max_size=512))
    data = bytearray(draw(st.sampled_from(SEEDS)))
    if kind in ("flip", "flip+truncate"):
        for _ in range(draw(st.integers(1, 24))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    if kind == "splice":
        i = draw(st.integers(0, len(data)))
        data[i:i] = draw(st.binary(min_size=1, max_size=64))
    if kind in ("truncate", "flip+truncate"):
        data = data[:draw(st.integers(0, len(data) - 1))]
    return bytes(data)


@settings(max_examples=1200, deadline=5000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(malformed())
def test_malformed_files_read_or_raise_one_line_midi_error(data):
    try:
        seq, rep = read_midi_bytes(data)
    except MidiError as e:
        msg = str(e)
        assert msg and "\n" not in msg and len(msg) < 300, msg
        assert not any(raw in msg for raw in ("MiniMidi", "iostream", "(Get ")), msg   # symusic's words, translated
        return
    assert isinstance(seq, NoteSequence) and len(seq) > 0
    assert (seq.pitch >= 0).all() and (seq.pitch <= 127).all() and (seq.duration >= 1).all()
    assert (seq.start[1:] > seq.start[:-1]).all() and (seq.start[:-1] + seq.duration[:-1] <= seq.start[1:]).all()
