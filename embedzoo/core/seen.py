"""Each user's training items, kept with the model to mask them out of recommendations."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from embedzoo.datasets.arrays import sorted_unique


@keras.saving.register_keras_serializable(package="embedzoo")
class SeenItems(keras.layers.Layer):
    """Each user's training items (CSR arrays), for masking them out of recommendations.

    The arrays travel in ``.keras`` files through ``save_own_variables`` (their length depends
    on the data, so they are not weights) and into SavedModels as constants of the graph.

    Example:
        >>> import numpy as np
        >>> from embedzoo.core.seen import SeenItems
        >>> seen = SeenItems()
        >>> seen.set(np.array([1, 1, 2]), np.array([3, 4, 3]), num_users=3)
        >>> seen.items_of(1).tolist()
        [3, 4]
        >>> seen.pairs()[0].tolist(), seen.pairs()[1].tolist()
        ([1, 1, 2], [3, 4, 3])
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.indptr = np.zeros(1, dtype=np.int64)
        self.indices = np.zeros(0, dtype=np.int32)
        self._tensors = None
        self.built = True

    def set(self, user_index: np.ndarray, item_index: np.ndarray, num_users: int) -> None:
        """Stores the distinct (user, item) index pairs; users are 0..num_users-1 indices."""
        pairs = np.asarray(user_index, dtype=np.int64) * (1 << 31)
        pairs += np.asarray(item_index, dtype=np.int64)
        pairs = sorted_unique(pairs, in_place=True)
        users, items = pairs >> 31, pairs & ((1 << 31) - 1)
        counts = np.bincount(users, minlength=num_users)
        self.indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.indices = items.astype(np.int32)
        self._tensors = None

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """The stored ``(user_index, item_index)`` pairs, user-major."""
        users = np.repeat(np.arange(self.num_users, dtype=np.int64), np.diff(self.indptr))
        return users, self.indices.astype(np.int64)

    def grown(self, num_users: int) -> None:
        """Keeps the pairs for a user vocabulary grown to ``num_users`` (new users: none)."""
        extra = num_users - self.num_users
        if extra < 0:
            raise ValueError(f"cannot shrink seen items from {self.num_users} to {num_users} users")
        self.indptr = np.concatenate([self.indptr, np.full(extra, self.indptr[-1], np.int64)])
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
