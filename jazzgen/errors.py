"""The typed family of errors a user can cause, one line each.

Every command catches ``JazzgenError`` at its edge and prints it as
``jazzgen.<command>: error: <message>`` with exit code 2 (see ``commands/cli.py``); a corpus
run records a ``MidiError`` as the file's skip reason and goes on.  Anything else
that escapes is a bug in jazzgen, reported as one line plus a traceback file.
"""
from __future__ import annotations

import re

_FIELD_REF = re.compile(r"`([A-Za-z_][\w.]*)`")     # `primer_bars`: another field the message mentions


class JazzgenError(ValueError):
    """Bad input; the message is one line that names the thing and what is wrong.

    One about a field of a configuration or a chart (``field="chart"``) names it first; any
    other field it mentions is written in backquotes (``ask for more `seconds```).  So each
    edge says them in its own words (``named``): the library by the field (``seconds``), the
    command line by its flag (``--seconds``), the page by its JSON field."""

    def __init__(self, message: str = "", *, field: str | None = None):
        self.field, self.problem = field, message
        super().__init__(self.named(lambda f: f))

    def named(self, name) -> str:
        """The message in an edge's words.  `name`: what the edge calls a field (a function:
        ``cli.flag`` gives ``--top-p`` for ``top_p``), or a plain string for the leading field."""
        rename = name if callable(name) else (lambda f: name if f == self.field else f)
        problem = in_words(self.problem, rename)
        if self.field is None:
            return problem
        return rename(self.field) + ("" if problem.startswith(":") else " ") + problem

    def __reduce__(self):      # whole across processes (the page makes takes in workers)
        return _rebuild, (type(self), self.problem, self.field)


def in_words(text: str, name) -> str:
    """`text` (an error, a note, a warning) with each field it mentions in backquotes said as
    ``name(field)`` says it: the field itself in the library, ``cli.flag`` on the command line."""
    return _FIELD_REF.sub(lambda m: name(m[1]), text)


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
        super().__init__(problem, field=field)


def _rebuild(cls, problem: str, field: str | None) -> JazzgenError:
    e = Exception.__new__(cls)
    JazzgenError.__init__(e, problem, field=field)
    return e
