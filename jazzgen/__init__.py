"""jazzgen: learns jazz improvisation from MIDI and improvises new solos over chord changes.

The public API, one import away (each name is loaded on first use: ``import jazzgen`` costs
no Keras and no NumPy)::

    import jazzgen

    model = jazzgen.load_model()                    # the shipped model, whole: weights, vocabulary, performers
    chart = jazzgen.build_chart(form="blues", key="F", bpm=160)
    takes = jazzgen.make_takes(model, chart, jazzgen.TakeConfig(seconds=30, seed=1, like="ChetBaker"))
    files = jazzgen.write_take(takes[0], "out", formats=("mid", "musicxml"))

Below them, each stage is usable alone: ``improvise`` (a solo over any timeline),
``band_parts`` (the rhythm section), ``read_midi`` / ``write_midi`` (``NoteSequence``
in and out), ``parse_chord``; every error a user can cause is a ``JazzgenError``.
The floors: ``jazzgen.music``, ``data``, ``model``, ``generation``, ``evaluation``, ``commands``.
"""
import importlib
import os

from jazzgen.errors import ChordError, DataError, JazzgenError, MidiError, ModelError, UsageError

# The sampler's matrix-vector products (one note at a time) are far too small to share
# between BLAS threads: one thread samples a 30-s solo about twice as fast as OpenBLAS's
# default pool here (scripts/bench/bench_generate.py), and a server's concurrent requests then
# each keep to their own core.  Set before NumPy loads; a value the user set wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

_API = {   # public name -> module that owns it (imported on first use)
    "Stepper": "jazzgen.generation.sample", "Sampling": "jazzgen.generation.sample",
    "improvise": "jazzgen.generation.sample",
    "Chart": "jazzgen.music.chart", "build_chart": "jazzgen.music.chart",
    "Take": "jazzgen.generation.takes", "TakeConfig": "jazzgen.generation.takes",
    "make_takes": "jazzgen.generation.takes", "write_take": "jazzgen.generation.takes",
    "band_parts": "jazzgen.generation.band",
    "NoteSequence": "jazzgen.music.notes", "read_midi": "jazzgen.music.midi_io", "write_midi": "jazzgen.music.midi_io",
    "Chord": "jazzgen.music.chords", "parse_chord": "jazzgen.music.chords",
    "SHIPPED_MODEL": "jazzgen.paths",
}
__all__ = ["load_model", *_API, "JazzgenError", "MidiError", "ChordError", "ModelError", "DataError", "UsageError"]


def load_model(folder=None):
    """A model folder whole, ready to improvise: its weights run in NumPy with its vocabulary (so
    its performers have their names), its formula memory and note nuance when it has them.
    Default: the shipped model.  A folder that cannot be used is a ``ModelError`` naming the file."""
    from jazzgen.generation.sample import load_stepper
    from jazzgen.paths import SHIPPED_MODEL
    return load_stepper(SHIPPED_MODEL if folder is None else folder)


def __getattr__(name: str):
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jazzgen' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
