"""The typed family of errors a user can cause, one line each.

Every command catches ``JazzgenError`` at its edge and prints it as
``jazzgen.<command>: error: <message>`` with exit code 2 (see ``commands/cli.py``); a corpus
run records a ``MidiError`` as the file's skip reason and goes on.  Anything else
that escapes is a bug in jazzgen, reported as one line plus a traceback file.
"""
from __future__ import annotations


class JazzgenError(ValueError):
    """Bad input; the message is one line that names the thing and what is wrong."""


class MidiError(JazzgenError):
    """A MIDI file (or its bytes) that cannot be used."""


class ChordError(JazzgenError):
    """A chord symbol, chart or form that cannot be read; the message names the culprit."""


class ModelError(JazzgenError):
    """A model folder that cannot be loaded or used."""


class DataError(JazzgenError):
    """A training or evaluation folder that cannot be used (missing, empty, too large)."""


class UsageError(JazzgenError):
    """A flag or argument combination that makes no sense."""
