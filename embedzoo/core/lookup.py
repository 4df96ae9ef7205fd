"""Raw ids → table indices inside the graph, outside Keras's layer tracking.

``IdLookup`` is a ``tf.Module`` holding a ``tf.lookup.StaticHashTable`` built from a
``Vocabulary``: index ``i + 1`` for ``vocabulary.ids[i]``, 0 for anything else. It is not a
Keras layer on purpose: Keras refuses XLA for a model that holds lookup layers, and a zoo
model's train step never looks ids up (pipelines feed indices), so keeping the lookups out of
the layer tree lets ``compile(jit_compile=True)`` work through the public API. As a
``tf.Module`` attribute of the model, TensorFlow's object graph still tracks the hash table, so
SavedModels carry it. The vocabulary itself is saved in the model's config.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from embedzoo.datasets.interactions import Vocabulary


class IdLookup(tf.Module):
    """Maps raw ids (int64 or string tensors) to int32 indices of ``vocabulary`` (0 = unknown).

    An empty vocabulary is supported: every id maps to 0.

    Example:
        >>> from embedzoo.core.lookup import IdLookup
        >>> from embedzoo.datasets import Vocabulary
        >>> lookup = IdLookup(Vocabulary([10, 20, 30]))
        >>> lookup(tf.constant([20, 99, 10], tf.int64)).numpy().tolist()
        [2, 0, 1]
        >>> IdLookup(Vocabulary([]))(tf.constant([5], tf.int64)).numpy().tolist()
        [0]
    """

    def __init__(self, vocabulary: Vocabulary, name: str | None = None):
        super().__init__(name=name)
        self.key_dtype = tf.int64 if vocabulary.dtype == "int64" else tf.string
        self.size = len(vocabulary)
        if self.size:
            keys = (
                vocabulary.ids.astype(np.int64)
                if self.key_dtype == tf.int64
                else vocabulary.ids.astype(str)
            )
            init = tf.lookup.KeyValueTensorInitializer(
                tf.constant(keys, self.key_dtype),
                tf.range(1, self.size + 1, dtype=tf.int64),
            )
            self.table = tf.lookup.StaticHashTable(init, default_value=0)
        else:
            self.table = None

    def __call__(self, raw_ids) -> tf.Tensor:
        raw_ids = tf.convert_to_tensor(raw_ids)
        if raw_ids.dtype != self.key_dtype:
            raw_ids = tf.cast(raw_ids, self.key_dtype)
        if self.table is None:
            return tf.zeros(tf.shape(raw_ids), tf.int32)
        return tf.cast(self.table.lookup(raw_ids), tf.int32)
