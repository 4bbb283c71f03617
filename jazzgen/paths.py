"""Where things are by default: each default path is written here once.

The shipped model and the bundled corpus live in the checkout, so they are found
from this file wherever the command is run; the user's own working folders
(training MIDI, the corpus cache, trained models, outputs) are relative to the
current directory, like any command-line tool's.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = ROOT / "models" / "wjazzd"     # the default model of generate / evaluate
WJAZZD = ROOT / "midi" / "wjazzd"              # the bundled corpus (ODbL 1.0, see its README)

DATA = "midi"                                  # training MIDI: the bundled corpus plus the user's files
MODELS = "models"                              # where train writes model folders
CACHE = ".cache/corpus"                        # the corpus cache
OUT = "out"                                    # generated solos
