"""Files a user names: is it there, and is it a plain file that can be read without blocking?

A FIFO or a device passes ``Path.exists`` and then blocks ``read_bytes`` forever; a
folder raises IsADirectoryError deep inside a reader.  Checking once, at the edge,
turns each into a one-line error that names the file and what it is instead.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path


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


def kind(path: str | os.PathLike) -> str:
    """'' for a regular file, else why it is not one (what a corpus report says)."""
    try:
        regular_file(path, ValueError, "file")
    except ValueError as e:
        return str(e).rsplit(": ", 1)[1]
    return ""
