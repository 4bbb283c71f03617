"""Data-parallel training with Keras' own `keras.distribution`: over the local devices, and over processes.

One process, several devices (``--distribute``): under JAX, ``keras.distribution.DataParallel``
over every local device (each batch split across them, the weights replicated, XLA averaging
the gradients); under TensorFlow, a ``MirroredStrategy``.

Several processes, on one machine or many (``--distribute`` with ``--num-processes``,
``--process-id`` and ``--coordinator``, or Keras' ``KERAS_DISTRIBUTION_*`` variables): JAX only.
``keras.distribution.initialize`` joins them (JAX's distributed service; gloo collectives on
CPUs), ``DataParallel`` spans every process's devices, and each process feeds only its own rows
of every global batch, so that N processes take exactly the steps one process would.  Process 0
alone scores the held-out songs (the others receive its figures, so every process takes the same
decisions: step size, early stop) and alone writes the run folder.

A batch must split evenly over the devices: ``--batch-size`` must be a multiple of their
number (the epoch's last batch is padded to full size, see ``loop.KeyedWindows``).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass

import numpy as np

from jazzgen.errors import DataError, FieldError, UsageError

# Keras' own variables for a process's place in a run (read by keras.distribution.initialize)
ENV = {"coordinator": "KERAS_DISTRIBUTION_JOB_ADDRESSES", "num_processes": "KERAS_DISTRIBUTION_NUM_PROCESSES",
       "process_id": "KERAS_DISTRIBUTION_PROCESS_ID"}


@dataclass(frozen=True)
class Cluster:
    """Where this process stands among the processes of one run; one process by default."""
    coordinator: str | None = None    # host:port of process 0 (or every process's, comma-separated)
    num_processes: int = 1
    process_id: int = 0

    @property
    def multi(self) -> bool:
        return self.num_processes > 1


ALONE = Cluster()    # a run of one process


def cluster_from(distribute: bool, coordinator=None, num_processes=None, process_id=None,
                 environ=os.environ) -> Cluster:
    """The Cluster from the arguments, else Keras' KERAS_DISTRIBUTION_* variables; an error naming
    the field (FieldError) or the variable its value came from."""
    given = {"coordinator": coordinator, "num_processes": num_processes, "process_id": process_id}
    env = {k for k, v in given.items() if v is None and environ.get(ENV[k])}
    given.update({k: environ[ENV[k]] for k in env})

    def bad(k: str, problem: str) -> UsageError:          # problem: what follows the value (": ...")
        return UsageError(f"{ENV[k]}={given[k]}{problem}") if k in env else FieldError(k, f"{given[k]}{problem}")

    def number(k: str) -> int:
        try:
            return int(given[k])
        except (TypeError, ValueError):
            raise bad(k, ": not an integer") from None
    n = 1 if given["num_processes"] is None else number("num_processes")
    if n < 1:
        raise bad("num_processes", ": at least 1 process")
    if n == 1:
        return ALONE
    if not distribute:
        raise bad("num_processes", ": several processes train together only with `distribute`")
    missing = [f"`{k}` (or {ENV[k]})" for k in ("coordinator", "process_id") if given[k] is None]
    if missing:
        raise bad("num_processes", f" needs {' and '.join(missing)}")
    i = number("process_id")
    if not 0 <= i < n:
        raise bad("process_id", f": the process id must be in 0..{n - 1}")
    host, _, port = str(given["coordinator"]).split(",")[0].rpartition(":")
    if not host or not port.isdigit():
        raise bad("coordinator", ": the coordinator must be HOST:PORT (process 0's)")
    return Cluster(str(given["coordinator"]), n, i)


def join(cluster: Cluster) -> None:
    """keras.distribution.initialize for a run of several processes (before JAX touches a device)."""
    import keras
    if not cluster.multi:
        return
    if keras.backend.backend() != "jax":
        raise FieldError("num_processes", f"{cluster.num_processes}: several processes train under the jax backend "
                                          f"only, not {keras.backend.backend()} (KERAS_BACKEND=jax or `backend` jax)")
    import jax
    if jax.distributed.is_initialized():
        return
    try:
        keras.distribution.initialize(cluster.coordinator, cluster.num_processes, cluster.process_id)
    except Exception as e:   # a coordinator that never answers, a port in use, a duplicate process id
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UsageError(f"process {cluster.process_id} of {cluster.num_processes} cannot join the run at "
                         f"{cluster.coordinator}: {msg[:200]}") from None


# ---------------------------------------------------------------------------- the run's side

class Parallel:
    """How this process takes part in training: its devices, its rows of each batch, whether it writes.

    ``Parallel()`` is a plain one-device run, where every method does nothing.
    """

    def __init__(self, devices: int = 1, processes: int = 1, index: int = 0, strategy=None, jax_mesh=False):
        self.devices, self.processes, self.index = devices, processes, index
        self.strategy, self.jax_mesh = strategy, jax_mesh
        self._local_model = None

    @property
    def writer(self) -> bool:
        """Process 0 writes the run folder and prints the epochs; the others only compute."""
        return self.index == 0

    def scope(self):
        """The context to build, load and fit the model in (the distribution is undone after it)."""
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def shard(self, x: dict, y: dict) -> tuple[dict, dict]:
        """This process's rows of a global batch."""
        if self.processes == 1:
            return x, y
        return tuple({k: local_rows(v, self.processes, self.index) for k, v in d.items()} for d in (x, y))

    def score(self, model, arrays: dict, score) -> dict:
        """``score(model, arrays)`` on a local copy of the weights (process 0), the same figures everywhere.

        Scoring outside the distribution needs no even split of the songs, and no process but
        0 needs to hold a whole output.
        """
        if not self.jax_mesh:
            return score(model, arrays)
        val = None
        if self.writer:
            with undistributed():
                import keras
                if self._local_model is None:
                    self._local_model = keras.models.clone_model(model)
                self._local_model.set_weights(model.get_weights())
                val = score(self._local_model, arrays)
        return self.broadcast(val)

    def broadcast(self, obj):
        """Process 0's JSON-able `obj` on every process (exact: sent as bytes)."""
        if self.processes == 1:
            return obj
        from jax.experimental import multihost_utils
        size = 1 << 14
        raw = json.dumps(obj).encode() if self.writer else b""
        if len(raw) > size:
            raise ValueError(f"broadcast: {len(raw)} bytes, more than {size}")
        buf = np.zeros(size, np.int32)
        buf[:len(raw)] = np.frombuffer(raw, np.uint8)
        got = np.asarray(multihost_utils.broadcast_one_to_all(buf, is_source=self.writer))
        return json.loads(bytes(got[got != 0].astype(np.uint8)).decode())

    def check_same_data(self, what: str, *parts) -> None:
        """DataError on every process unless all processes read the same data (vocabulary, windows)."""
        if self.processes == 1:
            return
        from jax.experimental import multihost_utils
        h = hashlib.sha256()
        for p in parts:
            h.update(p if isinstance(p, bytes) else np.ascontiguousarray(p).tobytes())
        mine = np.frombuffer(h.digest()[:16], np.int32)
        every = np.asarray(multihost_utils.process_allgather(mine))
        if not (every == every[0]).all():
            odd = [i for i in range(len(every)) if not (every[i] == every[0]).all()]
            raise DataError(f"process {odd[0]} reads other {what} than process 0: every process needs the same "
                            f"`data` (and reading settings)")


def local_rows(a: np.ndarray, processes: int, index: int) -> np.ndarray:
    """Process `index`'s rows of global batch `a`: in process order, the processes' rows are the batch."""
    per = len(a) // processes
    return a[index * per:(index + 1) * per]


@contextlib.contextmanager
def undistributed():
    """Compute outside the run's distribution (on this process's first device) inside this block."""
    import keras
    dist = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(dist)


def start_parallel(distribute: bool, batch_size: int, cluster: Cluster = ALONE) -> Parallel:
    """Set up the run's distribution (joining the other processes if not yet done); its Parallel."""
    import keras
    if not distribute:
        if cluster.multi:           # every process would train alone and write the run folder
            raise FieldError("num_processes", f"{cluster.num_processes}: several processes train together only "
                                              f"with `distribute`")
        return Parallel()
    join(cluster)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
        print(f"distribute: MirroredStrategy over {strategy.num_replicas_in_sync} devices")
        return Parallel(strategy.num_replicas_in_sync, strategy=strategy)
    if backend == "jax":
        import jax
        n, p = len(keras.distribution.list_devices()), jax.process_count()
        if batch_size % n:
            raise FieldError("batch_size", f"{batch_size} does not split over {n} devices: give a multiple of {n}")
        print(f"distribute: keras DataParallel over {n} devices" + (
            f" in {p} processes (this is process {jax.process_index()})" if p > 1 else ""), flush=True)
        return Parallel(n, p, jax.process_index(), keras.distribution.DataParallel(auto_shard_dataset=False),
                        jax_mesh=True)  # each process feeds its own rows (shard)
    raise FieldError("distribute", f"needs the tensorflow or jax backend, not {backend}")
