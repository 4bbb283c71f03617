"""Fields of the JSON files a model or run folder holds (vocab.json, config.json, state.json),
checked for type and bounds before any value is used.

A model folder may come from anywhere: its files are data, never directions.  A size given
as a string, a list nested 100,000 deep, or ``"units": 100000`` must be one line naming the
file and the field, not an exception deep inside NumPy or an allocation that runs the machine
out of memory.  Keys a reader does not know are ignored (a newer jazzgen may add some).
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One field: its type (int, float, bool, str), bounds (inclusive), and for a list its most items."""
    kind: type
    lo: float | None = None
    hi: float | None = None
    many: int = 0              # > 0: a JSON list of at most this many values of `kind`
    null: bool = False         # null allowed
    chars: int = 4096          # the longest string


def _one(v, f: Field, name: str) -> str:
    """Why `v` is not a value of `f` ('' if it is)."""
    if f.kind is bool:
        return "" if isinstance(v, bool) else f"should be true or false, not {type(v).__name__}"
    if f.kind is str:
        if not isinstance(v, str):
            return f"should be a string, not {type(v).__name__}"
        return f"is longer than {f.chars} characters" if len(v) > f.chars else ""
    if isinstance(v, bool) or not isinstance(v, (int, float) if f.kind is float else int):
        return f"should be {'a number' if f.kind is float else 'an integer'}, not {type(v).__name__}"
    if not math.isfinite(v):
        return "should be a finite number"
    if f.lo is not None and v < f.lo or f.hi is not None and v > f.hi:
        return f"should be in [{f.lo:g}, {f.hi:g}], not {v:g}" if f.lo is not None and f.hi is not None else \
            f"is out of range ({v:g})"
    return ""


def check(d, spec: dict[str, Field], where, error: type[Exception]) -> dict:
    """The fields of `spec` that `d` holds, each checked; error('<where>: <field> ...') otherwise."""
    if not isinstance(d, dict):
        raise error(f"{where}: not a JSON object")
    out = {}
    for name, f in spec.items():
        if name not in d:
            continue
        v = d[name]
        if v is None and f.null:
            out[name] = None
            continue
        if f.many:
            if not isinstance(v, list):
                raise error(f"{where}: {name!r} should be a list")
            if len(v) > f.many:
                raise error(f"{where}: {name!r} has {len(v)} items, more than {f.many}")
            bad = next(((i, why) for i, x in enumerate(v) if (why := _one(x, f, name))), None)
            if bad:
                raise error(f"{where}: {name!r} item {bad[0]} {bad[1]}")
        elif why := _one(v, f, name):
            raise error(f"{where}: {name!r} {why}")
        out[name] = float(v) if f.kind is float and not f.many else v
    return out
