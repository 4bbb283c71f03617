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


class FieldError(UsageError):
    """A value of a configuration (``TakeConfig``, ``Sampling``, ``TrainConfig``, a chart's
    tempo or key) that cannot be used.  It names the field, so that each edge says it in its
    own words: the library by the field (``top_p must be in (0, 1]``), the command line by
    its flag (``--top-p must be ...``, ``cli.run``), the page by its JSON field."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field} {problem}")

    def named(self, name: str) -> str:
        """The message with the field called `name` (a flag, a form field)."""
        return f"{name} {self.problem}"
