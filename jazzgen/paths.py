"""Where things are by default: each default path is written here once.

The shipped model is found inside the installed package (``jazzgen/shipped/wjazzd``, where
``pip install`` puts ``models/wjazzd``), else in the checkout this file lies in, so
``jazzgen generate`` finds it from any folder.  The bundled corpus is the checkout's.
The user's own working folders (training MIDI, the corpus cache, trained models,
outputs) are relative to the current directory, like any command-line tool's.
"""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent                          # the checkout, when jazzgen runs from one


def _shipped(name: str) -> Path:
    installed = PACKAGE / "shipped" / name
    return installed if installed.is_dir() else ROOT / "models" / name


SHIPPED_MODEL = _shipped("wjazzd")             # the default model of generate / evaluate / serve
WJAZZD = ROOT / "midi" / "wjazzd"              # the bundled corpus (ODbL 1.0, see its README); a checkout's
MUSICXML_XSD = ROOT / "tests" / "data" / "musicxml" / "musicxml.xsd"   # W3C MusicXML 4.0; a checkout's

DATA = "midi"                                  # training MIDI: the bundled corpus plus the user's files
MODELS = "models"                              # where train writes model folders
CACHE = ".cache/corpus"                        # the corpus cache
OUT = "out"                                    # generated solos
