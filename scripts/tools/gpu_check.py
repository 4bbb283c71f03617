"""The GPU check: the shipped configuration under each Keras backend, the same with --distribute, then a 3 x 512 model.

    bash scripts/tools/fetch_gpu_wheels.sh                   # here: the wheels the GPU machine lacks
    bash scripts/tools/gpu_check.sh                          # there: installs .whl/, runs this
    bash scripts/tools/gpu_check.sh --cpu-smoke              # anywhere: tiny sizes, a few minutes on a CPU

1. For each backend in --backends (default jax and torch; each in its own process, since
   Keras fixes the backend at import): `jazzgen.model.training.train` with the shipped
   configuration (TrainConfig's defaults: 2 x 256, batch 64, seq 96; the bundled corpus) for
   --epochs epochs; prints the device, tokens/s over the epochs after the first (which
   compiles) and the validation perplexities.
2. Under jax (when in --backends): the same run with --distribute (keras DataParallel over
   every local device); prints its tokens/s beside the one-device run's, and how far apart
   their validation NLLs are: the steps are the same, so they should agree to round-off.
   With --cpu-smoke the CPU is split into 2 devices (XLA_FLAGS), so the check means something
   without a GPU.
3. `python -m jazzgen.train` with --big (default: 3 x 512) under --big-backend until it
   stops early or --budget seconds have passed (then it is interrupted as Ctrl-C would,
   keeping every finished epoch); prints its best validation perplexities, whether they
   beat the shipped model's (models/wjazzd/metrics.json: the same held-out solos), and the
   training time it took to reach the shipped model's validation NLL.

Every line that carries a result starts with `gpu_check:`; the last one says PASS or FAIL
(FAIL: a stage did not finish).  Nothing here needs TensorFlow or a network.  Run it through
gpu_check.sh, which puts the checkout (and scripts/, for trainbench) on PYTHONPATH.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SMOKE = {"max_songs": 12, "model.units": 32, "model.layers": 1, "seq_len": 32}   # TrainConfig fields by path
BIG = "--layers 3 --units 512 --dropout 0.3 --batch-size 64 --lr 3.3e-3"
BIG_SMOKE = "--layers 3 --units 32 --batch-size 16 --seq-len 32 --max-songs 12 --epochs 30"
TWO_CPU_DEVICES = "--xla_force_host_platform_device_count=2"


def say(msg: str) -> None:
    print(f"gpu_check: {msg}", flush=True)


def child_env(**extra) -> dict:
    """This environment with the checkout and scripts/ importable (gpu_check.sh sets them; a direct run may not)."""
    paths = [str(ROOT), str(ROOT / "scripts")] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


# ---------------------------------------------------------------------------- stages 1 and 2 (child)

def shipped_stage(a) -> dict:
    """Run in a child whose KERAS_BACKEND is set: the shipped configuration for a few epochs."""
    import keras

    from jazzgen.model.training import TrainConfig, rate, train, train_tokens, updated
    extra = SMOKE if a.cpu_smoke else {}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = updated(TrainConfig(data=a.data, out=tmp, name="shipped", epochs=a.epochs, patience=a.epochs + 1,
                                  distribute=a.stage == "distribute"), extra)
        state = train(cfg, progress=False)
        tok = train_tokens(cfg)
    last = state["log"][-1]
    return {"backend": keras.backend.backend(), "device": state.get("device", "?"), "tokens_per_epoch": tok,
            "tok_s": rate(state["log"], tok), "epoch_s": [r["seconds"] for r in state["log"]],
            "val_nll": last["val_nll"], "val_pitch_ppl": last["val_pitch_ppl"], "val_dur_ppl": last["val_dur_ppl"]}


# ---------------------------------------------------------------------------- driver

def run_child(backend: str, a, timeout: float, stage: str = "shipped") -> dict | None:
    argv = [sys.executable, __file__, "--stage", stage, "--data", a.data, "--epochs", str(a.epochs)]
    argv += ["--cpu-smoke"] if a.cpu_smoke else []
    env = child_env(KERAS_BACKEND=backend)
    if stage == "distribute" and a.cpu_smoke:
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {TWO_CPU_DEVICES}".strip()
    try:
        p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        say(f"{backend} {stage}: did not finish in {timeout:.0f} s")
        return None
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    say(f"{backend} {stage}: failed (exit {p.returncode}); its last output:")
    print(p.stdout[-1500:], p.stderr[-3000:], sep="\n", flush=True)
    return None


def report_shipped(r: dict, what: str = "") -> None:
    say(f"{r['backend']}{what} on {r['device']}: {r['tok_s']:,.0f} tok/s ({r['tokens_per_epoch']:,} tokens/epoch, "
        f"epoch seconds {r['epoch_s']}), val pitch ppl {r['val_pitch_ppl']:.2f}, "
        f"dur ppl {r['val_dur_ppl']:.2f} after {len(r['epoch_s'])} epochs")


def report_distribute(one: dict | None, dist: dict) -> None:
    """--distribute beside the one-device run: speed ratio, and how far apart the same steps ended."""
    report_shipped(dist, " --distribute")
    if one:
        gap = abs(dist["val_nll"] - one["val_nll"]) / abs(one["val_nll"])
        say(f"--distribute vs one device: {dist['tok_s'] / one['tok_s']:.2f}x the tokens/s; validation NLL "
            f"{dist['val_nll']:.6f} vs {one['val_nll']:.6f} (relative gap {gap:.1e}; the same steps, so round-off)")


def train_big(a, out: Path) -> dict | None:
    """python -m jazzgen.train with --big until it stops or the budget is spent; its state.json."""
    flags = shlex.split(BIG_SMOKE if a.cpu_smoke else a.big)
    argv = [sys.executable, "-m", "jazzgen.train", "--data", a.data, "--out", str(out), "--name", "big"]
    argv += [] if "--epochs" in flags else ["--epochs", "60"]
    argv += flags
    say(f"big model: {' '.join(flags)} under {a.big_backend}, budget {a.budget:.0f} s")
    t0 = time.time()
    p = subprocess.Popen(argv, env=child_env(KERAS_BACKEND=a.big_backend), cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        p.wait(timeout=a.budget)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)         # as Ctrl-C: finished epochs are all on disk already
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        say(f"big model: budget spent after {time.time() - t0:.0f} s, interrupted")
    tail = p.stdout.read().splitlines()[-40:]
    for line in tail:
        if line.startswith("epoch "):
            print("  " + line, flush=True)
    state_path = out / "big" / "state.json"
    if not state_path.exists():
        say(f"big model: no epoch finished (exit {p.returncode}); its last output:")
        print("\n".join(tail), flush=True)
        return None
    return json.loads(state_path.read_text())


def time_to(log: list[dict], val_nll: float) -> str:
    """Training seconds until the first epoch at or below `val_nll`, in words."""
    spent = 0.0
    for r in log:
        spent += r["seconds"]
        if r["val_nll"] <= val_nll:
            return f"reached the shipped validation NLL after {spent:.0f} s of training (epoch {r['epoch'] + 1})"
    return f"did not reach the shipped validation NLL in {spent:.0f} s of training"


def report_big(state: dict, shipped: dict) -> None:
    b = state["best"]
    beats = b["val_nll"] < shipped["val_nll"]
    say(f"big model on {state.get('device', '?')}: {state['epoch'] + 1} epochs in {state['train_seconds']:.0f} s, "
        f"best epoch {b['epoch'] + 1}: val pitch ppl {b['val_pitch_ppl']:.2f}, dur ppl {b['val_dur_ppl']:.2f} | "
        f"shipped: {shipped['val_pitch_ppl']:.2f}, {shipped['val_dur_ppl']:.2f} -> "
        f"{'beats' if beats else 'does not beat'} the shipped model (validation NLL per event "
        f"{b['val_nll']:.3f} vs {shipped['val_nll']:.3f}); {time_to(state['log'], shipped['val_nll'])}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="midi/wjazzd")
    p.add_argument("--backends", default="jax,torch", help="comma-separated Keras backends for stage 1")
    p.add_argument("--epochs", type=int, default=3, help="stage 1 and 2 epochs per run")
    p.add_argument("--stage-timeout", type=float, default=150, help="seconds per run in stages 1 and 2")
    p.add_argument("--big", default=BIG, help="jazzgen.train flags of the big model")
    p.add_argument("--big-backend", default="", help="default: the first of --backends")
    p.add_argument("--budget", type=float, default=240, help="seconds for the big model")
    p.add_argument("--cpu-smoke", action="store_true", help="tiny sizes, to check the script on a CPU")
    p.add_argument("--stage", default="", help=argparse.SUPPRESS)
    a = p.parse_args()
    a.big_backend = a.big_backend or a.backends.split(",")[0]
    if a.cpu_smoke:
        a.budget = min(a.budget, 120)
    return a


def main() -> int:
    a = parse_args()
    if a.stage:
        print("RESULT " + json.dumps(shipped_stage(a)), flush=True)
        return 0
    ok, runs = True, {}
    for backend in a.backends.split(","):
        runs[backend] = r = run_child(backend, a, a.stage_timeout)
        ok &= r is not None
        if r:
            report_shipped(r)
    if "jax" in a.backends.split(","):
        dist = run_child("jax", a, a.stage_timeout, "distribute")
        ok &= dist is not None
        if dist:
            report_distribute(runs["jax"], dist)
    shipped = json.loads((ROOT / "models" / "wjazzd" / "metrics.json").read_text())["best"]
    with tempfile.TemporaryDirectory() as tmp:
        state = train_big(a, Path(tmp))
    ok &= state is not None
    if state:
        report_big(state, shipped)
    say("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
