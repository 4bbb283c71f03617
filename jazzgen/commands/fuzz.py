"""Throw thousands of bad inputs at every command and count what comes back.

    python -m jazzgen.commands.fuzz                       # 10,500 inputs, seed 0
    python -m jazzgen.commands.fuzz --n 300 --no-keras    # the quick run the test suite does

Families of input, each through the commands it concerns:

* MIDI files (ingest, generate --primer, evaluate): random bytes, truncations, byte
  flips, splices, odd headers, absurd meta events (tempo, meter, key, marker text),
  a FIFO, a broken link, a folder named like a file;
* flags (all four commands): wrong types, out-of-range and non-finite numbers,
  unknown flags, missing values, paths that are files, folders, FIFOs or nothing;
* charts (generate --chart / --chords): random text and Unicode, chord-like noise,
  invalid UTF-8, UTF-16, BOMs, huge files;
* model folders (generate, evaluate): every way the folder can be broken (no folder,
  no model.keras, a cut, flipped or foreign zip, FIFO, weights.npz cut, missing an
  array, holding NaN or shapes that do not fit, a bad config.json or vocab.json);
* faults (``fuzz_faults.py``, all four commands): FIFOs and devices where files belong,
  names that are not UTF-8, corrupt cache packs, hostile vocabularies, configs and run
  states, zip bombs, a full disk (the child's RLIMIT_FSIZE), names too long.

Starting an interpreter per input would take hours here, so this is a fork server:
the parent imports jazzgen (and with keras inputs, Keras) once, writes each input's
files into a scratch folder, then forks a child that sends stdout/stderr to files,
calls the command's ``main(argv)`` and ``os._exit``s with its code; the parent kills
a child's process group when it overruns its timeout.  Each result is one of

    ok           exit 0
    clean error  exit 1 or 2, the last stderr line 'jazzgen.<cmd>: error: ...'
    messy        exit 1 or 2 without that line (an error, but not in the house format)
    traceback    exit 3 (an internal error) or 'Traceback' on stderr
    crash        killed by a signal
    hang         still running at its timeout
    memory       its peak resident memory (ru_maxrss, the pages it shares with the parent
                 included) over MEMORY_MB

Inputs come from one seeded generator, in order: the same --seed and --n give the
same inputs.  Inputs that would need Keras (a model to load, a training to run) are
left out with --no-keras (the parent then never imports it).  The last line is the
totals: ``fuzz: N inputs: ok A, clean error B, messy 0, traceback 0, crash 0, hang 0, memory 0``,
with the largest child's peak memory.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from jazzgen.commands.fuzz_cases import Case, Material, chart_case, flags_case, midi_case, model_case
from jazzgen.commands.fuzz_faults import FaultMaterial, fault_case

KINDS = ("ok", "clean error", "messy", "traceback", "crash", "hang", "memory")
COMMANDS = ("ingest", "generate", "evaluate", "train")
MEMORY_MB = 1024           # every child stays under it


# ---------------------------------------------------------------------------- the fork server

def materialize(case: Case, scratch: Path) -> None:
    scratch.mkdir(parents=True)
    for rel, content in case.files.items():
        p = scratch / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        elif content[0] == "fifo":
            os.mkfifo(p)
        elif content[0] == "dir":
            p.mkdir(exist_ok=True)
        else:
            os.symlink(content[1], p)


def child(case: Case, scratch: Path, modules: dict) -> None:
    """In the forked child: run the command, never return."""
    code = 3
    try:
        os.setpgid(0, 0)
        os.chdir(scratch)
        tempfile.tempdir = str(scratch)
        for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, fd)
            os.close(out)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        if case.fsize is not None:       # a full disk: a write past fsize bytes fails (EFBIG), not kills
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (case.fsize, case.fsize))
        # what a real interpreter has: strict UTF-8 stdout, stderr that backslash-escapes
        sys.stdout = open(1, "w", encoding="utf-8", errors="strict", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        sys.argv = [f"jazzgen.{case.command}"] + case.argv
        try:
            code = modules[case.command].main(case.argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
        code = code if isinstance(code, int) else 1
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
        code = 3
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        os._exit(code & 0xFF)


def classify(case: Case, status: int | None, scratch: Path) -> tuple[str, str]:
    """(kind, the last stderr line) of a finished child; status None: it was killed at its timeout."""
    try:
        err = (scratch / "stderr.txt").read_text(errors="replace")
    except OSError:
        err = ""
    lines = [x for x in err.splitlines() if x.strip()]
    last = lines[-1] if lines else ""
    if status is None:
        return "hang", last
    if os.WIFSIGNALED(status):
        return "crash", f"signal {os.WTERMSIG(status)}: {last}"
    code = os.WEXITSTATUS(status)
    if code == 3 or "Traceback (most recent call last)" in err:
        tb = [x for x in lines if x.startswith(("Traceback", "  File"))]
        return "traceback", (last + (f" [{tb[-1].strip()}]" if tb else ""))
    if code == 0:
        return "ok", last
    if code in (1, 2) and last.startswith(f"jazzgen.{case.command}: error: "):
        return "clean error", last
    return "messy", f"exit {code}: {last}"


def run_all(cases, work: Path, jobs: int, modules: dict, log) -> int:
    """Run the cases (an iterable, consumed lazily: inputs are megabytes each), `jobs` at a time;
    log(i, case, (kind, line), peak MB) for each as it finishes.  Returns how many ran."""
    cases = iter(cases)
    running: dict[int, tuple[int, Case, Path, float]] = {}
    nxt, more = 0, True
    while more or running:
        while more and len(running) < jobs:
            case = next(cases, None)
            if case is None:
                more = False
                break
            scratch = work / "cases" / str(nxt)
            materialize(case, scratch)
            case.files = {}                      # written: let the bytes go
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                child(case, scratch, modules)
            running[pid] = (nxt, case, scratch, time.monotonic() + case.timeout)
            nxt += 1
        finished = _reap(running)
        for p, status, peak in finished:
            i, case, scratch, _ = running.pop(p)
            if status is not None:
                try:
                    os.killpg(p, signal.SIGKILL)   # whatever it left running (reader pools, renderers)
                except OSError:
                    pass
            kind, line = classify(case, status, scratch)
            if peak > MEMORY_MB and kind in ("ok", "clean error"):
                kind, line = "memory", f"{peak:.0f} MB: {line}"
            log(i, case, (kind, line), peak)
            shutil.rmtree(scratch, ignore_errors=True)
        if not finished:
            time.sleep(0.001)
    return nxt


def _reap(running: dict) -> list[tuple[int, int | None, float]]:
    """(pid, status or None if killed at its timeout, peak MB) of the children that ended."""
    finished = []
    for p in list(running):   # each own child by its pid: never reap another's
        got, status, usage = os.wait4(p, os.WNOHANG)
        if got:
            finished.append((p, status, usage.ru_maxrss / 1024))
    now = time.monotonic()
    for p, (*_, deadline) in list(running.items()):
        if now > deadline and all(p != f for f, *_ in finished):
            try:
                os.killpg(p, signal.SIGKILL)
            except OSError:
                os.kill(p, signal.SIGKILL)
            _, _, usage = os.wait4(p, 0)
            finished.append((p, None, usage.ru_maxrss / 1024))
    return finished


def make_cases(n: int, seed: int, m: Material, keras: bool, fm: FaultMaterial | None = None,
               only: str | None = None):
    """n inputs (less those needing Keras, without it) in the proportions midi 35%, flags 25%,
    charts 12%, model folders 13%, faults 15% (or of the family `only`); made one at a time, as
    they are run."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        r = rng.random() if only is None else {"midi": 0, "flags": 0.4, "chart": 0.65, "model": 0.8,
                                                 "faults": 0.9}[only]
        if r < 0.35:
            c = midi_case(rng, m, i)
        elif r < 0.60:
            c = flags_case(rng, m, i, keras)
        elif r < 0.72:
            c = chart_case(rng, m, i)
        elif r < 0.85:
            c = model_case(rng, m, i, keras)
        else:
            c = fault_case(rng, m, fm or FaultMaterial(m), i, keras)
        if c.keras and not keras:
            continue
        yield c


def import_commands(keras: bool) -> dict:
    import matplotlib
    import mido  # noqa: F401
    import symusic  # noqa: F401

    import jazzgen.generation.render  # noqa: F401  (every child uses it: import once)
    from jazzgen.commands import evaluate, generate, ingest, train

    matplotlib.use("Agg")
    if keras:
        import keras as _  # noqa: F401

        import jazzgen.model.network  # noqa: F401
    return {"ingest": ingest, "generate": generate, "evaluate": evaluate, "train": train}


def fuzz(n: int, seed: int = 0, jobs: int = 1, keras: bool = True, model: Path | None = None,
         verbose: bool = False, work: Path | None = None, only: str | None = None) -> dict:
    """Run the inputs; returns {'counts': {kind: n}, 'failures': [(kind, label, command, argv, line)]}."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from jazzgen import paths
    modules = import_commands(keras)
    sigchld = signal.signal(signal.SIGCHLD, signal.SIG_DFL)   # SIG_IGN (set by some library) reaps them for us
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="jazzgen-fuzz-")) if own else Path(work)
    try:
        m = Material(work, Path(model or paths.SHIPPED_MODEL), np.random.default_rng(seed + 1))
        cases = make_cases(n, seed, m, keras, FaultMaterial(m), only)
        counts = dict.fromkeys(KINDS, 0)
        t0 = time.perf_counter()
        failures = []

        peak = {"mb": 0.0, "label": ""}

        def log(i, case, res, mb):
            kind, line = res
            counts[kind] += 1
            if mb > peak["mb"]:
                peak.update(mb=mb, label=f"{case.label} (jazzgen.{case.command})")
            done = sum(counts.values())
            if done % 1000 == 0:
                print(f"... {done} inputs, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
            if kind not in ("ok", "clean error"):
                failures.append((kind, case.label, case.command, case.argv, line))
                print(f"{kind:9s} #{i} {case.label} | jazzgen.{case.command} {' '.join(map(repr, case.argv))}"
                      f"\n          {line[:300]}", flush=True)
            elif verbose:
                print(f"{kind:11s} #{i} {case.label}: {line[:200]}", flush=True)

        ran = run_all(cases, work, jobs, modules, log)
        return {"counts": counts, "failures": failures, "n": ran, "seconds": time.perf_counter() - t0,
                "peak_mb": peak["mb"], "peak_label": peak["label"]}
    finally:
        signal.signal(signal.SIGCHLD, sigchld)
        if own:
            shutil.rmtree(work, ignore_errors=True)


def totals_line(res: dict) -> str:
    c = res["counts"]
    return f"fuzz: {res['n']} inputs: " + ", ".join(f"{k} {c[k]}" for k in KINDS)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10_500, help="how many inputs (default 10,500)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="children at a time (default 1)")
    p.add_argument("--no-keras", action="store_true", help="leave out the inputs that need Keras")
    p.add_argument("--model", type=Path, help="the model the broken folders are made from (default: shipped)")
    p.add_argument("--verbose", action="store_true", help="a line for every input")
    p.add_argument("--only", choices=("midi", "flags", "chart", "model", "faults"), help="one family of inputs")
    a = p.parse_args(argv)
    res = fuzz(a.n, a.seed, a.jobs, not a.no_keras, a.model, a.verbose, only=a.only)
    by = {}
    for kind, label, *_ in res["failures"]:
        by[(kind, label)] = by.get((kind, label), 0) + 1
    for (kind, label), k in sorted(by.items()):
        print(f"  {k:5d} {kind}: {label}")
    print(f"({res['seconds']:.0f} s, {res['seconds'] / max(res['n'], 1) * 1000:.0f} ms an input; the largest child "
          f"peaked at {res['peak_mb']:.0f} MB: {res['peak_label']})")
    print(totals_line(res))
    bad = sum(res["counts"][k] for k in ("messy", "traceback", "crash", "hang", "memory"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
