"""Generation speed: our NumPy sampler and the whole command, against model.predict per step.

    python scripts/bench/bench_generate.py [--model models/wjazzd] [--runs 7]

(a) sampling: `improvise` alone for 30 s of music (the default chart: a blues in F at
    160 bpm), weights already loaded; one warm-up, then the median of --runs seeds, with
    the model folder's formula memory and calibration (generate's default) and, alternately,
    the network alone (--formulas 0, no calibration):
    wall time and the process's CPU time (on a shared machine the wall time moves 5-10x
    with the load, the CPU time far less).  --sampling-only stops after (a).
(b) the command: wall time of `python -m jazzgen.generate --seconds 30 --seed 0 --out TMP`
    as a user runs it (interpreter start, imports, weights, sampling, band, MIDI), and
    the same with --wav; one warm-up (disk cache), then the median of --cmd-runs.
(c) the textbook way (deepjazz and most Keras tutorials): the same model loaded in
    Keras, and for every generated token `model.predict` on the whole sequence so far.
    This model needs up to three calls per event (the pitch, then the duration given
    that pitch, then a note's articulation and velocity given both).  Timed over --tokens
    calls after one warm-up call, per token, and extrapolated to the number of events (a);
    the extrapolation is a lower bound, as each call there is made on a sequence at most --tokens/2 events long.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# before NumPy loads, as in ``generate``: importing jazzgen keeps BLAS to one thread (with a
# pool, BLAS threads spin on the CPU between the sampler's small products)
import jazzgen  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def timeline(seconds: float):
    """The generate command's default chart (a blues in F at 160 bpm), `seconds` long."""
    from jazzgen.music.chart import build_chart
    c = build_chart()
    return c.timeline(c.steps(seconds))


def bench_sampling(model: Path, seconds: float, runs: int):
    """(median ms with the formula memory and calibration, median ms of the network alone, events,
    notes, stepper, median CPU ms with them, median CPU ms alone) of improvise alone, the two timed
    alternately seed by seed (the machine's load falls on both).  Wall time moves with the
    machine's load (another process holding the core counts as ours); the process's CPU
    time counts only what this process computed, so it is the figure to compare across runs."""
    import numpy as np

    from jazzgen.generation.sample import Sampling, improvise, load_stepper
    stepper = load_stepper(model)
    like = timeline(seconds)
    improvise(stepper, like, seed=999)                                # warm-up
    times, alone, events, notes = [], [], [], []
    cpu, cpu_alone = [], []
    network_alone = Sampling(formulas=0.0, harmony=0.0, line=0.0)
    for seed in range(runs):
        for out, out_cpu, sampling in ((times, cpu, Sampling()), (alone, cpu_alone, network_alone)):
            t0, c0 = time.perf_counter(), time.process_time()
            [solo] = improvise(stepper, like, seed=seed, sampling=sampling)
            out.append(time.perf_counter() - t0)
            out_cpu.append(time.process_time() - c0)
        notes.append(len(solo))
    real_step, count = stepper.step, [0]

    def counting(*args, **kw):
        count[0] += 1
        return real_step(*args, **kw)
    stepper.step = counting                                           # events = network steps
    for seed in range(runs):
        count[0] = 0
        improvise(stepper, like, seed=seed)
        events.append(count[0])
    stepper.step = real_step
    return (1000 * statistics.median(times), 1000 * statistics.median(alone), float(np.mean(events)),
            float(np.mean(notes)), stepper, 1000 * statistics.median(cpu), 1000 * statistics.median(cpu_alone))


def bench_command(model: Path, seconds: float, runs: int, wav: bool) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs + 1):
            cmd = [sys.executable, "-m", "jazzgen.generate", "--model", str(model), "--seconds", str(seconds),
                   "--seed", "0", "--out", str(Path(tmp) / f"out{i}")] + (["--wav"] if wav else [])
            t0 = time.perf_counter()
            r = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
            dt = time.perf_counter() - t0
            if r.returncode != 0:
                sys.exit(f"bench_generate: the command failed: {r.stderr.strip()}")
            if i:                                                      # the first run only warms the disk cache
                times.append(dt)
    return statistics.median(times)


def bench_predict(model: Path, seconds: float, tokens: int) -> float:
    """Seconds per model.predict call on the sequence so far, generating event by event."""
    import keras
    import numpy as np

    from jazzgen.data import tokens as T
    from jazzgen.generation.sample import sample_ids
    from jazzgen.model.network import model_inputs  # (and registers the custom layers)
    m = keras.saving.load_model(model / "model.keras" if model.is_dir() else model, safe_mode=True)
    like = timeline(seconds)
    steps = like.end
    cond = T.condition(like, np.arange(steps))
    rng = np.random.default_rng(0)
    sizes = T.default_vocab().sizes
    ok = {h: np.zeros((1, sizes[h]), bool) for h in ("pitch", "dur", "art", "vel")}
    ok["pitch"][0, T.REST] = True
    ok["pitch"][0, T.PITCH0:] = True
    ok["dur"][0, T.DUR0 + 1:] = True
    ok["art"][0, T.ART0:] = True
    ok["vel"][0, T.VEL0:] = True
    tempo = T.default_vocab().tempo_id(T.solo_bpm(like))
    given = [k for k in model_inputs(m) if k in T.HARMONY] + ["root", "qual", "beat", "sub"]   # read from the chart
    seq = {k: [] for k in ("prev_pitch", "prev_dur", "prev_art", "prev_vel", "tempo", "performer", "target_pitch",
                           "target_dur", *given)}
    prev, t = [T.BOS, T.BOS, T.PAD, T.PAD], 0
    calls, elapsed = 0, 0.0
    x = lambda: {k: np.array([v], np.int32) for k, v in seq.items()}   # noqa: E731
    while calls < tokens + 1:
        for k, v in zip(("prev_pitch", "prev_dur", "prev_art", "prev_vel"), prev):
            seq[k].append(v)
        for k, v in (("target_pitch", T.PAD), ("target_dur", T.PAD), ("tempo", tempo),
                     ("performer", T.PERFORMER_UNKNOWN)):
            seq[k].append(v)
        for k in given:
            seq[k].append(int(cond[k][min(t, steps - 1)]))
        t0 = time.perf_counter()
        out = m.predict(x(), verbose=0)                                # 1: the pitch
        p = int(sample_ids(out["pitch"][:, -1], ok["pitch"], rng)[0])
        seq["target_pitch"][-1] = p
        t1 = time.perf_counter()
        out = m.predict(x(), verbose=0)                                # 2: its duration
        d = int(sample_ids(out["dur"][:, -1], ok["dur"], rng)[0])
        seq["target_dur"][-1] = d
        a = v = T.PAD
        n = 2
        if p >= T.PITCH0:                                              # 3: articulation and velocity of a note
            out = m.predict(x(), verbose=0)
            a = int(sample_ids(out["art"][:, -1], ok["art"], rng)[0])
            v = int(sample_ids(out["vel"][:, -1], ok["vel"], rng)[0])
            n = 3
        t2 = time.perf_counter()
        elapsed += (t2 - t1) + (t1 - t0 if calls else 0.0)             # the very first call warms up
        calls += n if calls else n - 1
        prev, t = [p, d, a, v], t + d - T.DUR0
    return elapsed / calls


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(ROOT / "models" / "wjazzd"), help="model folder (default: models/wjazzd)")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--runs", type=int, default=7, help="timed sampling runs (median; at least 5)")
    p.add_argument("--cmd-runs", type=int, default=3, help="timed command runs each (median)")
    p.add_argument("--tokens", type=int, default=30, help="model.predict calls timed for the baseline")
    p.add_argument("--sampling-only", action="store_true", help="only (a): no command runs, no model.predict")
    a = p.parse_args()
    model = Path(a.model)
    if not (model / "model.keras" if model.is_dir() else model).exists():
        sys.exit(f"bench_generate: no model at {model} (train one, or pass --model DIR)")
    runs = max(5, a.runs)

    ms, ms_alone, events, notes, stepper, cpu, cpu_alone = bench_sampling(model, a.seconds, runs)
    memory = " and ".join(n for n, x in (("formula memory", stepper.formulas), ("calibration", stepper.calibration))
                          if x is not None)
    memory = f"with its {memory}" if memory else "the network alone: neither formula memory nor calibration"
    print(f"model: {model} ({stepper.n_layers} x {stepper.units} LSTM, {memory}); {a.seconds:g} s = "
          f"{events:.0f} events ({notes:.0f} notes) per solo", flush=True)
    print(f"(a) improvise, median of {runs}: {ms:.1f} ms wall, {cpu:.1f} ms CPU ({1000 * cpu / events:.0f} us/event); "
          f"the network alone {ms_alone:.1f} ms wall, {cpu_alone:.1f} ms CPU (memory and calibration cost "
          f"{cpu / cpu_alone:.2f}x in CPU time)", flush=True)
    if a.sampling_only:
        print(f"sampling {a.seconds:g} s: {cpu:.1f} ms of CPU, {ms:.1f} ms wall (target <= 100 ms)")
        return
    cmd = bench_command(model, a.seconds, a.cmd_runs, wav=False)
    cmd_wav = bench_command(model, a.seconds, a.cmd_runs, wav=True)
    print(f"(b) python -m jazzgen.generate, median of {a.cmd_runs}: {cmd:.2f} s; with --wav {cmd_wav:.2f} s",
          flush=True)
    per_call = bench_predict(model, a.seconds, a.tokens)
    baseline = per_call * 2 * events
    print(f"(c) model.predict on the sequence so far: {1000 * per_call:.1f} ms/call x 2 calls x {events:.0f} events "
          f"= {baseline:.1f} s", flush=True)
    print(f"sampling {a.seconds:g} s: {cpu:.1f} ms of CPU, {ms:.1f} ms wall (target <= 100 ms) | "
          f"command: {cmd:.2f} s (<= 1 s), "
          f"with --wav: {cmd_wav:.2f} s (<= 1.5 s) | model.predict per step: {1000 * per_call:.1f} ms/call "
          f"-> baseline {baseline / (ms / 1000):.0f}x slower")


if __name__ == "__main__":
    main()
