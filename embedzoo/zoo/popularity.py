"""``popularity``: the most-popular-items baseline, with the zoo's full contract.

score(u, i) = the number of training interactions of item ``i`` (0 for an unknown item), for
every user alike; ``recommend`` still leaves out each user's own training items, so users get
the most popular items they have not seen. There is nothing to optimise: ``fit`` records the
counts (``remember``) and returns a History with one zero-loss entry per epoch.
``similar_items`` answers with the most popular other items, scored by popularity relative to
the top item, the same answer the other models give for an unknown item.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel
from embedzoo.zoo.registry import register
from embedzoo.zoo.retrieval import exclude_self, popularity_share


@register("popularity")
class Popularity(ZooModel):
    """Recommends the most popular training items (a baseline for ranking reports).

    Args:
        user_vocabulary, item_vocabulary: raw ids (see ``ZooModel``).

    Example:
        >>> from embedzoo import training, zoo
        >>> model = zoo.build("popularity", train)
        >>> history = training.fit(model, train)
        >>> model.recommend([1], k=5)  # ML-100k: recommend([196], k=5)
        (array([[...]]), array([[...]], dtype=float32))
    """

    task = "ranking"
    fit_defaults = {"epochs": 1, "batch_size": 1024, "optimizer": "adam", "learning_rate": 0.0}

    def __init__(self, user_vocabulary, item_vocabulary, **kwargs):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        self.built = True  # nothing but the base's weights

    def training_spec(self) -> TrainingSpec:
        return TrainingSpec(task=self.task, engine=self.train_on, defaults=self.fit_defaults)

    def train_on(self, train, validation=None, epochs=1, seed=0, verbose=0, callbacks=()):
        """Nothing to learn beyond the counts ``fit`` already stored with ``remember``."""
        history = keras.callbacks.History()
        history.set_model(self)
        cbs = keras.callbacks.CallbackList(list(callbacks) + [history], model=self)
        cbs.on_train_begin()
        for epoch in range(int(epochs)):
            cbs.on_epoch_begin(epoch)
            cbs.on_epoch_end(epoch, {"loss": 0.0})
        cbs.on_train_end()
        return history

    def call(self, inputs, training=False):
        item = tf.cast(inputs["item"], "int32")
        return tf.gather(self.item_popularity, item) + 0.0 * tf.cast(inputs["user"], "float32")

    def query_vectors(self, user_index):
        return tf.ones([tf.shape(user_index)[0], 1])

    def candidate_vectors(self):
        return self.item_popularity[:, None]

    def item_vectors(self):
        return self.item_popularity[:, None]

    def similar_item_scores(self, item_index):
        share = popularity_share(self.item_popularity)
        return exclude_self(tf.tile(share[None, :], [tf.shape(item_index)[0], 1]), item_index)
