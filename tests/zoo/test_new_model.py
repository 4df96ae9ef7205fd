"""The cost of a new model: this file alone. It defines, registers and plugs a tiny model into
the contract suite, which trains, saves, exports and reloads it, touching no other file."""

import keras
import pytest
import tensorflow as tf

from embedzoo import zoo
from embedzoo.training.spec import TrainingSpec
from embedzoo.zoo.base import ZooModel
from tests.zoo.contract import ContractSuite


class TinyDot(ZooModel):
    """score(u, i) = 3 + p_u · q_i: the least a rating model needs to write."""

    fit_defaults = {"epochs": 5, "learning_rate": 0.05}

    def __init__(self, user_vocabulary, item_vocabulary, n_factors: int = 4, **kwargs):
        super().__init__(user_vocabulary, item_vocabulary, **kwargs)
        self.n_factors = int(n_factors)
        init = keras.initializers.RandomNormal(stddev=0.1)
        self.user_factors = self.table("user", "user_factors", self.n_factors, init)
        self.item_factors = self.table("item", "item_factors", self.n_factors, init)
        self.built = True

    def model_config(self) -> dict:
        return {"n_factors": self.n_factors}

    def training_spec(self) -> TrainingSpec:
        return self.rating_spec()

    def call(self, inputs, training=False):
        return 3.0 + tf.reduce_sum(
            self.user_factors(inputs["user"]) * self.item_factors(inputs["item"]), -1
        )

    def query_vectors(self, user_index):
        p = self.user_factors(user_index)
        return tf.concat([p, tf.fill([tf.shape(p)[0], 1], 3.0)], axis=1)

    def candidate_vectors(self):
        q = self.item_factors.embeddings.value
        return tf.concat([q, tf.ones_like(q[:, :1])], axis=1)

    def item_vectors(self):
        return self.item_factors.embeddings.value


@pytest.fixture(scope="module", autouse=True)
def registered():
    zoo.register("tiny_dot")(TinyDot)
    yield
    zoo.registry.unregister("tiny_dot")


class TestTinyDotContract(ContractSuite):
    model_name = "tiny_dot"
    fit_kwargs = {"epochs": 5, "batch_size": 64}
