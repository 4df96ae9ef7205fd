"""Layers every zoo model shares: sparse-friendly embedding tables and chunked tower scoring.

``Embedding`` reads rows with a resource gather on the variable itself, never a full read of
the table: a full read followed by a sparse update forces TensorFlow to copy the whole table
(copy-on-write), which is what makes ``keras.layers.Embedding`` steps cost O(table). Its
gradient is a ``tf.IndexedSlices`` that the row-wise optimizers in
:mod:`embedzoo.training.optimizers` apply in O(batch).

A table too big for one device is built with ``shards=k``: ``k`` variables of consecutive row
ranges (TensorFlow's "div" partition: the first ``rows % k`` shards one row longer), which a
``ParameterServerStrategy`` places on different parameter servers. A lookup gathers each id's
row from its own shard (``tf.nn.embedding_lookup`` over the list of shards) and each shard's
gradient is the ``IndexedSlices`` of its rows, so steps stay O(batch) and every update happens
on the server that holds the rows. TensorFlow's own ``ShardedVariable`` (a variable
partitioner) is not used: Keras 3 cannot take its gradients. Code that needs the whole table
(scores against every item, neighbours, export) reads :meth:`Embedding.table`, the shards
concatenated; :meth:`Embedding.assign_table` writes one.
"""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="embedzoo")
class Embedding(keras.layers.Layer):
    """An embedding table whose row 0 (the unknown id) stays zero unless trained.

    Args:
        input_dim: rows, including row 0 for unknown ids.
        output_dim: width of a row.
        embeddings_initializer: initializer for rows 1..input_dim-1.
        zero_unknown_row: start row 0 at zero, so unknown ids contribute nothing.
        side: ``"user"`` or ``"item"`` when the table is indexed by that vocabulary (its rows
            grow with it when a model is fine-tuned), ``None`` otherwise.
        shards: variables the rows are split over (1: one variable, ``embeddings``; k > 1:
            ``embeddings_0`` … ``embeddings_<k-1>``, consecutive row ranges).

    Example:
        >>> import numpy as np
        >>> from embedzoo.core.layers import Embedding
        >>> layer = Embedding(10, 4)
        >>> tuple(layer(np.array([0, 3])).shape)
        (2, 4)
        >>> split = Embedding(10, 4, shards=3)
        >>> [tuple(v.shape) for v in split.table_variables()]
        [(4, 4), (3, 4), (3, 4)]
        >>> split.assign_table(np.arange(40.0).reshape(10, 4))
        >>> split(np.array([0, 9])).numpy()[:, 0].tolist()
        [0.0, 36.0]
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer="random_normal",
        zero_unknown_row: bool = True,
        side: str | None = None,
        shards: int = 1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if side not in (None, "user", "item"):
            raise ValueError(f"side must be 'user', 'item' or None, got {side!r}")
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError(f"shards must be an integer >= 1, got {shards!r}")
        # never more shards than rows (each shard keeps at least one row)
        self.shards = max(1, min(int(shards), int(input_dim)))
        self.side = side
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.zero_unknown_row = zero_unknown_row
        # Rows below this index get no gradient (fine-tuning with frozen known ids). A training
        # setting, not part of the saved config.
        self.frozen_rows = 0

    def build(self, input_shape=None):
        if self.built:
            return
        init = self.embeddings_initializer
        if self.zero_unknown_row:
            base = init

            def init(shape, dtype=None):
                values = base(shape, dtype=dtype)
                return tf.concat([tf.zeros_like(values[:1]), values[1:]], axis=0)

        if self.shards == 1:
            self.embeddings = self.add_weight(
                shape=(self.input_dim, self.output_dim), initializer=init, name="embeddings"
            )
            self._shard_list = [self.embeddings]
        else:
            base = self.embeddings_initializer
            self._shard_list = [
                self.add_weight(
                    shape=(rows, self.output_dim),
                    initializer=init if j == 0 else base,
                    name=f"embeddings_{j}",
                )
                for j, rows in enumerate(self.shard_rows())
            ]
        self.built = True

    def shard_rows(self) -> list[int]:
        """Rows of each shard ("div" partition: the first ``input_dim % shards`` one longer)."""
        full, extra = divmod(self.input_dim, self.shards)
        return [full + (1 if j < extra else 0) for j in range(self.shards)]

    def table_variables(self) -> list:
        """The variables holding the rows, in row order (one unless sharded)."""
        self.build()
        return list(self._shard_list)

    def table(self):
        """The whole ``[input_dim, output_dim]`` table as a tensor (the shards concatenated)."""
        self.build()
        if self.shards == 1:
            return self.embeddings.value
        return tf.concat([v.value for v in self._shard_list], axis=0)

    def assign_table(self, values) -> None:
        """Writes a whole ``[input_dim, output_dim]`` table into the variable(s)."""
        self.build()
        values = tf.convert_to_tensor(values, self._shard_list[0].dtype)
        if self.shards == 1:
            self.embeddings.assign(values)
            return
        for variable, part in zip(
            self._shard_list, tf.split(values, self.shard_rows(), axis=0), strict=True
        ):
            variable.assign(part)

    def call(self, ids):
        ids = tf.cast(ids, "int32")
        # `.value` is the tf.Variable: embedding_lookup becomes a ResourceGather (no full read);
        # over a list of shards it gathers each id from its own shard ("div" partition).
        params = self.embeddings.value if self.shards == 1 else [v.value for v in self._shard_list]
        rows = tf.nn.embedding_lookup(params, ids)
        if self.frozen_rows:
            rows = tf.where((ids < self.frozen_rows)[..., None], tf.stop_gradient(rows), rows)
        return rows

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer),
            zero_unknown_row=self.zero_unknown_row,
            side=self.side,
        )
        if self.shards > 1:
            config["shards"] = self.shards
        return config


#: Elements per user of the largest ``[batch, chunk, width]`` intermediate that
#: ``scores_in_item_chunks`` builds (262,144 floats = 1 MB per user in the batch).
ITEM_CHUNK_ELEMENTS = 1 << 18


def scores_in_item_chunks(block, item_rows, width: int, chunk_elements: int | None = None):
    """``[batch, items]`` scores from ``block(item_rows[a:b]) -> [batch, b - a]``, in chunks.

    Towers that score every (user, item) pair (``embedding_nn``, NCF's MLP) build a ``[batch,
    items, width]`` activation; over a big catalogue that is gigabytes. Items are scored
    ``chunk_elements // width`` at a time (``tf.map_fn``, one chunk alive at once), so memory
    stays ``batch × chunk_elements`` floats; a catalogue that fits in one chunk is one call.

    Args:
        block: scores of the whole batch against a ``[c, ...]`` slice of ``item_rows``.
        item_rows: per-item inputs of ``block`` with a static first dimension (the catalogue).
        width: the widest per-pair activation ``block`` builds.
        chunk_elements: elements per user of that activation (default ``ITEM_CHUNK_ELEMENTS``).
    """
    n = int(item_rows.shape[0])
    budget = ITEM_CHUNK_ELEMENTS if chunk_elements is None else int(chunk_elements)
    chunk = max(1, budget // max(1, int(width)))
    if n <= chunk:
        return block(item_rows)
    pad = -n % chunk
    parts = tf.reshape(
        tf.pad(item_rows, [[0, pad]] + [[0, 0]] * (item_rows.shape.rank - 1)),
        [-1, chunk, *item_rows.shape[1:]],
    )
    out = tf.map_fn(
        block,
        parts,
        fn_output_signature=tf.TensorSpec([None, chunk], item_rows.dtype),
        parallel_iterations=1,
    )
    batch = tf.shape(out)[1]
    return tf.reshape(tf.transpose(out, [1, 0, 2]), [batch, -1])[:, :n]
