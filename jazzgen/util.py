"""Small helpers shared by several stages: whole-file writes, checked file paths, fast tuple
building, sizes.

They belong to no stage in particular, so they live here once and every module
imports them from here.
"""
from __future__ import annotations

import gc
import json
import os
import stat
import tempfile
from contextlib import contextmanager
from itertools import repeat
from pathlib import Path

from jazzgen.errors import UsageError


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call write(binary file) on a temporary file beside `path`, then rename it into place.

    A reader (or a killed run) never sees half a file.  The file gets the usual
    permissions (0666 less the umask), not mkstemp's private 0600.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_json(path: str | os.PathLike, obj) -> None:
    """`obj` as indented JSON, written whole or not at all."""
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=1).encode()))


@contextmanager
def no_gc():
    """Pause automatic garbage collection while building many small acyclic objects."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def named_tuples(cls, *columns) -> list:
    """[cls(*row) for row in zip(*columns)] without a Python call per row.

    tuple.__new__ through map runs in C: the WJazzD tempo map alone is 115k tuples,
    which is what makes reading (and loading the cache) fast or slow.  The garbage
    collector is paused meanwhile: its passes over a growing heap of fresh tuples
    (which cannot form cycles) cost more than building them.
    """
    with no_gc():
        return list(map(tuple.__new__, repeat(cls), zip(*columns)))


def size_text(n: int) -> str:
    """A byte count for a message: '16 MB' from a mebibyte up, else '123 bytes'."""
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n} bytes"


# A FIFO or a device passes Path.exists and then blocks read_bytes forever; a folder raises
# IsADirectoryError deep inside a reader: checked once, at the edge, each is one line.

def regular_file(path: str | os.PathLike, error: type[Exception], what: str) -> Path:
    """`path` if it is a regular file (symlinks followed), else error('<what> <path>: why')."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise error(f"{what} {p}: " + ("a broken symbolic link" if p.is_symlink() else "no such file")) from None
    except OSError as e:
        raise error(f"{what} {p}: cannot read it ({e.strerror or e})") from None
    if stat.S_ISDIR(mode):
        raise error(f"{what} {p}: a folder, not a file")
    if not stat.S_ISREG(mode):
        raise error(f"{what} {p}: not a regular file (a FIFO, socket or device)")
    return p


def file_kind(path: str | os.PathLike) -> str:
    """'' for a regular file, else why it is not one (what a corpus report says)."""
    try:
        regular_file(path, ValueError, "file")
    except ValueError as e:
        return str(e).rsplit(": ", 1)[1]
    return ""


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
