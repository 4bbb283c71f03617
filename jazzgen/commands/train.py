"""python -m jazzgen.train: learn jazz improvisation from a folder of MIDI.

    python -m jazzgen.train                     # midi/ (the bundled WJazzD + your files) -> models/midi/
    python -m jazzgen.train --data midi/wjazzd --name wjazzd
    python -m jazzgen.train --resume            # continue the run in models/midi/ where it stopped
    python -m jazzgen.train --distribute        # data-parallel over every local device (KERAS_BACKEND=jax)
    python -m jazzgen.train --distribute --num-processes 2 --process-id 0 --coordinator host0:1234   # on host0
    python -m jazzgen.train --data my_player/ --init models/wjazzd   # fine-tune on your player (replaying midi/)

Flags in, ``jazzgen.model.training.train`` (which says how a run goes), a model folder out.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jazzgen import paths
from jazzgen.commands import cli
from jazzgen.commands.ingest import add_read_options
from jazzgen.errors import UsageError
from jazzgen.model import backend, distribute, finetune
from jazzgen.model.training import TrainConfig, check_config, path_of, train, updated, value

PROG = "jazzgen.train"


def parse_args(argv=None) -> tuple[TrainConfig, bool, set[str], str | None, distribute.Cluster]:
    """(config, resume?, the fields given on the command line by path (``--units``: ``model.units``),
    the Keras backend asked for, the cluster).  The flags are flat, the config nested: each flag is
    its field's own name (``training.path_of`` finds its group), so errors say one as the other."""
    d = TrainConfig()
    p = cli.Parser(prog="python -m jazzgen.train", description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--data", default=d.data, help=f"folder of MIDI files (default: {paths.DATA}/)")
    p.add_argument("--out", default=d.out, help=f"where model folders go (default: {paths.MODELS}/)")
    p.add_argument("--name", default=d.name, help="model folder name under --out (default: the data folder's name)")
    p.add_argument("--cache", default=d.cache, help=f"corpus cache folder (default: {paths.CACHE})")
    for f in ("epochs", "batch_size", "seq_len", "layers", "units", "patience", "seed", "max_songs"):
        p.add_argument("--" + f.replace("_", "-"), type=int, default=value(d, path_of(f)))
    for f in ("dropout", "lr", "clipnorm", "weight_decay", "val_fraction"):
        p.add_argument("--" + f.replace("_", "-"), type=float, default=value(d, path_of(f)))
    p.add_argument("--init", default=d.init, metavar="MODEL_DIR",
                   help="fine-tune: start from this trained model (its network and vocabulary; a new performer "
                        "gets an embedding row of its own); --lr and --patience default to "
                        f"{finetune.FINETUNE_LR:g} and {finetune.FINETUNE_PATIENCE}")
    p.add_argument("--replay", default=d.replay, metavar="DIR",
                   help="with --init: mix this folder's solos into every epoch, half of it, so the model keeps the "
                        f"idiom while it learns your player (default: {paths.DATA}/, train's default data, when it "
                        "is there and not --data; 'none': no replay; a --resume takes --init and --replay again)")
    p.add_argument("--no-augment", dest="augment", action="store_false", help="no 12-key transposition")
    p.add_argument("--harmony", action=argparse.BooleanOptionalAction, default=d.model.harmony,
                   help="the network also reads the chord ahead (the next change and how far away it is) "
                   f"(default: {'on' if d.model.harmony else 'off'}; docs/measured.md has the comparison)")
    p.add_argument("--mixed-precision", action="store_true", help="float16/bfloat16 compute (GPU)")
    p.add_argument("--distribute", action="store_true",
                   help="data-parallel over all local devices (and over processes, with the three flags below)")
    p.add_argument("--num-processes", type=int, metavar="N", help="processes training together, usually one per "
                   "host (default: KERAS_DISTRIBUTION_NUM_PROCESSES, else 1); jax backend")
    p.add_argument("--process-id", type=int, metavar="I", help="this process's number, 0 to N-1; process 0 writes "
                   "the run folder (default: KERAS_DISTRIBUTION_PROCESS_ID)")
    p.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address and a free port there "
                   "(default: KERAS_DISTRIBUTION_JOB_ADDRESSES)")
    p.add_argument("--backend", choices=backend.BACKENDS,
                   help="Keras backend (default: KERAS_BACKEND, else tensorflow); a GPU is used when there is one")
    add_read_options(p)
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out/--name from its last epoch, with its own settings")
    a = p.parse_args(argv)
    given = {act.dest for act in p._actions
             if any(t.split("=")[0] in act.option_strings for t in (sys.argv[1:] if argv is None else argv))}
    resume, backend_name = a.__dict__.pop("resume"), a.__dict__.pop("backend")
    where = {k: a.__dict__.pop(k) for k in ("coordinator", "num_processes", "process_id")}
    cfg = updated(d, {path_of(k): v for k, v in a.__dict__.items()})
    cfg.name = cfg.name or Path(cfg.data).resolve().name
    try:
        check_config(cfg)
        cluster = distribute.cluster_from(cfg.distribute, **where)
    except UsageError as e:
        p.error(e.named(cli.flag))
    given = {path_of(k) for k in given - {"resume", "help", "backend", *where}}
    return cfg, resume, given, backend_name, cluster


def resume_hint(cfg: TrainConfig) -> str:
    from jazzgen.errors import JazzgenError
    from jazzgen.model.training import read_state
    try:
        read_state(cfg.model_dir)
    except JazzgenError:
        return "interrupted before the first epoch ended; nothing saved to resume"
    flags = (f" --data {cfg.data}" if cfg.data != paths.DATA else "") + f" --out {cfg.out} --name {cfg.name}" \
        + (f" --cache {cfg.cache}" if cfg.cache != paths.CACHE else "") \
        + (f" --track-map {cfg.track_map}" if cfg.track_map else "")
    return f"interrupted; continue with: python -m jazzgen.train{flags} --resume"


def _main(argv) -> int:
    cfg, resume, given, backend_name, cluster = parse_args(argv)
    backend.choose(backend_name)
    distribute.join(cluster)          # before anything asks JAX for its devices
    backend.announce()
    try:
        state = train(cfg, resume=resume, progress=sys.stderr.isatty(), given=given, cluster=cluster)
    except KeyboardInterrupt:
        print(f"\n{PROG}: {resume_hint(cfg)}", file=sys.stderr)
        return 130
    if cluster.process_id:
        return 0                      # process 0 wrote the run folder and says so
    b = state["best"]
    print(f"best: pitch ppl {b['val_pitch_ppl']:.2f}, dur ppl {b['val_dur_ppl']:.2f} -> {cfg.model_dir}/model.keras")
    print(f"improvise with it: python -m jazzgen.generate --model {cfg.model_dir} --seconds 30")
    return 0


def main(argv=None) -> int:
    return cli.run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
