"""Read every chart in folders, play a short take over each tune, and count what went wrong.

    python scripts/tools/chart_survey.py FOLDER [FOLDER ...] [--seconds 3] [--limit N] [--model DIR]
        [--show K]

For each file under the folders (``.ls``, ``.musicxml``, ``.xml``, ``.mxl``, ``.html``,
``.htm``, ``.txt``, ``.irealb``): its format (``chart_files.chart_format``) and its tunes (a
playlist holds many); each tune is read (``form.Tune``, every chord symbol through
``chords.parse_chord``), turned into the Chart ``generate --chart`` plays (the road map
expanded) and a take is made over it with the model (``takes.make_takes``, --seconds long at
the chart's tempo) and written as MIDI into a temporary folder (no audio), as ``generate``
would.  Prints per format the files, the tunes read, the tunes played, and the failures
grouped by reason (the message with its tune names, bar numbers and quoted symbols left out),
with the first example of each.  Files that read as jazzgen's own text charts (or any other
text: lyrics beside a lead sheet) are counted as "text" and not surveyed.  An exception that
is not one of jazzgen's own errors is a bug, counted as "internal error".
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from jazzgen import paths
from jazzgen.errors import JazzgenError
from jazzgen.generation.takes import TakeConfig, load_stepper, make_takes, write_take
from jazzgen.music.chart import DEFAULT_BPM, MAX_BPM, MIN_BPM, from_tune
from jazzgen.music.charts import chart_format, read_chart_file, read_tunes

EXTENSIONS = {".ls", ".musicxml", ".xml", ".mxl", ".html", ".htm", ".txt", ".irealb", ".irealbook"}


def reason(message: str) -> str:
    """A failure's message with what differs from file to file left out."""
    message = re.sub(r"^--chart[^:]*: ", "", message)
    message = re.sub(r"tune (['\"]).*?\1(, bar \d+)?: ", "", message)
    message = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", message)
    return re.sub(r"\d+", "N", message)[:90]


def chart_files(folders: list[str]) -> list[Path]:
    files = []
    for folder in folders:
        root = Path(folder)
        found = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        files += [p for p in found if p.suffix.lower() in EXTENSIONS]
    return files


class Survey:
    """Counts per format: files, tunes read and played, failures by stage and reason."""

    def __init__(self, stepper, seconds: float):
        self.stepper, self.seconds = stepper, seconds
        self.files, self.read, self.played = Counter(), Counter(), Counter()
        self.failed: dict[str, Counter] = defaultdict(Counter)
        self.example: dict[tuple[str, str], str] = {}
        self.out = tempfile.TemporaryDirectory()

    def fail(self, fmt: str, stage: str, where: str, e: Exception) -> None:
        why = reason(str(e)) if isinstance(e, JazzgenError) else f"internal error: {type(e).__name__}: {e}"[:120]
        key = f"{stage}: {why}"
        self.failed[fmt][key] += 1
        self.example.setdefault((fmt, key), f"{where}: {e}"[:240])

    def file(self, path: Path) -> None:
        try:
            data = read_chart_file(path)
            fmt = chart_format(data, path.name)
        except Exception as e:       # noqa: BLE001 - a survey counts every failure and goes on
            self.files["?"] += 1
            return self.fail("?", "read", str(path), e)
        self.files[fmt] += 1
        try:
            entries = read_tunes(data, path.name)
        except Exception as e:       # noqa: BLE001
            return self.fail(fmt, "read", str(path), e)
        if isinstance(entries, str):
            return                   # jazzgen's own text charts (or any other text): counted, not surveyed
        for entry in entries:
            self.tune(fmt, path, entry)

    def tune(self, fmt: str, path: Path, entry) -> None:
        where = f"{path.name} / {entry.title}"
        try:
            tune = entry.read()
            bpm = tune.bpm if tune.bpm and MIN_BPM <= tune.bpm <= MAX_BPM else DEFAULT_BPM
            chart = from_tune(tune, bpm)
        except Exception as e:       # noqa: BLE001
            return self.fail(fmt, "read", where, e)
        self.read[fmt] += 1
        try:
            take = make_takes(self.stepper, chart, TakeConfig(seconds=self.seconds, seed=1))[0]
            for f in write_take(take, self.out.name, ["mid"]):
                f.unlink()
            if len(take.solo.pitch) == 0:
                raise JazzgenError("the take has no notes")
        except Exception as e:       # noqa: BLE001
            return self.fail(fmt, "play", where, e)
        self.played[fmt] += 1

    def report(self, show: int) -> None:
        print(f"{'format':10} {'files':>6} {'tunes read':>11} {'played':>7}")
        for fmt in sorted(self.files):
            print(f"{fmt:10} {self.files[fmt]:6d} {self.read[fmt]:11d} {self.played[fmt]:7d}")
        for fmt in sorted(self.failed):
            print(f"\n{fmt}: {sum(self.failed[fmt].values())} failures")
            for key, n in self.failed[fmt].most_common(show):
                print(f"  {n:5d}  {key}\n         e.g. {self.example[(fmt, key)]}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", help="folders (or files) of charts, searched recursively")
    p.add_argument("--seconds", type=float, default=3.0, help="length of each take (default 3)")
    p.add_argument("--limit", type=int, default=0, help="only the first N files (0: all)")
    p.add_argument("--model", default=str(paths.SHIPPED_MODEL), help="model folder (default: the shipped one)")
    p.add_argument("--show", type=int, default=12, help="failure reasons shown per format (default 12)")
    a = p.parse_args(argv)
    files = chart_files(a.folders)[:a.limit or None]
    survey, t0 = Survey(load_stepper(a.model), a.seconds), time.time()
    for k, path in enumerate(files, 1):
        survey.file(path)
        if k % 500 == 0:
            print(f"... {k}/{len(files)} files, {time.time() - t0:.0f} s", flush=True)
    print(f"{len(files)} files in {time.time() - t0:.0f} s, takes of {a.seconds:g} s\n")
    survey.report(a.show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
