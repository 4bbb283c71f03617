"""A corpus of any size: ingest speed and memory, resume after kill -9, training memory vs corpus size.

    python scripts/tools/make_big_corpus.py --out /tmp/big --files 20000
    python scripts/bench/bench_big_corpus.py --data /tmp/big --small 2000

Every figure comes from the real commands (``python -m jazzgen.ingest`` / ``jazzgen.train``)
run as child processes while this script samples, every 0.1 s, the resident memory of the
child's whole process tree (it and its worker processes: the sum of their RSS, which
counts pages the forked workers share once per process, and the sum of their PSS, which
shares them out), and keeps the peak.  In order:

1. ingest the folder into an empty cache with 1 worker, then with 2: files/s (the
   command's own "time" line: reading, not interpreter start-up) and peak memory;
2. ingest into a third empty cache, ``kill -9`` the whole process group once a third of
   its shards are written, run it again: the shards written before the kill must be
   untouched, the files in them served from the cache, the totals those of step 1;
3. train one epoch (the shipped configuration) on the first --small files and on the whole
   folder, from the cache of step 1: peak memory of each, and their ratio (bounded
   memory: about 1, however many files).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jazzgen.data.corpus import find_midi

MB = 2 ** 20


def tree(pid: int) -> list[int]:
    """pid and every descendant (from /proc/*/stat)."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def memory(pids: list[int]) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in bytes of these processes (those still alive)."""
    rss = pss = 0
    for p in pids:
        try:
            for line in open(f"/proc/{p}/smaps_rollup"):
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


def run(cmd: list[str], until=None) -> tuple[str, float, int, int, bool]:
    """(stdout, wall seconds, peak tree RSS, peak tree PSS, killed) of a command; `until()` true:
    kill -9 its whole process group there."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    out: list[str] = []
    import threading
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
    reader.start()
    peak_rss = peak_pss = 0
    killed = False
    while p.poll() is None:
        rss, pss = memory(tree(p.pid))
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        if until is not None and until():
            os.killpg(p.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.1)
    p.wait()
    reader.join()
    return "".join(out), time.perf_counter() - t0, peak_rss, peak_pss, killed


def ingest(data: str, cache: Path, workers: int, until=None):
    return run([sys.executable, "-m", "jazzgen.ingest", "--data", data, "--out", str(cache), "--quiet",
                "--workers", str(workers)], until)


def seconds_line(out: str) -> float:
    return float(re.search(r"^time\s+([\d.]+) s", out, re.M).group(1))


def totals(out: str) -> str:
    return "\n".join(line for line in out.splitlines() if not line.startswith("time"))


def bench_ingest(data: str, n: int, work: Path) -> str:
    outs = {}
    for w in (1, 2):
        out, wall, rss, pss, _ = ingest(data, work / f"cache{w}", w)
        outs[w] = out
        print(f"ingest, {w} worker{'s'[:w > 1]}: {n / seconds_line(out):,.0f} files/s ({seconds_line(out):.1f} s; "
              f"{wall:.1f} s with start-up), peak memory {rss / MB:,.0f} MB RSS / {pss / MB:,.0f} MB PSS "
              f"of the process tree", flush=True)
        print(out.strip(), flush=True)
    print(f"2 workers vs 1: {seconds_line(outs[1]) / seconds_line(outs[2]):.2f}x the files/s; same totals: "
          f"{'yes' if totals(outs[1]) == totals(outs[2]) else 'NO'}", flush=True)
    return totals(outs[1])


def bench_resume(data: str, n: int, work: Path, want: str) -> None:
    cache = work / "cache-kill"
    shards = lambda: list(cache.glob("shard-*.npz"))
    expected = max(1, n // 128 // 3)
    _, _, _, _, killed = ingest(data, cache, 2, until=lambda: len(shards()) >= expected)
    before = {p: p.stat().st_mtime_ns for p in shards()}
    out, *_ = ingest(data, cache, 2)
    untouched = all(p.stat().st_mtime_ns == t for p, t in before.items())
    cached = int(re.search(r"(\d+) of \d+ files from the cache", out).group(1))
    same = totals(out) == want
    print(f"kill -9 after {len(before)} shards ({'killed' if killed else 'NOT killed: it finished first'}); "
          f"the rerun served {cached:,} of {n:,} files from the cache, the {len(before)} shards untouched: "
          f"{'yes' if untouched else 'NO'}, same totals as an uninterrupted run: {'yes' if same else 'NO'}", flush=True)


def train_epoch(data: str, cache: Path, out: Path, name: str) -> tuple[int, int, str]:
    text, wall, rss, pss, _ = run([sys.executable, "-m", "jazzgen.train", "--data", data, "--cache", str(cache),
                                   "--out", str(out), "--name", name, "--epochs", "1"])
    line = next((x for x in text.splitlines() if x.startswith("data:")), "?")
    print(f"train 1 epoch on {name}: {wall:.0f} s, peak memory {rss / MB:,.0f} MB RSS / {pss / MB:,.0f} MB PSS; {line}",
          flush=True)
    return rss, pss, text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the big folder (scripts/tools/make_big_corpus.py)")
    p.add_argument("--small", type=int, default=2000, help="files in the small training run")
    p.add_argument("--work", help="where caches and models go (default: a temporary folder, removed)")
    p.add_argument("--skip", default="", help="comma-separated steps to leave out: ingest, resume, train")
    a = p.parse_args()
    files = find_midi(a.data)
    work = Path(a.work or tempfile.mkdtemp(prefix="jazzgen-big-"))
    skip = set(filter(None, a.skip.split(",")))
    print(f"{len(files):,} MIDI files under {a.data}; work folder {work}", flush=True)
    try:
        want = bench_ingest(a.data, len(files), work) if "ingest" not in skip else ""
        if "resume" not in skip:
            bench_resume(a.data, len(files), work, want)
        if "train" not in skip:
            small = work / f"first{a.small}"
            for f in files[:a.small]:
                dest = small / f.relative_to(a.data)
                dest.parent.mkdir(parents=True, exist_ok=True)
                if not dest.exists():
                    shutil.copy(f, dest)
                    index = f.parent / "index.tsv"
                    if index.exists() and not (dest.parent / "index.tsv").exists():
                        shutil.copy(index, dest.parent / "index.tsv")
            s = train_epoch(str(small), work / "cache1", work / "models", f"first{a.small}")
            b = train_epoch(a.data, work / "cache1", work / "models", "all")
            print(f"peak memory, {len(files):,} files vs {a.small:,}: {b[0] / s[0]:.2f}x RSS, {b[1] / s[1]:.2f}x PSS",
                  flush=True)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
