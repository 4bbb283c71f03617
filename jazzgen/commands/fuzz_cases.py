"""The bad inputs of ``jazzgen.commands.fuzz``, family by family, from one seeded generator.

MIDI files (random bytes, truncations, byte flips, splices, odd headers, absurd meta
events), flags (wrong types, out-of-range and non-finite numbers, unknown flags, odd
paths), charts (random text and Unicode, chord-like noise, bad encodings) and model
folders broken every way.  Each is a ``Case``: a command, its argv and the files it needs.
"""
from __future__ import annotations

import io
import json
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jazzgen.music.midi_write import vlq
from jazzgen.paths import WJAZZD


@dataclass
class Case:
    family: str                     # midi / flags / chart / model / faults
    command: str                    # one of COMMANDS
    argv: list[str]
    # scratch-relative path -> bytes | ("fifo",) | ("dir",) | ("link", target)
    files: dict = field(default_factory=dict)
    keras: bool = False             # needs Keras (left out with --no-keras)
    timeout: float = 60.0            # seconds; generous: the machine is shared
    label: str = ""                 # what the input is, for the listing of failures
    fsize: int | None = None        # the child's RLIMIT_FSIZE: its writes past this many bytes fail (a full disk)


def choose(rng, xs):
    """One element of a list, as it is (rng.choice would make NumPy scalars, or fail on mixed lists)."""
    return xs[int(rng.integers(len(xs)))]


def small_solo(rng, bars: int = 8, name: str = "walk"):
    """A random-walk solo over a ii-V-I with chord markers, as a NoteSequence."""
    from jazzgen.music.notes import ChordChange, NoteSequence, Tempo, TimeSignature
    chords = [ChordChange(48 * b, ["Dm7", "G7", "Cmaj7", "A7b9"][b % 4]) for b in range(bars)]
    starts, t = [], 0
    pitch = 64
    while t < 48 * bars - 6:
        d = int(choose(rng, [6, 6, 12, 12, 18]))
        pitch = int(np.clip(pitch + rng.integers(-4, 5), 50, 84))
        starts.append((t, d, pitch))
        t += d
    s = np.array([x[0] for x in starts])
    d = np.array([x[1] for x in starts])
    return NoteSequence(np.array([x[2] for x in starts]), s, d, np.full(len(s), 90), chords=chords,
                        tempos=[Tempo(0, 140.0)], time_signatures=[TimeSignature(0, 4, 4)], end=48 * bars,
                        name=name)


def midi_bytes(seq) -> bytes:
    from jazzgen.music.midi_io import write_midi
    with tempfile.TemporaryDirectory() as d:
        write_midi(Path(d) / "x.mid", seq)
        return (Path(d) / "x.mid").read_bytes()


def raw_smf(events: list[bytes], tpq: int = 480, fmt: int = 1) -> bytes:
    """A one-track file from raw event bytes (delta time included)."""
    body = b"".join(events) + b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, fmt, 1, tpq) + b"MTrk" + struct.pack(">I", len(body)) + body


class Material:
    """What the inputs are made from: real and synthetic MIDI, the base model, a small data folder."""

    def __init__(self, work: Path, model: Path, rng):
        self.work = work
        self.model = model.resolve()
        wj = sorted(WJAZZD.glob("*.mid"))
        self.real = [f.read_bytes() for f in wj[:: max(1, len(wj) // 3)][:3]]
        self.synth = [midi_bytes(small_solo(rng, bars=4 + 2 * i, name=f"s{i}")) for i in range(3)]
        self.seeds = self.real + self.synth
        self.data = work / "data"                   # four good solos: what a valid --data is
        self.data.mkdir(parents=True, exist_ok=True)
        for i in range(4):
            (self.data / f"walk{i}.mid").write_bytes(midi_bytes(small_solo(rng, bars=8, name=f"walk{i}")))
        self.keras_bytes = (self.model / "model.keras").read_bytes()
        self.npz_bytes = (self.model / "weights.npz").read_bytes()
        with np.load(self.model / "weights.npz", allow_pickle=False) as z:
            self.weights = {k: z[k] for k in z.files}
        self.config = json.loads((self.model / "config.json").read_text())
        self.vocab = (self.model / "vocab.json").read_text()


def mutate_midi(rng, m: Material) -> tuple[bytes, str]:
    kind = choose(rng, ["random", "header+random", "odd header", "truncate", "flip", "flip+truncate", "splice",
                       "chunk length", "meta", "meta", "notes"])
    seed = bytearray(m.seeds[rng.integers(len(m.seeds))])
    if kind == "random":
        return rng.bytes(int(rng.integers(0, 3000))), kind
    if kind == "header+random":
        return b"MThd\x00\x00\x00\x06\x00\x01" + rng.bytes(4) + b"MTrk" + rng.bytes(int(rng.integers(0, 600))), kind
    if kind == "odd header":
        fields = [int(choose(rng, [0, 1, 2, 3, 255, 65535])), int(choose(rng, [0, 1, 2, 7, 65535])),
                  int(choose(rng, [0, 1, 11, 12, 96, 480, 30000, 30001, 0x7FFF, 0x8000 | 25, 0xE728]))]
        hlen = int(choose(rng, [6, 6, 6, 0, 5, 7, 0xFFFFFFFF]))
        return b"MThd" + struct.pack(">I", hlen) + struct.pack(">HHH", *fields) + bytes(seed[14:]), kind
    if kind in ("flip", "flip+truncate"):
        for _ in range(int(rng.integers(1, 30))):
            seed[int(rng.integers(len(seed)))] = int(rng.integers(256))
    if kind == "splice":
        i = int(rng.integers(len(seed) + 1))
        seed[i:i] = rng.bytes(int(rng.integers(1, 80)))
    if kind == "chunk length":
        seed[18:22] = struct.pack(">I", int(choose(rng, [0, 1, len(seed), 0x7FFFFFFF, 0xFFFFFFFF])))
    if kind in ("truncate", "flip+truncate"):
        seed = seed[:int(rng.integers(0, len(seed)))]
    if kind == "meta":
        return meta_file(rng), kind
    if kind == "notes":
        return notes_file(rng), kind
    return bytes(seed), kind


def meta_file(rng) -> bytes:
    """A file with one note and one absurd (or odd) meta event."""
    what = choose(rng, ["tempo", "meter", "key", "marker", "text", "name", "long marker", "sysex", "unknown meta"])
    if what == "tempo":
        ev = b"\x00\xff\x51\x03" + int(choose(rng, [0, 1, 3000, 2999, 60000, 0xFFFFFF])).to_bytes(3, "big")
    elif what == "meter":
        ev = b"\x00\xff\x58\x04" + bytes((int(rng.integers(0, 256)), int(rng.integers(0, 256)), 24, 8))
    elif what == "key":
        ev = b"\x00\xff\x59\x02" + bytes((int(rng.integers(0, 256)), int(rng.integers(0, 256))))
    elif what in ("marker", "text", "name"):
        kind = {"marker": 6, "text": 1, "name": 3}[what]
        txt = choose(rng, [rng.bytes(int(rng.integers(0, 20))), "C△7".encode(), "Cø7".encode("latin-1"),
                          b"\xef\xbb\xbfC7", b"\xff\xfe", "ＣΔ".encode(), b"\x00\x00"])
        ev = b"\x00\xff" + bytes((kind,)) + vlq(len(txt)) + txt
    elif what == "long marker":
        txt = b"C7" * int(rng.integers(1, 40000))
        ev = b"\x00\xff\x06" + vlq(len(txt)) + txt
    elif what == "sysex":
        data = rng.bytes(int(rng.integers(0, 50)))
        ev = b"\x00\xf0" + vlq(len(data) + 1) + data + b"\xf7"
    else:
        data = rng.bytes(int(rng.integers(0, 20)))
        ev = b"\x00\xff" + bytes((int(rng.integers(0x60, 0x7F)),)) + vlq(len(data)) + data
    note = [b"\x00\x90\x3c\x5a", b"\x83\x60\x80\x3c\x00", b"\x00\x90\x40\x5a", b"\x83\x60\x80\x40\x00"]
    return raw_smf([ev] + note, tpq=int(choose(rng, [480, 480, 12, 96])))


def notes_file(rng) -> bytes:
    """Odd note streams: never ending, zero velocity, huge deltas, running status, pitches at the edges."""
    ev = []
    for _ in range(int(rng.integers(1, 40))):
        d = int(choose(rng, [0, 0, 1, 120, 480, 0x0FFFFFFF]))
        p = int(choose(rng, [0, 60, 127, int(rng.integers(0, 128))]))
        kind = choose(rng, ["on", "off", "on0", "running", "drum"])
        if kind == "on":
            ev.append(vlq(d) + bytes((0x90, p, int(rng.integers(1, 128)))))
        elif kind == "off":
            ev.append(vlq(d) + bytes((0x80, p, 0)))
        elif kind == "on0":
            ev.append(vlq(d) + bytes((0x90, p, 0)))
        elif kind == "running":
            ev.append(vlq(d) + bytes((p, 64)))
        else:
            ev.append(vlq(d) + bytes((0x99, p, 100)))
    return raw_smf(ev, tpq=int(choose(rng, [480, 12, 30000])))


def midi_case(rng, m: Material, i: int) -> Case:
    special = rng.random() < 0.04
    files: dict = {}
    if special:
        what = choose(rng, ["empty", "fifo", "broken link", "folder", "too large"])
        files["in.mid"] = {"empty": b"", "fifo": ("fifo",), "broken link": ("link", "nowhere.mid"),
                           "folder": ("dir",), "too large": b"MThd" + b"\x00" * (17 * 2**20)}[what]
        label = what
    else:
        data, label = mutate_midi(rng, m)
        files["in.mid"] = data
    cmd = str(choose(rng, ["ingest"] * 6 + ["generate"] * 3 + ["evaluate"] * 2))
    if cmd == "ingest":
        folder = rng.random() < 0.5
        if folder:
            files = {f"d/{k}": v for k, v in files.items()}
        argv = ["--data", "d" if folder else "in.mid", "--out", "cache", "--quiet"]
        if rng.random() < 0.2:
            argv += ["--track", str(choose(rng, ["0", "1", "Melody", "solo", "9"]))]
    elif cmd == "generate":
        argv = ["--model", str(m.model), "--primer", "in.mid", "--seconds", "1.5", "--seed", "1", "--out", "out"]
    else:
        files = {f"d/{k}": v for k, v in files.items()}
        argv = ["--model", "none", "--data", "d", "--out", "eval", "--cache", "cache"]
    return Case("midi", cmd, argv, files, label=f"midi {label}")


NUMS = ["", "abc", "nan", "inf", "-inf", "-1", "0", "1e309", "99999999999999999999", "-0", "1.5", "０", "٣",
        "0x10", "1_0", "-", " ", "1e-300", "\udcff", "2"]
PATHS = ["nowhere", "", "a_file", "a_dir", "a_fifo", "a_link", "a_file/sub", "\udcff"]


def path_files() -> dict:
    return {"a_file": b"x", "a_dir/keep": b"", "a_fifo": ("fifo",), "a_link": ("link", "nowhere")}


def pick(rng, pool):
    return str(choose(rng, pool))


GENERATE_FLAGS = {
    "--seconds": ["0", "-5", "nan", "inf", "1e9", "3601", "0.001", "1", "2.5", "1e-300", "abc", ""],
    "--bpm": ["0", "19.9", "400.1", "nan", "inf", "-inf", "20", "400", "abc", "1e308"],
    "--swing": ["-0.1", "1.1", "nan", "0", "1", "abc"],
    "--instrument": ["-1", "128", "0", "127", "abc", "1.5"],
    "--temperature": ["0", "-1", "nan", "1e-300", "1e300", "inf", "1", "abc"],
    "--top-k": ["-1", "0", "5", "1e9", "999999999999", "abc"],
    "--top-p": ["0", "1", "1.5", "nan", "0.5", "1e-300", "-1"],
    "--seed": ["-1", "0", "9223372036854775808", "9223372036854775807", "abc", "1.0"],
    "--num": ["0", "-1", "1001", "2", "abc"],
    "--band": ["none", "bass", "trio", "quartet", ""],
    "--form": ["blues", "modal", "rhythm-changes", "", "xyz", "BLUES", " "],
    "--key": ["F", "Bb", "Cm", "H", "", "f", "C#m", "Ｆ", "B♭", "Cbb", "c-"],
    "--chords": ["C7", "", "|", "%", "H7", "C7 | % | Fm7", "Dm7 G7 | Cmaj7 |", "C△7 | F#m7♭5", "((C7", "N.C."],
    "--primer": PATHS,
    "--chart": PATHS,
    "--model": PATHS + ["none"],
    "--out": ["out", "a_file", "a_file/sub", "a_dir", "", "a_fifo"],
    "--soundfont": PATHS,
}
SLOW = ("--wav", "--png", "--musicxml")   # a timeout of minutes, not seconds (the machine is shared)
GENERATE_SWITCHES = ["--wav", "--png", "--musicxml", "--bogus", "-x", "--", "positional", "--help"]
EVALUATE_FLAGS = {
    "--model": ["none", "nowhere", "a_file", "a_dir", "", "NONE"],
    "--data": ["data", "nowhere", "a_file", "a_dir", "a_fifo", "", "empty"],
    "--train-data": ["data", "nowhere", "a_file", "a_dir", "empty"],
    "--out": ["eval", "a_file", "a_file/sub", "a_fifo", ""],
    "--split": ["val", "train", "all", "xyz", ""],
    "--compare": ["nowhere", "a_file", "empty", "a_fifo"],   # a valid one: rarely (see SLOW)
    "--ngram-max": ["0", "1", "5", "6", "-1", "abc", "1e3"],
    "--cache": ["cache", "a_file", "a_file/sub", ""],
}
EVALUATE_SWITCHES = ["--no-baselines", "--no-likelihood", "--bogus", "positional", "--help"]
INGEST_FLAGS = {
    "--data": ["data", "nowhere", "a_file", "a_dir", "a_fifo", "a_link", "", "empty"],
    "--out": ["cache", "a_file", "a_file/sub", "a_dir", ""],
    "--track": ["0", "-1", "abc", "", "99", "Melody", "١", " "],
    "--workers": NUMS + ["1000", "1"],
    "--report": ["r.json", "a_dir", "a_file/r.json", "", "a_fifo", "sub/r.json", "a_file"],
}
INGEST_SWITCHES = ["--quiet", "--bogus", "positional", "--help"]
# train: flags that fail before any Keras work (argument parsing and checks)
TRAIN_POISON = [["--epochs", "0"], ["--epochs", "abc"], ["--units", "-1"], ["--layers", "0"], ["--dropout", "1"],
                ["--dropout", "nan"], ["--lr", "0"], ["--lr", "-1"], ["--val-fraction", "0"], ["--val-fraction", "1"],
                ["--batch-size", "0"], ["--seq-len", "0"], ["--seed", "x"], ["--bogus"], ["--max-songs", "1.5"],
                ["--units"], ["--lr", ""], ["--clipnorm", "abc"]]
TRAIN_FLAGS = {
    "--epochs": ["1", "0", "-1", "abc"], "--units": ["8", "0", "abc"], "--layers": ["1", "0"],
    "--dropout": ["0", "0.5", "1", "-0.1", "nan"], "--lr": ["0.01", "0", "nan", "inf"],
    "--clipnorm": ["1", "0", "-1", "nan"], "--patience": ["0", "-1", "1"], "--val-fraction": ["0.5", "0", "1"],
    "--seed": ["0", "-1"], "--max-songs": ["0", "2", "-1"], "--name": ["", "x", "a/b", ".."],
    "--data": ["data", "nowhere", "a_file", "empty"], "--out": ["models", "a_file"], "--cache": ["cache", "a_file"],
}
TRAIN_BASE = ["--data", "data", "--out", "models", "--cache", "cache", "--epochs", "1", "--layers", "1",
              "--units", "8", "--seq-len", "16", "--batch-size", "8", "--max-songs", "4", "--patience", "1"]


def random_flags(rng, flags: dict, switches: list, k: int) -> list[str]:
    out = []
    for _ in range(k):
        r = rng.random()
        if r < 0.8:
            name = pick(rng, list(flags))
            out += [name] if rng.random() < 0.04 else [name, pick(rng, flags[name])]   # sometimes no value
        elif r < 0.95:
            out.append(pick(rng, switches))
        else:
            out.append(pick(rng, NUMS))
    return out


def flags_case(rng, m: Material, i: int, keras: bool) -> Case:
    cmd = str(choose(rng, ["generate"] * 4 + ["evaluate"] * 2 + ["ingest"] * 2 + ["train"]))
    files = path_files()
    files["empty/.keep"] = b""
    files["data"] = ("link", str(m.data))
    k = int(rng.integers(1, 5))
    if cmd == "generate":
        argv = ["--model", str(m.model), "--out", "out", "--seconds", "1.5", "--seed", "1"]
        argv += random_flags(rng, GENERATE_FLAGS, GENERATE_SWITCHES, k)
        for slow in SLOW:   # rendering takes seconds: keep it rare
            if slow in argv and rng.random() < 0.7:
                argv.remove(slow)
    elif cmd == "evaluate":
        argv = ["--model", "none", "--data", "data", "--out", "eval", "--cache", "cache"]
        argv += random_flags(rng, EVALUATE_FLAGS, EVALUATE_SWITCHES, k)
        if rng.random() < 0.03:
            argv += ["--compare", "data"]                 # histograms.png: seconds of matplotlib
    elif cmd == "ingest":
        argv = ["--data", "data", "--out", "cache", "--quiet"] + random_flags(rng, INGEST_FLAGS, INGEST_SWITCHES, k)
    else:
        argv = TRAIN_BASE + random_flags(rng, TRAIN_FLAGS, ["--no-augment", "--bogus", "--resume"], k)
        if not keras or rng.random() < 0.97:     # a training run costs seconds: most runs fail early
            argv += TRAIN_POISON[int(rng.integers(len(TRAIN_POISON)))]
            return Case("flags", cmd, argv, files, label="train flags")
        return Case("flags", cmd, argv, files, keras=True, timeout=300, label="train run")
    slow = any(a in SLOW for a in argv) or cmd == "evaluate" and "--compare" in argv
    return Case("flags", cmd, argv, files, timeout=180 if slow else 60, label=f"{cmd} flags")


PIECES = ["C", "D", "E", "F", "G", "A", "B", "H", "c", "b", "#", "♭", "♯", "m", "-", "−", "maj", "Δ", "△", "∆",
          "ø", "°", "º", "o", "dim", "aug", "+", "sus", "7", "9", "11", "13", "6", "5", "2", "alt", "add9",
          "(", ")", ",", "/", " ", " ", " | ", "|", "||", "%", "\n", "N.C.", "\ufeff", "Ｃ", "７", "\u200b", "ｍ"]


def chart_text(rng) -> tuple[bytes, str]:
    kind = choose(rng, ["pieces", "pieces", "pieces", "ascii", "unicode", "binary", "latin-1", "utf-16", "bom",
                       "huge valid", "huge invalid", "empty", "blank", "long symbol", "deep parens"])
    if kind == "pieces":
        s = "".join(pick(rng, PIECES) for _ in range(int(rng.integers(1, 60))))
    elif kind == "ascii":
        s = "".join(chr(int(c)) for c in rng.integers(32, 127, int(rng.integers(0, 300))))
    elif kind == "unicode":
        cps = rng.integers(1, 0x2FFFF, int(rng.integers(0, 100)))
        s = "".join(chr(int(c)) for c in cps if not 0xD800 <= c < 0xE000)
    elif kind == "binary":
        return rng.bytes(int(rng.integers(0, 500))), kind
    elif kind == "latin-1":
        return "Cø7 | F° |".encode("latin-1"), kind
    elif kind == "utf-16":
        return "C7 | F7 |".encode("utf-16"), kind
    elif kind == "bom":
        s = "\ufeffC△7 | F#m7♭5 | C7♯11"
    elif kind == "huge valid":
        s = "C7 | Fm7 Bb7 | % | " * int(rng.integers(300, 80000))
    elif kind == "huge invalid":
        s = "C7 | " * 50000 + "H7"
    elif kind == "empty":
        s = ""
    elif kind == "blank":
        s = " \n\t | || \n"
    elif kind == "long symbol":
        s = "C" + "7" * int(rng.integers(100, 100000))
    else:
        s = "C" + "(" * 500 + "7" + ")" * 500
    return s.encode("utf-8", "surrogatepass"), kind


def chart_case(rng, m: Material, i: int) -> Case:
    data, kind = chart_text(rng)
    argv = ["--model", str(m.model), "--out", "out", "--seconds", "1.5", "--seed", "1"]
    if rng.random() < 0.6 or len(data) > 100_000:
        return Case("chart", "generate", argv + ["--chart", "chart.txt"], {"chart.txt": data}, label=f"chart {kind}")
    text = data.decode("utf-8", "surrogateescape")   # what a shell hands over for bytes that are not UTF-8
    if "\x00" in text:
        text = text.replace("\x00", "")              # argv cannot hold NUL
    return Case("chart", "generate", argv + ["--chords", text], label=f"chords {kind}")


def _npz(weights: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **weights)
    return buf.getvalue()


BREAKS = ["no folder", "empty folder", "no model.keras", "keras cut", "keras random", "keras flip", "keras empty",
          "keras folder", "keras fifo", "keras broken link", "keras foreign zip", "npz cut", "npz random",
          "npz missing key", "npz nan", "npz inf", "npz shape", "npz dtype", "npz object", "npz 0-d", "npz layer gap",
          "npz folder", "npz fifo", "npz stale", "config not json", "config list", "config types", "config missing",
          "config nan", "config fifo", "vocab not json", "vocab wrong", "npz extra key"]


def broken_model(rng, m: Material) -> tuple[dict, str]:
    """Files of a broken model folder 'm' (model.keras linked to the real one unless it is the culprit)."""
    keras_link = ("link", str(m.model / "model.keras"))
    base = {"m/model.keras": keras_link, "m/weights.npz": ("link", str(m.model / "weights.npz")),
            "m/config.json": json.dumps({**m.config, "data": "data"}).encode(), "m/vocab.json": m.vocab.encode()}
    kind = choose(rng, BREAKS)
    w = dict(m.weights)
    names = [k for k in w if k != "keras_sha256"]
    victim = names[int(rng.integers(len(names)))]
    f = dict(base)
    if kind == "no folder":
        return {}, kind
    if kind == "empty folder":
        return {"m/.keep": b""}, kind
    if kind == "no model.keras":
        del f["m/model.keras"]
    elif kind.startswith("keras"):
        f["m/model.keras"] = _broken_keras(rng, m, kind)
    elif kind in ("npz cut", "npz random", "npz folder", "npz fifo"):
        f["m/weights.npz"] = _broken_file(rng, m.npz_bytes, kind.split()[1])
    elif kind.startswith("npz"):
        f["m/weights.npz"] = _npz(_broken_weights(rng, w, victim, kind))
    else:
        f["m/" + kind.split()[0] + ".json"] = _broken_json(rng, m, kind)
    return f, kind


def _broken_file(rng, data: bytes, how: str):
    """A file's bytes cut or random, or a folder or FIFO in its place."""
    if how == "cut":
        return data[:int(rng.integers(0, len(data)))]
    if how == "random":
        return rng.bytes(int(rng.integers(0, 5000)))
    return {"folder": ("dir",), "fifo": ("fifo",), "empty": b""}[how]


def _broken_keras(rng, m: Material, kind: str):
    """model.keras broken as `kind` says."""
    how = kind.split(" ", 1)[1]
    if how == "flip":
        b = bytearray(m.keras_bytes)
        for _ in range(int(rng.integers(1, 10))):
            b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        return bytes(b)
    if how == "broken link":
        return ("link", "nowhere.keras")
    if how == "foreign zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("config.json", choose(rng, ["{}", "[]", "not json", '{"class_name": "Sequential"}']))
        return buf.getvalue()
    return _broken_file(rng, m.keras_bytes, how)


def _broken_weights(rng, w: dict, victim: str, kind: str) -> dict:
    """The weights with one array (`victim`) or the layer set broken as `kind` says."""
    if kind == "npz missing key":
        del w[victim]
    elif kind in ("npz nan", "npz inf"):
        a = w[victim].copy()
        a.reshape(-1)[int(rng.integers(a.size))] = np.nan if kind == "npz nan" else -np.inf
        w[victim] = a
    elif kind == "npz shape":
        a = w[victim]
        w[victim] = choose(rng, [lambda: a.T, lambda: a[:-1], lambda: a.reshape(-1), lambda: a[..., None],
                                lambda: np.concatenate([a, a[:1]])])()
    elif kind == "npz dtype":
        w[victim] = w[victim].astype(choose(rng, ["int8", "bool", "complex64", "U3"]))
    elif kind == "npz object":
        w[victim] = np.array([None, 1], dtype=object)
    elif kind == "npz 0-d":
        w[victim] = np.float32(1.0)
    elif kind == "npz layer gap":
        for k in [k for k in w if k.startswith("lstm_0_")]:
            w[k.replace("lstm_0_", "lstm_2_")] = w.pop(k)
    elif kind == "npz extra key":
        w["lstm_1_extra"] = np.zeros(3, np.float32)
    elif kind == "npz stale":
        w["keras_sha256"] = np.array("0" * 64)
    return w


def with_value(config: dict, key: str, value) -> dict:
    """A copy of a config.json with `key` set where that file keeps it: in its group (``model``,
    ``optimizer``) when it is nested, flat beside ``epochs`` when it is a run's from before the groups
    (so a case breaks the value itself, not the file's shape)."""
    from jazzgen.model.training import GROUPED
    group = GROUPED.get(key, "").split(".")[0]
    if group and isinstance(config.get(group), dict):
        return {**config, group: {**config[group], key: value}}
    return {**config, key: value}


def _broken_json(rng, m: Material, kind: str):
    """config.json or vocab.json broken as `kind` says."""
    if kind == "config not json":
        return choose(rng, [b"{", b"", b"\xff\xfe", b"nan", b"{'a': 1}"])
    if kind == "config list":
        return b"[1, 2]"
    if kind == "config types":
        key = choose(rng, ["data", "val_fraction", "seed", "max_songs", "units", "augment"])
        odd = choose(rng, ["x", 1.5, None, [], {}, True, -1, 1e308])
        return json.dumps(with_value(m.config, key, odd)).encode()
    if kind == "config missing":
        c = dict(m.config)
        c.pop(choose(rng, ["data", "val_fraction", "seed", "max_songs"]))
        return json.dumps(c).encode()
    if kind == "config nan":
        return json.dumps({**m.config, "val_fraction": float("nan")}).encode()
    if kind == "config fifo":
        return ("fifo",)
    if kind == "vocab not json":
        return b"{{"
    return choose(rng, [b"[]", b"{}", b'{"grid": "x"}', b'{"grid": 24}'])      # vocab wrong


def _zip_ok(data) -> bool:
    if not isinstance(data, bytes):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return z.testzip() is None
    except Exception:
        return False


def model_case(rng, m: Material, i: int, keras: bool) -> Case:
    files, kind = broken_model(rng, m)
    k = files.get("m/model.keras")
    keras_ok = isinstance(k, tuple) and k[0] == "link" and k[1].endswith("model.keras") and "nowhere" not in k[1] \
        or _zip_ok(k)
    if rng.random() < 0.6:
        # generate loads Keras only to re-export weights that are stale, or missing, beside a whole zip
        stale = kind in ("npz stale",) or (keras_ok and kind.startswith("keras") and "m/weights.npz" in files)
        needs = keras_ok and (stale or "m/weights.npz" not in files)
        argv = ["--model", "m", "--out", "out", "--seconds", "1.5", "--seed", "1"]
        return Case("model", "generate", argv, files, keras=needs, timeout=120 if needs else 60,
                    label=f"model {kind}")
    argv = ["--model", "m", "--data", "data", "--train-data", "data", "--out", "eval", "--cache", "cache"]
    files["data"] = ("link", str(m.data))
    needs = keras_ok and rng.random() < 0.05      # scoring with Keras costs seconds: a few of them
    if keras_ok and not (needs and keras):
        argv.append("--no-likelihood")
        needs = False
    return Case("model", "evaluate", argv, files, keras=needs, timeout=180 if needs else 60, label=f"model {kind}")
