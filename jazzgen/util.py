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

from jazzgen.errors import FieldError


def os_error(e: OSError) -> str:
    """An operating-system error as one line: the path (or paths) and the cause, e.g.
    'cannot write out/x.wav: No space left on device'."""
    cause = e.strerror or str(e) or type(e).__name__
    names = [str(n) for n in (e.filename, e.filename2) if n is not None]
    where = " -> ".join(n if len(n) <= 200 else n[:100] + "..." + n[-60:] for n in names)
    return f"{where}: {cause}" if where else cause


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call write(binary file) on a temporary file beside `path`, then rename it into place.

    A reader (or a killed run) never sees half a file.  The file gets the usual
    permissions (0666 less the umask), not mkstemp's private 0600.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:200]}.", suffix=".tmp")
    except OSError as e:
        raise OSError(e.errno, f"cannot write there ({e.strerror})", str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        usual_mode(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.filename is None:     # a full disk says no path: name ours
            raise OSError(e.errno, f"cannot write it ({e.strerror or e})", str(path)) from None
        raise


def usual_mode(path: str | os.PathLike) -> None:
    """Give a file made by mkstemp (0600) the usual permissions: 0666 less the umask."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


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


# A FIFO or a device passes Path.exists and then blocks read_bytes forever (or, /dev/zero, fills
# memory); a folder raises IsADirectoryError deep inside a reader: checked once, at the edge, each
# is one line.  A file is opened first (without blocking: O_NONBLOCK) and then checked through its
# descriptor, so it cannot be swapped for a FIFO between the check and the read.

def _why_not_regular(mode: int) -> str:
    return "a folder, not a file" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"


def regular_file(path: str | os.PathLike, error: type[Exception], what: str) -> Path:
    """`path` if it is a regular file (symlinks followed), else error('<what> <path>: why')."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise error(f"{what} {p}: " + ("a broken symbolic link" if p.is_symlink() else "no such file")) from None
    except OSError as e:
        raise error(f"{what} {p}: cannot read it ({e.strerror or e})") from None
    if not stat.S_ISREG(mode):
        raise error(f"{what} {p}: {_why_not_regular(mode)}")
    return p


def open_regular(path: str | os.PathLike, error: type[Exception], what: str, limit: int | None = None):
    """`path` opened for binary reading if it is a regular file of at most `limit` bytes, else
    error('<what> <path>: why'); the check is made on the open file."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{what} {p}: " + ("a broken symbolic link" if p.is_symlink() else "no such file")) from None
    except OSError as e:
        raise error(f"{what} {p}: cannot read it ({e.strerror or e})") from None
    st = os.fstat(fd)
    why = "" if stat.S_ISREG(st.st_mode) else _why_not_regular(st.st_mode)
    if not why and limit is not None and st.st_size > limit:
        why = f"{st.st_size} bytes, more than the {limit} it may have"
    if why:
        os.close(fd)
        raise error(f"{what} {p}: {why}")
    return os.fdopen(fd, "rb")


def read_regular(path: str | os.PathLike, error: type[Exception], what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (see ``open_regular``)."""
    with open_regular(path, error, what, limit) as f:
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise error(f"{what} {path}: cannot read it ({e.strerror or e})") from None
    if len(data) > limit:                     # it grew after the check
        raise error(f"{what} {path}: more than the {limit} bytes it may have")
    return data


MAX_JSON_BYTES = 4 * 2**20     # a config, vocabulary or run state is kilobytes


def read_json(path: str | os.PathLike, error: type[Exception], what: str, limit: int = MAX_JSON_BYTES):
    """A small JSON file (UTF-8, a BOM allowed), parsed; error('<what> <path>: why') for anything else.

    Only the parse is done here: what the values may be is the reader's schema.
    """
    data = read_regular(path, error, what, limit)
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise error(f"{what} {path}: not UTF-8 text") from None
    except RecursionError:
        raise error(f"{what} {path}: nested too deeply") from None
    except ValueError as e:
        raise error(f"{what} {path}: not JSON ({str(e).splitlines()[0][:120]})") from None


MAX_MODEL_BYTES = 512 * 2**20   # a model file, packed or unpacked: 128M float32 weights (the shipped one: 5 MB)
ZIP_RATIO = 100                 # weights hardly compress: a member over 16 MB that shrinks 100-fold is a bomb


def check_zip(path: str | os.PathLike, error: type[Exception], what: str, limit: int = MAX_MODEL_BYTES,
              kind: str = "a zip archive", crc: bool = False) -> None:
    """A zip archive (model.keras, weights.npz) of at most `limit` bytes, packed and unpacked,
    with no member that unpacks over ZIP_RATIO times its size: checked from its directory, before
    anything is unpacked.  (Python's zipfile, which Keras and NumPy read with, unpacks no more
    than a member's recorded size.)  `crc`: then every member unpacked against its checksum (a
    bit flipped inside a member).  error('<what> <path>: why') otherwise."""
    infos = _read_zip(path, error, what, limit, kind, lambda z: z.infolist())
    unpacked = sum(i.file_size for i in infos)
    if len(infos) > 10_000 or unpacked > limit:
        raise error(f"{what} {path}: unpacks to {len(infos)} files, {size_text(unpacked)}, over the "
                    f"{size_text(limit)} a model may have (a zip bomb?)")
    for i in infos:
        if i.file_size > 16 * 2**20 and i.file_size > ZIP_RATIO * max(i.compress_size, 1):
            raise error(f"{what} {path}: member {i.filename[:60]!r} unpacks {i.file_size // max(i.compress_size, 1)}"
                        f"-fold (a zip bomb?)")
    bad = _read_zip(path, error, what, limit, kind, lambda z: z.testzip()) if crc else None
    if bad is not None:
        raise error(f"{what} {path}: corrupt (member {bad} fails its checksum)")


def _read_zip(path, error: type[Exception], what: str, limit: int, kind: str, read):
    """read(the archive), opened as a regular file; a cut or foreign one is error(one line)."""
    import zipfile
    with open_regular(path, error, what, limit) as f:
        try:
            with zipfile.ZipFile(f) as z:
                return read(z)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
            raise error(f"{what} {path}: not {kind} (not a whole zip archive: {str(e)[:100]}); "
                        "truncated or overwritten?") from None


def load_npz(path: str | os.PathLike, error: type[Exception], what: str, limit: int = MAX_MODEL_BYTES) -> dict:
    """Every array of an .npz (plain arrays: no pickle), as a dict; the file opened only if it is a
    regular one, and refused unread past `limit` bytes packed or unpacked (``check_zip``)."""
    import numpy as np
    check_zip(path, error, what, limit)
    try:
        with open_regular(path, error, what, limit) as f, np.load(f, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:  # BadZipFile, EOFError, zlib.error, ValueError (pickled object arrays)...
        if isinstance(e, error):
            raise
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise error(f"{what} {path}: unreadable ({why[:200]})") from None


def file_kind(path: str | os.PathLike) -> str:
    """'' for a regular file, else why it is not one (what a corpus report says)."""
    try:
        regular_file(path, ValueError, "file")
    except ValueError as e:
        return str(e).rsplit(": ", 1)[1]
    return ""


def check_out_folder(path, field: str, _shown=None) -> None:
    """Refuse, before any work, an output folder that is a file or lies under one (a
    FieldError naming `field`, the setting that gave the path)."""
    for q in [Path(path), *Path(path).parents]:
        if q.exists():
            if not q.is_dir():
                raise FieldError(field, f"{_shown or path}: {q} is a file, not a folder")
            if not os.access(q, os.W_OK | os.X_OK):
                raise FieldError(field, f"{_shown or path}: cannot write in {q}")
            return


def check_out_file(path, field: str) -> None:
    """Refuse, before any work, an output file that is a folder or cannot be created."""
    p = Path(path)
    if p.is_dir():
        raise FieldError(field, f"{path}: a folder, not a file")
    if p.exists() and not p.is_file():
        raise FieldError(field, f"{path}: not a regular file")
    check_out_folder(p.parent, field, path)
