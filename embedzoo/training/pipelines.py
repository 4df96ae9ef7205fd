"""``tf.data`` pipelines built from index arrays.

Every epoch draws a fresh permutation of row positions in one op, cuts it into batches and
gathers the columns for each batch: rows are shuffled by index, never by re-shuffling a
dataset of dicts, and no Python runs per batch. Columns live in eager tensors captured by the
pipeline (not graph constants), so tens of millions of rows cost one copy of the columns.
Datasets carry the global batch size; under a ``tf.distribute`` strategy Keras splits them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Interactions
from embedzoo.errors import DataError

AUTOTUNE = tf.data.AUTOTUNE
INT32 = np.iinfo(np.int32)


def encode(model, interactions: Interactions) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise user and item indices in ``model``'s vocabularies (0 for unknown ids).

    When the model was built from these interactions' vocabularies, their cached indices are
    reused instead of hashing every row again (seconds at 25M rows).
    """
    if model.users is interactions.users or model.users == interactions.users:
        users = interactions.user_index
    else:
        users = model.users.lookup(interactions.frame["user"].to_numpy())
    if model.items is interactions.items or model.items == interactions.items:
        items = interactions.item_index
    else:
        items = model.items.lookup(interactions.frame["item"].to_numpy())
    return users, items


def traced(fn):
    """``fn`` for ``Dataset.map`` / ``flat_map``, traced as written, without AutoGraph.

    The pipelines' functions hold no tensor-dependent Python control flow, so AutoGraph's
    source transformation adds nothing; it cost about 2 s of set-up in every fit of ``bpr``
    on ML-100k (the AST passes over the sampler, under cProfile), about a fifth of the fit.
    """
    return tf.autograph.experimental.do_not_convert(fn)


class Rows:
    """Columns of equal length packed as the rows of one ``int32`` matrix (float32 columns
    bit-cast), so a batch's shuffled positions are read with one gather, not one per column.

    At 25M rows each column gather is a cache and TLB miss per position: three of them took
    about 3 ms of every 8,192-row batch of ``dot_bias_mf``'s pipeline, ~9 s of CPU per epoch on
    the 2 cores the training step needs (TensorFlow profiler, ``docs/benchmarks.md``).

    Example:
        >>> import numpy as np
        >>> from embedzoo.training.pipelines import Rows
        >>> rows = Rows(user=np.array([3, 4, 5]), y=np.array([1.5, 2.0, 4.5], np.float32))
        >>> out = rows.gather([2, 0])
        >>> out["user"].numpy().tolist(), out["y"].numpy().tolist()
        ([5, 3], [4.5, 1.5])
    """

    def __init__(self, **columns: np.ndarray):
        n = len(next(iter(columns.values())))
        packed = np.empty((n, len(columns)), np.int32)
        self.floats = {}
        for j, (name, values) in enumerate(columns.items()):
            values = np.asarray(values)
            self.floats[name] = values.dtype.kind == "f"
            if self.floats[name]:
                packed[:, j] = values.astype(np.float32, copy=False).view(np.int32)
            else:
                if len(values) and (values.min() < INT32.min or values.max() > INT32.max):
                    raise ValueError(f"column {name!r} does not fit in int32")
                packed[:, j] = values
        self.names = list(columns)
        self.table = tf.constant(packed)

    def gather(self, positions) -> dict:
        """``{name: column values at positions}``, each ``[len(positions)]``."""
        rows = tf.gather(self.table, positions)
        return {
            name: tf.bitcast(rows[:, j], tf.float32) if self.floats[name] else rows[:, j]
            for j, name in enumerate(self.names)
        }


#: Offset of the per-batch sampling seeds from the shuffle seed, so negatives do not follow
#: the permutation.
SAMPLING_SEED_OFFSET = 1_000_003


@dataclasses.dataclass(frozen=True)
class WorkerBatches:
    """The ``shard`` of a parameter-server worker's pipeline: of the global batches ``0, 1, 2,
    …`` of the ``(seed, epoch)`` stream, worker ``w`` of ``workers`` reads ``w, w + workers,
    …`` and gathers only their rows.

    The dataset function is traced once for every worker
    (``ClusterCoordinator.create_per_worker_dataset``), so the worker's index is read in the
    graph (``tf.distribute.coordinator.experimental_get_current_worker_index``), not in Python.
    """

    workers: int


def index_batches(
    num_rows: int,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    epochs: int = 1,
    with_seeds: bool = False,
    first_epoch: int = 0,
    shard: tuple | None = None,
) -> tf.data.Dataset:
    """Batches of row positions (int32 vectors) for epochs ``first_epoch`` to ``epochs - 1``.

    Epoch ``e`` is the permutation ``stateless_shuffle(seed=[e, seed])``: a function of
    ``(seed, epoch)`` alone, so every iterator over the dataset replays the same stream (Keras
    opens more than one under a ``tf.distribute`` strategy) and a 2-replica run sees exactly
    the batches of a 1-replica run. Unshuffled, every epoch is the rows in order.

    Args:
        num_rows: rows to cut into batches.
        batch_size: global batch size (the last batch of an epoch may be smaller).
        shuffle: a new permutation every epoch.
        seed: seed of the permutations (and of the batch seeds).
        epochs: epochs the dataset holds (its cardinality is ``epochs × batches``).
        with_seeds: also yield a stateless seed ``[2]`` per batch for in-graph sampling,
            ``[seed + SAMPLING_SEED_OFFSET, e × batches + b]`` (``e`` = 0 when unshuffled, so
            an unshuffled pass, e.g. validation, replays the same negatives).
        first_epoch: the first epoch the dataset holds (a resumed run starts where the
            interrupted one stopped, with the same stream).
        shard: ``(replicas, count)`` for a distributed input pipeline that feeds replicas
            ``replicas`` (a sequence of indices) of ``count``: each global batch is cut into
            ``count`` near-equal contiguous slices and this pipeline yields only its own, one
            element per replica in order, so a worker gathers only its rows. A slice's seed
            is ``[seed + SAMPLING_SEED_OFFSET, (e × batches + b) × count + replica]``: one
            stream per replica, and with ``count = 1`` the unsharded stream. A
            :class:`WorkerBatches` instead keeps every ``workers``-th global batch (whole, with
            its seed) on each parameter-server worker, epochs without end (a worker that ran
            ahead reads later epochs' batches).

    Example:
        >>> from embedzoo.training.pipelines import index_batches
        >>> [b.numpy().tolist() for b in index_batches(5, 2, shuffle=False)]
        [[0, 1], [2, 3], [4]]
        >>> [s.numpy().tolist() for _, s in index_batches(3, 2, shuffle=False, with_seeds=True)]
        [[1000003, 0], [1000003, 1]]
        >>> [b.numpy().tolist() for b in index_batches(5, 4, shuffle=False, shard=([0, 1], 2))]
        [[0, 1], [2, 3], [], [4]]
    """
    if num_rows <= 0:
        raise DataError("cannot build a pipeline over zero rows")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if not 0 <= first_epoch < epochs:
        raise ValueError(f"need 0 <= first_epoch < epochs, got {first_epoch} and {epochs}")
    by_worker = shard if isinstance(shard, WorkerBatches) else None
    if by_worker is not None:
        if by_worker.workers < 1:
            raise ValueError(f"WorkerBatches needs at least one worker, got {by_worker.workers}")
        shard = None
    replicas, count = shard if shard is not None else ((0,), 1)
    replicas = [int(r) for r in replicas]
    if count < 1 or not replicas or any(not 0 <= r < count for r in replicas):
        raise ValueError(f"shard must be (replica indices in [0, count), count), got {shard}")
    full, rest = divmod(num_rows, batch_size)
    per_epoch = full + (1 if rest else 0)

    def split(positions):
        parts = []
        if full:
            head = tf.reshape(positions[: full * batch_size], [full, batch_size])
            parts.append(tf.data.Dataset.from_tensor_slices(head))
        if rest:
            parts.append(tf.data.Dataset.from_tensors(positions[full * batch_size :]))
        out = parts[0]
        for part in parts[1:]:
            out = out.concatenate(part)
        return out

    def one_epoch(e):
        rows = tf.range(num_rows, dtype=tf.int32)
        if shuffle:
            rows = tf.random.experimental.stateless_shuffle(
                rows, seed=tf.stack([e, tf.constant(seed, tf.int64)])
            )
        batches = split(rows)
        if not with_seeds:
            return batches
        first = (e if shuffle else tf.constant(0, tf.int64)) * per_epoch
        seeds = tf.data.Dataset.range(per_epoch).map(
            traced(
                lambda b: tf.stack([tf.constant(seed + SAMPLING_SEED_OFFSET, tf.int64), first + b])
            )
        )
        return tf.data.Dataset.zip((batches, seeds))

    def slices(positions, s=None):
        # this pipeline's replicas' slices of one global batch
        n = tf.size(positions)
        parts = []
        for r in replicas:
            part = positions[n * r // count : n * (r + 1) // count]
            if s is None:
                parts.append(tf.data.Dataset.from_tensors(part))
            else:
                replica_seed = tf.stack([s[0], s[1] * count + r])
                parts.append(tf.data.Dataset.from_tensors((part, replica_seed)))
        out = parts[0]
        for part in parts[1:]:
            out = out.concatenate(part)
        return out

    if by_worker is not None:
        # Steps go to whichever worker is free, so a worker may run past its share of the
        # epochs: its stream goes on into later epochs' batches (never empty, never a replay).
        index = tf.distribute.coordinator.experimental_get_current_worker_index()
        ds = tf.data.Dataset.range(first_epoch, 2**62).flat_map(traced(one_epoch))
        return ds.shard(by_worker.workers, tf.cast(index, tf.int64))
    ds = tf.data.Dataset.range(first_epoch, epochs).flat_map(traced(one_epoch))
    if shard is not None:
        ds = ds.flat_map(traced(slices))
    # A known length lets Keras size the progress bar and steps_per_execution exactly.
    total = (epochs - first_epoch) * per_epoch * len(replicas)
    return ds.apply(tf.data.experimental.assert_cardinality(total))


def pointwise(
    model,
    interactions: Interactions,
    batch_size: int = 1024,
    shuffle: bool = True,
    seed: int = 0,
    target: str = "rating",
    known_only: bool = False,
    epochs: int = 1,
    first_epoch: int = 0,
    shard: tuple | None = None,
) -> tf.data.Dataset:
    """``({"user": u, "item": i}, y)`` batches for rating (or any per-row target) models.

    Args:
        model: a zoo model (its vocabularies encode the raw ids).
        interactions: rows to serve; needs the ``target`` column.
        batch_size: global batch size.
        shuffle: new permutation every epoch.
        seed: seed of the permutation sequence.
        target: frame column used as the label.
        epochs, first_epoch, shard: the epochs the dataset holds and this pipeline's
            replicas (see :func:`index_batches`).
        known_only: leave out rows whose user or item the model does not know (training: the
            unknown row 0 is never trained).
    """
    where = interactions.source or "interactions"
    if target not in interactions.frame.columns:
        raise DataError(f"{where}: no {target!r} column to train on")
    users, items = encode(model, interactions)
    y = interactions.frame[target].to_numpy(np.float32)
    if known_only:
        known = (users > 0) & (items > 0)
        if not known.any():
            raise DataError(
                f"{where}: no row has a user and an item that {model.name} knows; nothing to train on"
            )
        if not known.all():  # no copies of 25M-row columns when every row is known
            users, items, y = users[known], items[known], y[known]
    columns = Rows(user=users, item=items, y=y)

    def gather(positions):
        got = columns.gather(positions)
        return {"user": got["user"], "item": got["item"]}, got["y"]

    ds = index_batches(
        len(users), batch_size, shuffle, seed, epochs, first_epoch=first_epoch, shard=shard
    )
    return ds.map(traced(gather), num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(
        AUTOTUNE
    )


def known_pointwise(model, interactions: Interactions, **kwargs) -> tf.data.Dataset:
    """``pointwise`` over the rows whose ids the model knows (rating models' training pipeline)."""
    return pointwise(model, interactions, known_only=True, **kwargs)


def training_dataset(
    model,
    interactions: Interactions,
    batch_size: int,
    seed: int = 0,
    epochs: int = 1,
    first_epoch: int = 0,
    shard: tuple | None = None,
):
    """The training pipeline of the model's spec over epochs ``first_epoch`` to ``epochs - 1``,
    and its steps (global batches) per epoch.

    One dataset holds every epoch (epoch ``e`` shuffled and sampled from ``(seed, e)``), so
    Keras keeps one iterator for the whole ``fit`` and the stream does not depend on how many
    iterators are opened. ``first_epoch`` and ``shard`` are passed to the pipeline only when
    set, so a model's own pipeline needs them only for resumed or multi-worker runs.

    Returns:
        ``(dataset, steps_per_epoch)`` (``None`` steps for a :class:`WorkerBatches` shard).
    """
    spec = model.training_spec()
    extra = {}
    if first_epoch:
        extra["first_epoch"] = int(first_epoch)
    if shard is not None:
        extra["shard"] = shard
    ds = spec.pipeline(
        model, interactions, batch_size=batch_size, shuffle=True, seed=seed, epochs=epochs, **extra
    )
    if isinstance(shard, WorkerBatches):  # a worker's share has no fixed length
        return ds.repeat(), None
    per_global_batch = len(shard[0]) if shard is not None else 1
    steps = int(ds.cardinality()) // (epochs - first_epoch) // per_global_batch
    # Repeated so Keras's look-ahead past the last step finds a batch instead of warning that
    # the input ran out; only the first ``epochs × steps`` batches are trained on.
    return ds.repeat(), steps
