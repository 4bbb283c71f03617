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
from pathlib import Path

from .errors import JazzgenError, UsageError

USER_ERROR, INTERNAL_ERROR = 2, 3


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump), exit 2."""

    def error(self, message):
        self.exit(USER_ERROR, f"{self.prog_name}: error: {message}\n")

    @property
    def prog_name(self) -> str:
        return self.prog.replace("python -m ", "")


def check_out_folder(path, flag: str, _shown=None) -> None:
    """Refuse, before any work, an output folder that is a file or lies under one."""
    for q in [Path(path), *Path(path).parents]:
        if q.exists():
            if not q.is_dir():
                raise UsageError(f"{flag} {_shown or path}: {q} is a file, not a folder")
            if not os.access(q, os.W_OK | os.X_OK):
                raise UsageError(f"{flag} {_shown or path}: cannot write in {q}")
            return


def check_out_file(path, flag: str) -> None:
    """Refuse, before any work, an output file that is a folder or cannot be created."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{flag} {path}: a folder, not a file")
    if p.exists() and not p.is_file():
        raise UsageError(f"{flag} {path}: not a regular file")
    check_out_folder(p.parent, flag, path)


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
