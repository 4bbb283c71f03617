"""The fault family of ``jazzgen.commands.fuzz`` (issue 24): what a hostile folder or machine does.

* special files: a FIFO or a device (/dev/zero, /dev/urandom) given as --track-map, --primer,
  --chart, named like a cache pack, an index.tsv, or a model folder's JSON and weights;
* names that are not UTF-8 (a MIDI file, --out, --primer);
* corrupt cache packs: well-formed .npz files with wrong values (a pitch of 200, negative
  durations, counts that do not add up, NaN tempi, a deep index), cut or foreign ones;
* hostile JSON: vocab.json, config.json and a run's state.json nested 100,000 deep, sizes as
  strings, ``layers``/``units`` of 100,000, lists of a million, a checkpoint outside the run;
* zip bombs: a model.keras or weights.npz that unpacks to a gigabyte of zeros;
* a full disk: the child's writes fail past a size (RLIMIT_FSIZE: EFBIG, as ENOSPC would);
* names longer than the file system allows (--out, --report, --name, --chart).
"""
from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

from jazzgen.commands.fuzz_cases import TRAIN_BASE, Case, Material, choose, with_value

DEVICES = ["/dev/zero", "/dev/urandom", "/dev/null"]
LONG = "n" * 300                         # a file name over NAME_MAX (255 bytes)
BAD_NAME = os.fsdecode(b"so\xff\xfelo")  # a name that is not UTF-8, as the shell hands it over


def _bomb(member: str, megabytes: int) -> bytes:
    """A zip whose one member unpacks to `megabytes` MB of zeros (a thousandth of that packed)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z, z.open(member, "w", force_zip64=True) as f:
        for _ in range(megabytes):
            f.write(bytes(2**20))
    return buf.getvalue()


class FaultMaterial:
    """Made once: two zip bombs, and the good cache pack of the data folder (corrupted per case)."""

    def __init__(self, m: Material):
        from jazzgen.data.corpus import load_corpus
        self.keras_bomb = _bomb("model.weights.h5", 1024)
        self.npz_bomb = _bomb("emb_prev_pitch.npy", 1024)
        cache = m.work / "good-cache"
        load_corpus(m.data, cache, progress=False)
        self.pack = next(cache.glob("shard-*.npz"))
        with np.load(self.pack, allow_pickle=False) as z:
            self.arrays = {k: z[k] for k in z.files}


def _first(a: np.ndarray, value) -> np.ndarray:
    a = a.copy()
    a.reshape(-1)[0] = value
    return a


def corrupt_pack(rng, fm: FaultMaterial) -> tuple[bytes, str]:
    a = dict(fm.arrays)
    kind = choose(rng, ["pitch 200", "negative duration", "velocity 0", "nan tempo", "chord id", "counts",
                        "order", "deep index", "index list", "object keys", "cut", "random", "report field"])
    if kind in ("cut", "random"):
        data = fm.pack.read_bytes()
        return (data[:int(rng.integers(len(data)))] if kind == "cut" else rng.bytes(5000)), kind
    change = {"pitch 200": ("pitch", lambda x: _first(x, 200)), "negative duration": ("duration", lambda x: -x),
              "velocity 0": ("velocity", lambda x: _first(x, 0)), "nan tempo": ("tempo_qpm", lambda x: x * np.nan),
              "chord id": ("chord_sym", lambda x: x + 10**6), "counts": ("n_notes", lambda x: x * 3),
              "order": ("start", lambda x: x[::-1].copy()),
              "deep index": ("index", lambda x: np.array("[" * 100_000 + "]" * 100_000)),
              "index list": ("index", lambda x: np.array("[1, 2]")),
              "object keys": ("keys", lambda x: np.array([None], dtype=object)),
              "report field": ("index", lambda x: np.array(str(x).replace('"kept"', '"evil"')))}[kind]
    a[change[0]] = change[1](a[change[0]])
    buf = io.BytesIO()
    np.savez(buf, **a)
    return buf.getvalue(), kind


def hostile_json(rng, m: Material, which: str) -> tuple[bytes, str]:
    base = json.loads(m.vocab) if which == "vocab" else dict(m.config)
    kind = choose(rng, ["deep", "strings", "huge", "long list", "wrong list", "negative", "null", "not object"])
    if kind == "deep":
        return b"[" * 100_000 + b"]" * 100_000, kind
    if kind == "not object":
        return b'"a string"', kind
    keys = ("max_dur", "max_beat", "performers", "vel_edges") if which == "vocab" else ("layers", "units", "epochs")
    k = choose(rng, list(keys))
    value = {"strings": "96", "huge": 100_000, "long list": list(range(1_000_000)), "wrong list": [[["x"]]],
             "negative": -5, "null": None}[kind]
    return json.dumps(base | {k: value} if which == "vocab" else with_value(base, k, value)).encode(), f"{kind} {k}"


ROW = {"epoch": 0, "val_nll": 5.0, "val_pitch_ppl": 9.0, "val_dur_ppl": 5.0, "train_pitch_loss": 2.0,
       "train_dur_loss": 1.5}
STATE = {"epoch": 0, "lr": 0.003, "train_seconds": 1.0, "command": "x", "device": "cpu", "iterations": 2,
         "best": ROW, "log": [ROW], "checkpoint": "last-0001.keras"}


def hostile_state(rng) -> tuple[bytes, str]:
    kind = choose(rng, ["checkpoint path", "log strings", "deep log", "huge val_files", "epoch string", "ok"])
    change = {"checkpoint path": {"checkpoint": "../../../../etc/passwd"}, "log strings": {"log": [{"epoch": "x"}]},
              "deep log": {"log": [[[[[]]]]]}, "huge val_files": {"val_files": ["x"] * 2_000_000},
              "epoch string": {"epoch": "0"}, "ok": {}}[kind]
    return json.dumps({**STATE, **change}).encode(), kind


def model_links(m: Material) -> dict:
    """A model folder 'm' of links to the base model's files."""
    names = ("model.keras", "weights.npz", "vocab.json", "config.json", "nuance.npz", "formulas.npz")
    return {f"m/{f}": ("link", str(m.model / f)) for f in names if (m.model / f).exists()}


def _special(rng, m: Material) -> Case:
    dev = choose(rng, DEVICES + ["fifo"])
    target = ("fifo",) if dev == "fifo" else ("link", dev)
    base = ["--model", str(m.model), "--out", "out", "--seconds", "1.5", "--seed", "1"]
    where = choose(rng, ["track-map", "primer", "chart", "pack", "index", "vocab", "weights", "keras", "config",
                         "nuance", "formulas"])
    files = {"x": target, "data": ("link", str(m.data))}
    if where in ("track-map", "primer", "chart"):
        cmd, argv = ("ingest", ["--data", "data", "--out", "cache", "--quiet", "--track-map", "x"]) \
            if where == "track-map" else ("generate", base + [f"--{where}", "x"])
    elif where in ("pack", "index"):
        files = {"cache/shard-0123456789abcdef01234567.npz" if where == "pack" else "d/index.tsv": target,
                 "d/walk0.mid": (m.data / "walk0.mid").read_bytes(), "d/walk1.mid": (m.data / "walk1.mid").read_bytes()}
        cmd, argv = "ingest", ["--data", "d", "--out", "cache", "--quiet"]
    else:
        name = {"vocab": "vocab.json", "weights": "weights.npz", "keras": "model.keras", "config": "config.json",
                "nuance": "nuance.npz", "formulas": "formulas.npz"}[where]
        files = model_links(m)
        files[f"m/{name}"], files["data"] = target, ("link", str(m.data))
        cmd, argv = ("evaluate", ["--model", "m", "--data", "data", "--out", "e", "--cache", "c", "--no-likelihood"]) \
            if where == "config" else ("generate", ["--model", "m", "--out", "out", "--seconds", "1.5", "--seed", "1"])
    return Case("faults", cmd, argv, files, label=f"faults {dev} as {where}")


def _bad_name(rng, m: Material, keras: bool) -> Case:
    song = (m.data / "walk0.mid").read_bytes()
    files = {f"d/{BAD_NAME}.mid": song, "d/walk1.mid": (m.data / "walk1.mid").read_bytes(),
             "d/walk2.mid": (m.data / "walk2.mid").read_bytes()}
    what = choose(rng, ["ingest", "evaluate", "generate out", "generate primer"] + (["train"] if keras else []))
    if what == "ingest":
        return Case("faults", "ingest", ["--data", "d", "--out", "cache", "--report", f"{BAD_NAME}.json"], files,
                    label="faults non-UTF-8 name")
    if what == "evaluate":
        return Case("faults", "evaluate", ["--model", "none", "--data", "d", "--out", f"e{BAD_NAME}", "--cache", "c"],
                    files, label="faults non-UTF-8 name")
    if what == "train":
        argv = TRAIN_BASE + ["--data", "d", "--max-songs", "3"]
        return Case("faults", "train", argv, files, keras=True, timeout=300, label="faults non-UTF-8 name")
    argv = ["--model", str(m.model), "--seconds", "1.5", "--seed", "1", "--out",
            f"out{BAD_NAME}" if what == "generate out" else "out"] + (
        ["--primer", f"d/{BAD_NAME}.mid"] if what == "generate primer" else [])
    return Case("faults", "generate", argv, files, label="faults non-UTF-8 name")


def _full_disk(rng, m: Material, keras: bool) -> Case:
    limit = int(choose(rng, [4096, 16_384, 65_536, 262_144, 1_000_000, 4_000_000]))
    what = choose(rng, ["generate", "generate", "ingest", "evaluate"] + (["train"] if keras else []))
    files = {"data": ("link", str(m.data))}
    if what == "generate":
        argv = ["--model", str(m.model), "--out", "out", "--seconds", "4", "--seed", "1",
                *choose(rng, [["--wav"], ["--png"], ["--musicxml"], ["--wav", "--png", "--musicxml"], []])]
    elif what == "ingest":
        argv = ["--data", "data", "--out", "cache", "--quiet", "--report", "r.json"]
    elif what == "evaluate":
        argv = ["--model", "none", "--data", "data", "--out", "e", "--cache", "c"]
    else:
        argv = list(TRAIN_BASE)
    return Case("faults", what, argv, files, keras=what == "train", timeout=300 if what == "train" else 120,
                fsize=limit, label=f"faults full disk at {limit} bytes ({what})")


def _long_name(rng, m: Material) -> Case:
    what = choose(rng, ["generate --out", "generate --chart", "ingest --report", "ingest --out", "evaluate --out",
                        "train --name"])
    files = {"data": ("link", str(m.data))}
    cmd, flag = what.split()
    if cmd == "generate":
        argv = ["--model", str(m.model), "--seconds", "1.5", "--seed", "1"] + (
            ["--out", LONG] if flag == "--out" else ["--out", "out", "--chart", LONG + ".txt"])
    elif cmd == "ingest":
        argv = ["--data", "data", "--quiet"] + (["--report", LONG + ".json", "--out", "c"] if flag == "--report"
                                                else ["--out", "c/" + LONG])
    elif cmd == "evaluate":
        argv = ["--model", "none", "--data", "data", "--cache", "c", "--out", "e/" + LONG]
    else:
        argv = TRAIN_BASE + ["--name", LONG]
    return Case("faults", cmd, argv, files, label=f"faults long name ({what})")


def fault_case(rng, m: Material, fm: FaultMaterial, i: int, keras: bool) -> Case:
    kind = choose(rng, ["special", "special", "name", "pack", "pack", "json", "json", "bomb", "disk", "disk", "long"])
    if kind == "special":
        return _special(rng, m)
    if kind == "name":
        return _bad_name(rng, m, keras and rng.random() < 0.1)
    if kind == "disk":
        return _full_disk(rng, m, keras and rng.random() < 0.05)
    if kind == "long":
        return _long_name(rng, m)
    if kind == "pack":
        data, how = corrupt_pack(rng, fm)
        files = {f"cache/{fm.pack.name}": data, "data": ("link", str(m.data))}
        cmd = choose(rng, ["ingest", "ingest", "evaluate"])
        argv = ["--data", "data", "--out", "cache", "--quiet"] if cmd == "ingest" else \
            ["--model", "none", "--data", "data", "--out", "e", "--cache", "cache"]
        return Case("faults", cmd, argv, files, label=f"faults corrupt pack ({how})")
    models = model_links(m)
    if kind == "bomb":
        which = choose(rng, ["model.keras", "weights.npz", "nuance.npz", "formulas.npz"])
        models[f"m/{which}"] = fm.keras_bomb if which == "model.keras" else fm.npz_bomb
        if which == "model.keras":
            del models["m/weights.npz"]
        return Case("faults", "generate", ["--model", "m", "--out", "out", "--seconds", "1.5", "--seed", "1"], models,
                    label=f"faults zip bomb {which}")
    return _hostile(rng, m, models, keras)


def _hostile(rng, m: Material, models: dict, keras: bool) -> Case:
    which = choose(rng, ["vocab", "config"] + (["state"] if keras else []))
    if which == "state":
        in_state = rng.random() < 0.6
        data, how = hostile_state(rng) if in_state else hostile_json(rng, m, "config")
        name = "state.json" if in_state else "config.json"
        files = {"models/r/state.json": json.dumps(STATE).encode(),
                 "models/r/config.json": json.dumps(m.config).encode(),
                 "models/r/last-0001.keras": ("link", str(m.model / "model.keras")), "data": ("link", str(m.data))}
        files[f"models/r/{name}"] = data
        argv = ["--data", "data", "--out", "models", "--name", "r", "--cache", "cache", "--resume"]
        return Case("faults", "train", argv, files, keras=True, timeout=300, label=f"faults hostile {name} ({how})")
    data, how = hostile_json(rng, m, which)
    models[f"m/{which}.json"] = data
    if which == "vocab":
        return Case("faults", "generate", ["--model", "m", "--out", "out", "--seconds", "1.5", "--seed", "1"], models,
                    label=f"faults hostile vocab.json ({how})")
    models["data"] = ("link", str(m.data))
    argv = ["--model", "m", "--data", "data", "--out", "e", "--cache", "c", "--no-likelihood"]
    return Case("faults", "evaluate", argv, models, label=f"faults hostile config.json ({how})")

