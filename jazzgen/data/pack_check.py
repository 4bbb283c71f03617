"""A corpus cache shard checked before any of it is trusted: one line saying what is wrong, or None.

A shard (``shards.py``: a group of files' note sequences, reports and token events) is a
file in a folder anyone may write to (or copy from elsewhere).  A well-formed
``.npz`` with wrong values (a pitch of 200, a negative duration, counts that do not add up, a
chord id past the symbol table, a report with fields this jazzgen does not know) would
otherwise be trusted and crash training far from its cause, and an event id past its table
would index past an embedding.  ``corpus`` drops a shard that fails here and reads its
files again from the MIDI, with a line saying so.
"""
from __future__ import annotations

import json
from dataclasses import fields

import numpy as np

COUNTED = ("notes", "tempos", "chords", "ts", "ks")            # n_<k>: per file; their sums: the columns
COLUMNS = {"notes": ("pitch", "start", "duration", "velocity"), "tempos": ("tempo_step", "tempo_qpm"),
           "chords": ("chord_step", "chord_sym"), "ts": ("ts",), "ks": ("ks",)}
PER_FILE = ("keys", "ok", "end", "n_events", "lo", "hi")
MAX_STEPS = 2**40            # a grid step no solo reaches (a year at 300 bpm is 2e9)


def pack_problem(a: dict, report_type, version: int, event_sizes: tuple[int, ...]) -> str | None:
    """Why the arrays of a shard cannot be used (one line), or None.  `report_type`: FileReport;
    `version`: the shard format; `event_sizes`: each event column's number of ids."""
    try:
        index = json.loads(str(a["index"]))
    except (KeyError, ValueError, RecursionError):
        return "its index is missing or not JSON"
    why = _index_problem(index, report_type, version) or _shape_problem(a, index)
    return why or _value_problem(a, len(index["symbols"])) or _event_problem(a, event_sizes)


def _index_problem(index, report_type, version: int) -> str | None:
    if not isinstance(index, dict) or not isinstance(index.get("version"), int):
        return "its index is not a versioned object"
    if index["version"] != version:
        return f"shard format {index['version']}, not {version}"
    for k in ("symbols", "names", "reports"):
        if not isinstance(index.get(k), list):
            return f"its index has no list of {k}"
    if not all(isinstance(x, str) and len(x) < 1000 for x in index["symbols"] + index["names"]):
        return "a chord symbol or a name is not a short string"
    known = {f.name: f.type for f in fields(report_type)}
    for r in index["reports"]:
        if not isinstance(r, dict) or not set(r) <= known.keys() or not all(
                _plain(v) for v in r.values()):
            return "a file's report has fields this jazzgen does not know, or odd values"
    return None


def _plain(v, depth: int = 0) -> bool:
    """A JSON value a report field may hold: a number, string, bool or a flat list of those."""
    if isinstance(v, (bool, int, float, str)) or v is None:
        return not isinstance(v, str) or len(v) < 10_000
    return depth == 0 and isinstance(v, list) and len(v) <= 100_000 and all(_plain(x, 1) for x in v)


def _shape_problem(a: dict, index: dict) -> str | None:
    missing = [k for k in (*PER_FILE, *(f"n_{k}" for k in COUNTED), *sum(COLUMNS.values(), ())) if k not in a]
    if missing:
        return f"no {missing[0]} array"
    n = len(a["keys"])
    if any(a[k].ndim != 1 or len(a[k]) != n for k in (*PER_FILE, *(f"n_{k}" for k in COUNTED))) \
            or len(index["names"]) != n or len(index["reports"]) != n:
        return "its per-file arrays disagree on the number of files"
    for k in COUNTED:
        counts = a[f"n_{k}"]
        if counts.dtype.kind not in "iu" or (counts < 0).any():
            return f"n_{k} is not a count"
        for col in COLUMNS[k]:
            if a[col].dtype.kind not in "iuf" or len(a[col]) != int(counts.sum(dtype=np.int64)):
                return f"{col} does not hold the {int(counts.sum(dtype=np.int64))} values its counts say"
    if a["ts"].ndim != 2 or a["ts"].shape[1:] != (3,) or a["ks"].ndim != 2 or a["ks"].shape[1:] != (3,):
        return "ts or ks is not three columns"
    if a["keys"].dtype.kind != "U" or a["ok"].dtype != bool:
        return "its keys are not strings or its kept flags not booleans"
    return None


def _value_problem(a: dict, n_symbols: int) -> str | None:
    checks = [
        ("pitch", a["pitch"], 0, 127), ("start", a["start"], 0, MAX_STEPS), ("duration", a["duration"], 1, MAX_STEPS),
        ("velocity", a["velocity"], 1, 127), ("end", a["end"], 0, MAX_STEPS),
        ("tempo_step", a["tempo_step"], 0, MAX_STEPS), ("tempo_qpm", a["tempo_qpm"], 1e-3, 1e6),
        ("chord_step", a["chord_step"], 0, MAX_STEPS), ("chord_sym", a["chord_sym"], 0, n_symbols - 1),
        ("meter numerator", a["ts"][:, 1], 1, 255), ("meter denominator", a["ts"][:, 2], 1, 32),
        ("key", a["ks"][:, 1], -7, 7), ("meter or key step", np.r_[a["ts"][:, 0], a["ks"][:, 0]], 0, MAX_STEPS),
    ]
    for what, x, lo, hi in checks:
        if x.size and not (np.isfinite(x).all() and x.min() >= lo and x.max() <= hi):
            bad = x[~((x >= lo) & (x <= hi))] if np.isfinite(x).all() else x[~np.isfinite(x)]
            return f"a {what} of {bad[0]:g}, outside {lo:g}..{hi:g}"
    bounds = np.concatenate([[0], np.cumsum(a["n_notes"])])
    ends = a["start"].astype(np.int64) + a["duration"]
    for i in np.flatnonzero(a["n_notes"]):
        s = slice(bounds[i], bounds[i + 1])
        if (np.diff(a["start"][s]) <= 0).any() or ends[s].max() > a["end"][i]:
            return f"file {i}'s notes are out of order or run past its end"
    return None


def _event_problem(a: dict, sizes: tuple[int, ...]) -> str | None:
    """The token events training reads: int16 rows of the event columns, as many as n_events says,
    each id inside its table; and each file's pitch range."""
    n, ev = a["n_events"], a["events"]
    if n.dtype.kind not in "iu" or (n < 0).any():
        return "n_events is not a count"
    if ev.dtype != np.int16 or ev.shape != (int(n.sum(dtype=np.int64)), len(sizes)):
        return f"events are {ev.dtype} {ev.shape}, not int16 ({int(n.sum(dtype=np.int64))}, {len(sizes)})"
    if len(ev):
        lo, hi = ev.min(axis=0), ev.max(axis=0)
        for c, size in enumerate(sizes):
            if lo[c] < 0 or hi[c] >= size:
                return f"an event id of {lo[c] if lo[c] < 0 else hi[c]} in column {c}, outside 0..{size - 1}"
    for k in ("lo", "hi"):
        if a[k].dtype.kind not in "iu" or a[k].size and (a[k].min() < 0 or a[k].max() > 127):
            return f"{k} is not a MIDI pitch"
    return None
