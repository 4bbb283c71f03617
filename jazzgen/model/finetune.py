"""Fine-tuning: a run that starts from a trained model (``python -m jazzgen.train --init MODEL_DIR``).

The user with twenty transcriptions of one player learns little from them alone; starting
from a model that learned the idiom from hundreds of solos, a few epochs on theirs teach it
the player.  The run keeps the model's network and vocabulary (its levels, buckets and
chord qualities must be this jazzgen's, else a one-line ModelError): each performer of the
new data that the model knows keeps its embedding row, and a new one gets a row of its
own, started at the mean of the known players' rows (an average player, which the new
solos then move), so ``generate --like NAME`` offers the new player.

Twenty solos alone pull the whole network towards them and away from the idiom it learned,
so each epoch mixes them with as many windows of a corpus the model learned from
(``--replay``, by default train's default data folder, ``midi/``, when it is there): the
held-back solos of a left-out player scored better with it than without (replayed, the
fine-tuned model also beats the model it started from on other players' solos).  A small
folder needs less patience than training from scratch (its validation split is a solo or
two): FINETUNE_LR and FINETUNE_PATIENCE, the defaults when ``--init`` is given without
``--lr`` / ``--patience``, were chosen by measurement (``scripts/tools/finetune_check.py``;
docs/measured.md, "Fine-tuning on one left-out performer").
"""
from __future__ import annotations

from collections import Counter
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.errors import FieldError, ModelError

FINETUNE_LR = 1e-3
FINETUNE_PATIENCE = 2
REPLAY_SHARE = 0.5                     # of each epoch's windows, the share from the --replay folder
SHAPE = ("model.layers", "model.units", "model.harmony")   # the network's shape: the model's own, never a flag's
OWN = ("performers", "performer_solos")   # the vocabulary's parts a fine-tuning run may extend


def init_config(cfg, given: set[str], resumed: bool = False):
    """cfg with the init model's shape and dropout, the fine-tuning defaults of lr and patience
    where the command line gave none (a resumed run keeps its own), and the folder to replay;
    FieldError for a field that contradicts the model, or an `init` that is the run's own folder
    (the model it starts from is only read); a broken model folder: the one loader's ModelError."""
    from jazzgen.model.folder import model_file, read_config
    from jazzgen.model.training import updated, value
    init = Path(cfg.init)
    if not init.is_dir():
        raise FieldError("init", f"{init}: no such model folder")
    if init.resolve() == cfg.model_dir.resolve():
        raise FieldError("init", f"{init}: that is this run's own folder; give the run another `name`")
    saved = read_config(init)
    init_vocab(init, [])                                   # a vocabulary this jazzgen can extend, or one line
    model_file(init)
    for k in SHAPE:                                        # paths: `model.units` (the command line: --units)
        if (k in given or resumed) and value(cfg, k) != value(saved, k):
            raise FieldError("init", f"{init}: the model has `{k}` {value(saved, k)}, not {value(cfg, k)}")
    if resumed:
        return replace(cfg, replay=_replay(cfg, given))
    kept = {k: value(saved, k) for k in SHAPE + ("model.dropout",) if k not in given}
    defaults = {k: v for k, v in (("optimizer.lr", FINETUNE_LR), ("patience", FINETUNE_PATIENCE)) if k not in given}
    return updated(replace(cfg, replay=_replay(cfg, given)), {**kept, **defaults})


def _replay(cfg, given: set[str]) -> str:
    """The folder to replay: --replay's ('none': no replay), else train's default data folder
    (``paths.DATA``: the bundled corpus, which the shipped model learned from, and the user's
    files) when it is there and is not --data itself.  Never a path read from the model folder:
    a folder is data, not directions."""
    from jazzgen import paths
    if "replay" in given:
        if cfg.replay.lower() == "none":
            return ""
        if not Path(cfg.replay).is_dir():
            raise FieldError("replay", f"{cfg.replay}: no such folder")
        return cfg.replay
    default = Path(paths.DATA)
    if default.is_dir() and default.resolve() != Path(cfg.data).resolve():
        print(f"fine-tuning: replaying {default}, train's default corpus (--replay DIR: another; --replay none: "
              "without)")
        return str(default)
    print(f"fine-tuning without replay: no {default} folder here (--replay DIR: a corpus the model learned from, "
          "mixed in, keeps the idiom while it learns your player)")
    return ""


def init_vocab(init: str | Path, performers) -> T.Vocab:
    """The init model's vocabulary with the performers of `performers` (one name per training solo)
    it does not know added after its own, and every count raised by this data's solos."""
    from jazzgen.model.folder import load_vocab
    old = load_vocab(init)
    if old is None:
        raise ModelError(f"`init` {init}: no vocab.json (not a model folder written by jazzgen.train)")
    here = T.default_vocab()
    differ = [f.name for f in fields(T.Vocab) if f.name not in OWN and getattr(old, f.name) != getattr(here, f.name)]
    if differ:
        raise ModelError(f"`init` {init}: its vocabulary differs from this jazzgen's ({', '.join(differ)}); "
                         "fine-tune a model trained by this version")
    n = Counter(p for p in performers if p and p != T.UNKNOWN_PERFORMER)
    names = old.performers + tuple(sorted(set(n) - set(old.performers)))
    solos = tuple(dict(zip(old.performers, old.performer_solos)).get(p, 0) + n[p] for p in names)
    return replace(here, performers=names, performer_solos=solos)


def replayed(cfg, train, seen: set[str], vocab: T.Vocab):
    """(windows, songs, batches per epoch): the user's training songs mixed with the --replay
    folder's (a corpus the model learned from: what keeps it from forgetting the idiom while
    it learns the player).  The user's windows are repeated until they are as many as the
    replayed ones, and an epoch serves the user's windows' worth and as many replayed (drawn
    anew each epoch: KeyedWindows serves the first `steps` batches of each epoch's order).
    Songs named in `seen` (the user's own, validation included) are not replayed."""
    from jazzgen.data import dataset
    from jazzgen.data.corpus import ingest, read_settings
    songs = ingest(cfg.replay, cfg.cache, read_settings(cfg), progress=False).songs
    other = songs.take([i for i, (n, k) in enumerate(zip(songs.names, songs.notes)) if k > 1 and n not in seen])
    if not len(other):
        raise FieldError("replay", f"{cfg.replay}: no usable MIDI files besides the ones of `data`")
    count = lambda s: len(dataset.ShardWindows(s, cfg.seq_len, cfg.seq_len, vocab))
    own, theirs = count(train), count(other)
    r = max(1, round(theirs * (1 - REPLAY_SHARE) / (own * REPLAY_SHARE)))
    both = train + other
    repeat = np.r_[np.full(len(train), r), np.ones(len(other), np.int64)]
    steps = -(-round(own / (1 - REPLAY_SHARE)) // cfg.batch_size)
    return dataset.ShardWindows(both, cfg.seq_len, cfg.seq_len, vocab, repeat=repeat), both, steps


def grown_rows(table: np.ndarray, rows: int) -> np.ndarray:
    """A performer embedding table grown to `rows`: its own rows kept, each new one the mean of the
    known performers' rows (ids PERFORMER0 on; the pad and unknown rows when it knows none)."""
    known = table[T.PERFORMER0:] if len(table) > T.PERFORMER0 else table
    extra = np.repeat(known.mean(0, keepdims=True), rows - len(table), 0)
    return np.concatenate([table, extra.astype(table.dtype)])


def init_model(cfg, vocab: T.Vocab):
    """A new compiled model for `vocab` holding the init model's weights (performer rows grown)."""
    from jazzgen.model.folder import load_keras, model_file
    from jazzgen.model.network import build_model, compile_model
    old = load_keras(model_file(cfg.init))
    model = build_model(vocab, cfg.model)
    for layer in model.layers:
        try:
            w = old.get_layer(layer.name).get_weights()
        except ValueError:
            raise ModelError(f"`init` {cfg.init}: its network has no layer {layer.name!r} "
                             "(a model of another jazzgen version)") from None
        if layer.name == "emb_performer":
            w = [grown_rows(w[0], vocab.sizes["performer"])]
        if [x.shape for x in w] != [tuple(v.shape) for v in layer.weights]:
            raise ModelError(f"`init` {cfg.init}: layer {layer.name!r} has other shapes than this network's")
        layer.set_weights(w)
    compile_model(model, cfg.optimizer.lr, cfg.optimizer.clipnorm, cfg.optimizer.weight_decay)
    return model
