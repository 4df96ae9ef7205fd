"""Layers every zoo model shares: sparse-friendly embeddings, id lookups, seen-item masks.

``Embedding`` reads rows with a resource gather on the variable itself, never a full read of
the table: a full read followed by a sparse update forces TensorFlow to copy the whole table
(copy-on-write), which is what makes ``keras.layers.Embedding`` steps cost O(table). Its
gradient is a ``tf.IndexedSlices`` that the row-wise optimizers in
:mod:`embedzoo.training.optimizers` apply in O(batch).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Vocabulary


@keras.saving.register_keras_serializable(package="embedzoo")
class Embedding(keras.layers.Layer):
    """An embedding table whose row 0 (the unknown id) stays zero unless trained.

    Args:
        input_dim: rows, including row 0 for unknown ids.
        output_dim: width of a row.
        embeddings_initializer: initializer for rows 1..input_dim-1.
        zero_unknown_row: start row 0 at zero, so unknown ids contribute nothing.

    Example:
        >>> from embedzoo.zoo.layers import Embedding
        >>> layer = Embedding(10, 4)
        >>> tuple(layer(np.array([0, 3])).shape)
        (2, 4)
    """

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer="random_normal",
        zero_unknown_row: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
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

        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=init, name="embeddings"
        )
        self.built = True

    def call(self, ids):
        ids = tf.cast(ids, "int32")
        # `.value` is the tf.Variable: embedding_lookup becomes a ResourceGather (no full read).
        rows = tf.nn.embedding_lookup(self.embeddings.value, ids)
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
        )
        return config


def id_lookup(vocabulary: Vocabulary, name: str) -> keras.layers.Layer:
    """A Keras lookup layer mapping raw ids to indices (0 = unknown), as ``Vocabulary`` does.

    Uses ``IntegerLookup`` for integer ids and ``StringLookup`` for strings: in-graph hash
    tables that TF Serving runs, with the vocabulary serialised by Keras.
    """
    common = dict(num_oov_indices=1, mask_token=None, name=name)
    if vocabulary.dtype == "int64":
        ids = vocabulary.ids
        oov = int(ids.min()) - 1 if len(ids) and ids.min() <= -1 else -1
        return keras.layers.IntegerLookup(
            vocabulary=ids.tolist() or None, vocabulary_dtype="int64", oov_token=oov, **common
        )
    return keras.layers.StringLookup(vocabulary=vocabulary.to_list() or None, **common)


@keras.saving.register_keras_serializable(package="embedzoo")
class SeenItems(keras.layers.Layer):
    """Each user's training items (CSR arrays), for masking them out of recommendations.

    The arrays travel in ``.keras`` files through ``save_own_variables`` (their length depends
    on the data, so they are not weights) and into SavedModels as constants of the graph.

    Example:
        >>> from embedzoo.zoo.layers import SeenItems
        >>> seen = SeenItems()
        >>> seen.set(np.array([1, 1, 2]), np.array([3, 4, 3]), num_users=3)
        >>> seen.items_of(1).tolist()
        [3, 4]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.indptr = np.zeros(1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)
        self._tensors = None
        self.built = True

    def set(self, user_index: np.ndarray, item_index: np.ndarray, num_users: int) -> None:
        """Stores the distinct (user, item) index pairs; users are 0..num_users-1 indices."""
        user_index = np.asarray(user_index, dtype=np.int64)
        item_index = np.asarray(item_index, dtype=np.int64)
        pairs = user_index * (1 << 31) + item_index
        # An in-place sort and a neighbour comparison: numpy 2's np.unique hashes first and
        # then sorts anyway, ~10x slower at 25M keys (23 s against 2.5 s).
        pairs.sort()
        if len(pairs):
            keep = np.empty(len(pairs), dtype=bool)
            keep[0] = True
            np.not_equal(pairs[1:], pairs[:-1], out=keep[1:])
            pairs = pairs[keep]
        users, items = pairs >> 31, pairs & ((1 << 31) - 1)
        counts = np.bincount(users, minlength=num_users)
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.indices = items.astype(np.int32)
        self._tensors = None

    @property
    def num_users(self) -> int:
        return len(self.indptr) - 1

    def items_of(self, user: int) -> np.ndarray:
        if user < 0 or user >= self.num_users:
            return np.zeros(0, dtype=np.int32)
        return self.indices[self.indptr[user] : self.indptr[user + 1]]

    def _as_tensors(self):
        if self._tensors is None or not tf.executing_eagerly():
            self._tensors = (tf.constant(self.indptr), tf.constant(self.indices))
        return self._tensors

    def mask(self, scores, user_index):
        """Sets ``scores[b, item]`` to -inf for every training item of user ``user_index[b]``."""
        indptr, indices = self._as_tensors()
        user_index = tf.cast(user_index, tf.int64)
        last = tf.shape(indptr, tf.int64)[0] - 1
        valid = tf.logical_and(user_index >= 0, user_index < last)
        safe = tf.where(valid, user_index, tf.zeros_like(user_index))
        starts = tf.gather(indptr, safe)
        ends = tf.gather(indptr, tf.minimum(safe + 1, last))  # no seen items recorded: indptr=[0]
        lengths = tf.where(valid, ends - starts, tf.zeros_like(starts))
        positions = tf.ragged.range(starts, starts + lengths)
        items = tf.gather(indices, positions.flat_values)
        rows = tf.cast(positions.value_rowids(), tf.int32)
        where = tf.stack([rows, tf.cast(items, tf.int32)], axis=1)
        minus_inf = tf.fill(tf.shape(items), tf.constant(-np.inf, scores.dtype))
        return tf.tensor_scatter_nd_update(scores, where, minus_inf)

    def save_own_variables(self, store):
        store["indptr"] = self.indptr
        store["indices"] = self.indices

    def load_own_variables(self, store):
        self.indptr = np.asarray(store["indptr"], dtype=np.int64)
        self.indices = np.asarray(store["indices"], dtype=np.int32)
        self._tensors = None


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
        block, parts, fn_output_signature=tf.TensorSpec([None, chunk], item_rows.dtype), parallel_iterations=1
    )
    batch = tf.shape(out)[1]
    return tf.reshape(tf.transpose(out, [1, 0, 2]), [batch, -1])[:, :n]
