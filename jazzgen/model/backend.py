"""Which Keras backend trains and scores, and on which device: chosen once, said plainly.

Keras reads ``KERAS_BACKEND`` when it is first imported, so ``choose`` must run
before anything imports keras (the commands call it right after parsing their flags).
Generation never needs a backend: it runs the weights in NumPy.
"""
from __future__ import annotations

import os
import sys

from jazzgen.errors import FieldError, UsageError

BACKENDS = ("tensorflow", "jax", "torch")


def choose(name: str | None) -> None:
    """Use backend `name` (None: KERAS_BACKEND, else Keras' default) once keras is imported.

    Nothing is imported here, so a command can still refuse bad input before paying for
    (and printing) TensorFlow's start-up.
    """
    if name is not None:
        if name not in BACKENDS:
            raise FieldError("backend", f"must be one of {', '.join(BACKENDS)}, not {name!r}")
        loaded = sys.modules.get("keras")
        if loaded is not None and loaded.backend.backend() != name:
            raise FieldError("backend", f"{name}: keras is already running on {loaded.backend.backend()}")
        os.environ["KERAS_BACKEND"] = name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")   # TensorFlow's C++ start-up chatter is no news to a user


def in_use() -> str:
    """The backend keras runs on (imports it)."""
    try:
        import keras
    except ImportError as e:
        raise UsageError(f"the Keras backend {os.environ.get('KERAS_BACKEND', 'tensorflow')} is not installed ({e})"
                         ) from None
    return keras.backend.backend()


def device() -> tuple[str, bool]:
    """(what the backend computes on, in words; whether that is a GPU)."""
    b = in_use()
    try:
        if b == "jax":
            import jax
            d = jax.devices()[0]
            return f"jax {d.device_kind} x{len(jax.devices())}", d.platform == "gpu"
        if b == "torch":
            import torch
            if torch.cuda.is_available():
                return f"torch {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}", True
            return "torch cpu", False
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        return (f"tensorflow GPU x{len(gpus)}", True) if gpus else ("tensorflow cpu", False)
    except Exception as e:   # a broken CUDA install: say so, train on what works
        return f"{b} (device query failed: {str(e).splitlines()[0][:80]})", False


def announce() -> str:
    """Print the backend and device, and plainly when training falls back to the CPU."""
    what, gpu = device()
    line = f"backend {what}" + ("" if gpu else " - no GPU found, training on the CPU "
                                "(README: 'Training on a GPU' for the install)")
    print(line, flush=True)
    return what
