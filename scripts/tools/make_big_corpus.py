"""Write a big folder of MIDI solos for the corpus-size benchmark: cut and transposed WJazzD solos.

    python scripts/tools/make_big_corpus.py --out /tmp/big --files 20000

Each file is a stretch of a WJazzD solo (8 to 32 bars from a bar line, or the whole solo
when shorter), moved to one of the 12 keys, with its chord markers (respelled), its tempo
map and meter, written by jazzgen's own MIDI writer; its performer goes into index.tsv
beside the files, as in midi/wjazzd.  One file in every BAD_EVERY is broken on purpose
(cut short, or not MIDI at all), so that a run over the folder also skips bad files.
Seeded: the same arguments write the same folder.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from jazzgen.data.corpus import load_corpus
from jazzgen.music.chords import transpose_symbol
from jazzgen.music.midi_io import write_midi
from jazzgen.music.notes import NO_CHORD, ChordChange, NoteSequence, Tempo
from jazzgen.paths import WJAZZD

BAD_EVERY = 500


def cut(seq: NoteSequence, rng: np.random.Generator) -> NoteSequence:
    """8 to 32 bars of `seq` from a bar line (whole when shorter), moved to step 0, in a random key."""
    bar = seq.time_signatures[0].bar_steps if seq.time_signatures else 48
    bars = max(1, seq.end // bar)
    n = int(rng.integers(8, 33))
    a = int(rng.integers(0, max(1, bars - n + 1))) * bar
    b = min(seq.end, a + n * bar)
    keep = (seq.start >= a) & (seq.start + seq.duration <= b)
    if keep.sum() < 2:
        a, b, keep = 0, seq.end, np.ones(len(seq), bool)
    k = int(rng.integers(-5, 7))
    p = seq.pitch[keep] + k
    if p.min() < 0 or p.max() > 127:
        k, p = 0, seq.pitch[keep]
    before = lambda xs: [x for x in xs if x.step <= a][-1:] + [x for x in xs if a < x.step < b]
    chords = [ChordChange(max(c.step - a, 0), c.symbol if c.symbol == NO_CHORD else transpose_symbol(c.symbol, k))
              for c in before(seq.chords)]
    tempos = [Tempo(max(t.step - a, 0), t.qpm) for t in before(seq.tempos)]
    return replace(seq, pitch=p, start=seq.start[keep] - a, duration=seq.duration[keep],
                   velocity=seq.velocity[keep], chords=chords, tempos=tempos,
                   time_signatures=seq.time_signatures[:1], key_signatures=[], end=b - a)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="folder to write (created; files already there are overwritten)")
    p.add_argument("--files", type=int, default=20000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--per-folder", type=int, default=1000, help="files per subfolder (one index.tsv each)")
    a = p.parse_args()
    songs = load_corpus(WJAZZD, None, progress=False).songs
    rng = np.random.default_rng(a.seed)
    out = Path(a.out)
    rows: dict[Path, list[str]] = {}
    for i in range(a.files):
        src = songs[i % len(songs)]
        folder = out / f"part{i // a.per_folder:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{i:06d}_{src.name}.mid"
        rows.setdefault(folder, []).append(f"{name}\t{src.performer}")
        if i % BAD_EVERY == BAD_EVERY - 1:
            good = folder / "tmp.mid"
            write_midi(good, cut(src, rng))
            data = good.read_bytes()
            good.unlink()
            (folder / name).write_bytes(data[: len(data) // 2] if i // BAD_EVERY % 2 else b"not a MIDI file")
        else:
            write_midi(folder / name, cut(src, rng))
        if (i + 1) % 1000 == 0:
            print(f"{i + 1} files", file=sys.stderr, flush=True)
    for folder, lines in rows.items():
        (folder / "index.tsv").write_text("file\tperformer\n" + "\n".join(lines) + "\n")
    print(f"wrote {a.files} files ({a.files // BAD_EVERY} broken on purpose) under {out}")


if __name__ == "__main__":
    main()
