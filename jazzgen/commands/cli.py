"""What every command shares at its edge: one-line errors and exit codes; and ``jazzgen CMD``.

A user's mistake (``JazzgenError``, a bad flag) is one line, ``jazzgen.<cmd>: error:
...``, exit 2.  An unexpected internal error is one line too, plus the path of a
file holding the full traceback, exit 3: a user never sees a stack trace, and a bug
report still has one.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import traceback

from jazzgen.errors import JazzgenError
from jazzgen.util import os_error

USER_ERROR, INTERNAL_ERROR = 2, 3


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump), exit 2."""

    def error(self, message):
        self.exit(USER_ERROR, f"{self.prog_name}: error: {message}\n")

    @property
    def prog_name(self) -> str:
        return self.prog.replace("python -m ", "")


def flag(field: str) -> str:
    """The command-line flag of a configuration field, by its path: sampling.top_p -> --top-p,
    model.units -> --units (a group's fields have flat flags: the last part names it)."""
    return "--" + field.rsplit(".", 1)[-1].replace("_", "-")


def fail(prog: str, message: str, code: int = USER_ERROR) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def run(prog: str, main, argv=None) -> int:
    """main(argv) with the error rule applied; returns the exit code.

    A file name that is not UTF-8 is printed escaped (stdout too, not only stderr), and an
    operating-system error (a full disk, a name too long, no permission, a read-only
    folder) is one line naming the path and the cause, exit 1.
    """
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        return main(argv)
    except JazzgenError as e:
        text = e.named(flag)
        return fail(prog, text.splitlines()[0] if text else type(e).__name__)
    except KeyboardInterrupt:
        return fail(prog, "interrupted", 130)
    except OSError as e:
        return fail(prog, os_error(e), 1)
    except Exception:  # a bug: one line here, the traceback in a file
        return fail(prog, internal_error(prog), INTERNAL_ERROR)


def internal_error(prog: str) -> str:
    """The one line of an unexpected exception; its traceback goes to a file (if one can be written)."""
    e = sys.exc_info()[1]
    first = str(e).splitlines()[0] if str(e) else ""
    try:
        fd, path = tempfile.mkstemp(prefix=f"{prog}-", suffix=".traceback.txt")
        with os.fdopen(fd, "w", errors="backslashreplace") as f:
            traceback.print_exc(file=f)
        where = f"traceback in {path}"
    except OSError as oe:
        where = f"no traceback file: {os_error(oe)}"
    return f"internal error {type(e).__name__}: {first} ({where})"


# ---------------------------------------------------------------------------- jazzgen CMD

COMMANDS = {   # name -> (module with main(argv), what it does)
    "generate": ("jazzgen.commands.generate", "improvise solos over chord changes, with a rhythm section"),
    "train": ("jazzgen.commands.train", "learn from a folder of MIDI into a model folder"),
    "ingest": ("jazzgen.commands.ingest", "read and cache a folder of MIDI, with a report on every file"),
    "evaluate": ("jazzgen.commands.evaluate", "score a model against n-gram baselines; style metrics"),
    "serve": ("jazzgen.commands.serve", "a page to play with the generator, on this machine"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()]
    return ("usage: jazzgen COMMAND [flags]   (jazzgen COMMAND --help: its flags)\n\ncommands:\n"
            + "\n".join(lines) + "\n\nthe same as python -m jazzgen COMMAND and python -m jazzgen.COMMAND")


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as installed
    try:
        return installed("jazzgen")
    except PackageNotFoundError:
        return "not installed"


def main(argv=None) -> int:
    """The ``jazzgen`` command (and ``python -m jazzgen``): ``jazzgen generate --seconds 30`` runs
    the generate command's main with the flags after its name; every command keeps its own errors."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else USER_ERROR
    if argv[0] == "--version":
        print(f"jazzgen {version()}")
        return 0
    name, *rest = argv
    if name not in COMMANDS:
        return fail("jazzgen", f"unknown command {name!r}; the commands are {', '.join(COMMANDS)}")
    return importlib.import_module(COMMANDS[name][0]).main(rest)
