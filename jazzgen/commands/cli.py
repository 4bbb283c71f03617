"""What every command shares at its edge: one-line errors and exit codes.

A user's mistake (``JazzgenError``, a bad flag) is one line, ``jazzgen.<cmd>: error:
...``, exit 2.  An unexpected internal error is one line too, plus the path of a
file holding the full traceback, exit 3: a user never sees a stack trace, and a bug
report still has one.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback

from jazzgen.errors import JazzgenError

USER_ERROR, INTERNAL_ERROR = 2, 3


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump), exit 2."""

    def error(self, message):
        self.exit(USER_ERROR, f"{self.prog_name}: error: {message}\n")

    @property
    def prog_name(self) -> str:
        return self.prog.replace("python -m ", "")


def fail(prog: str, message: str, code: int = USER_ERROR) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def run(prog: str, main, argv=None) -> int:
    """main(argv) with the error rule applied; returns the exit code."""
    try:
        return main(argv)
    except JazzgenError as e:
        return fail(prog, str(e).splitlines()[0] if str(e) else type(e).__name__)
    except KeyboardInterrupt:
        return fail(prog, "interrupted", 130)
    except Exception:  # a bug: one line here, the traceback in a file
        fd, path = tempfile.mkstemp(prefix=f"{prog}-", suffix=".traceback.txt")
        with os.fdopen(fd, "w") as f:
            traceback.print_exc(file=f)
        e = sys.exc_info()[1]
        first = str(e).splitlines()[0] if str(e) else ""
        return fail(prog, f"internal error {type(e).__name__}: {first} (traceback in {path})", INTERNAL_ERROR)
