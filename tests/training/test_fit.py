import keras
import numpy as np
import pytest

from embedzoo import training, zoo
from embedzoo.errors import ConfigError, DataError
from tests.helpers import make_implicit


def test_validation_metrics_and_epoch_times(tiny):
    train, valid = tiny.subset(np.arange(700)), tiny.subset(np.arange(700, 900))
    model = zoo.build("dot_bias_mf", train, n_factors=4, seed=0)
    history = training.fit(model, train, validation=valid, epochs=3, batch_size=128, verbose=0)
    h = history.history
    assert len(h["val_rmse"]) == 3 and len(h["epoch_seconds"]) == 3
    assert min(h["epoch_seconds"]) > 0
    # Keras's validation RMSE is the RMSE of the same predictions rating_metrics makes
    assert h["val_rmse"][-1] == pytest.approx(
        training.rating_metrics(model, valid)["rmse"], rel=1e-4
    )


def test_rating_metrics_by_hand(tiny):
    model = zoo.build("dot_bias_mf", tiny, n_factors=2, seed=0)
    part = tiny.subset(np.arange(10), keep_vocabularies=True)
    pred = model.score(part.frame.user, part.frame.item)
    err = pred - part.ratings
    m = training.rating_metrics(model, part)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-6)
    assert m["mae"] == pytest.approx(np.mean(np.abs(err)), rel=1e-6)
    assert m["n"] == 10 and m["n_unknown_user"] == 0


def test_unknown_rows_are_scored_and_counted(tiny):
    train = tiny.subset(np.flatnonzero(tiny.frame.user != tiny.frame.user.iloc[0]))
    model = zoo.build("dot_bias_mf", train, n_factors=2, seed=0)
    m = training.rating_metrics(model, tiny)
    assert m["n_unknown_user"] == int((tiny.frame.user == tiny.frame.user.iloc[0]).sum()) > 0
    assert np.isfinite(m["rmse"])


def test_resume_from_checkpoint(tiny, tmp_path):
    ckpt = tmp_path / "ckpt"
    a = zoo.build("dot_bias_mf", tiny, n_factors=4, seed=0)
    training.fit(a, tiny, epochs=2, batch_size=128, checkpoint_dir=ckpt, verbose=0)
    b = zoo.build("dot_bias_mf", tiny, n_factors=4, seed=1)  # different start on purpose
    history = training.fit(b, tiny, epochs=4, batch_size=128, checkpoint_dir=ckpt, verbose=0)
    assert len(history.history["loss"]) == 2  # epochs 3 and 4 only: resumed after epoch 2
    assert history.epoch == [2, 3]


def test_early_stopping_restores_best(tiny):
    train, valid = tiny.subset(np.arange(700)), tiny.subset(np.arange(700, 900))
    model = zoo.build("dot_bias_mf", train, n_factors=16, l2=0.0, bias_l2=0.0, seed=0)
    history = training.fit(
        model,
        train,
        validation=valid,
        epochs=60,
        batch_size=32,
        learning_rate=0.05,
        early_stopping=2,
        verbose=0,
    )
    val = history.history["val_loss"]
    assert len(val) < 60
    best = min(val)
    model.compile(loss="mse")
    assert training.rating_metrics(model, valid)["rmse"] ** 2 == pytest.approx(best, rel=0.05)


def test_nan_guard(tiny):
    model = zoo.build("dot_bias_mf", tiny, n_factors=4, y_range=None, seed=0)
    with pytest.raises(FloatingPointError, match="NaN"):
        training.fit(
            model, tiny, epochs=5, batch_size=64, learning_rate=1e12, optimizer="sgd", verbose=0
        )


def test_tensorboard_logs(tiny, tmp_path):
    model = zoo.build("dot_bias_mf", tiny, n_factors=4, seed=0)
    training.fit(model, tiny, epochs=1, batch_size=256, log_dir=tmp_path / "logs", verbose=0)
    assert any((tmp_path / "logs").rglob("events.out.tfevents.*"))


@pytest.mark.parametrize("name", ["popularity", "item2vec"])
def test_tensorboard_logs_of_models_that_train_themselves(name, tmp_path):
    # They are never compiled (no optimizer); TensorBoard must still log their epochs.
    data = make_implicit()
    model = zoo.build(name, data)
    history = training.fit(model, data, epochs=2, log_dir=tmp_path / "logs", verbose=0)
    assert len(history.history["loss"]) == 2
    assert any((tmp_path / "logs").rglob("events.out.tfevents.*"))


def test_bad_fit_arguments(tiny):
    model = zoo.build("dot_bias_mf", tiny, n_factors=4)
    with pytest.raises(ConfigError):
        training.fit(model, tiny, epochs=0)
    with pytest.raises(ConfigError, match="validation"):
        training.fit(model, tiny, early_stopping=2)
    with pytest.raises(DataError):
        training.fit(model, tiny.subset(np.array([], dtype=int), keep_vocabularies=True))


class Interrupt(keras.callbacks.Callback):
    """Stops a run like a kill (an exception, no clean end) when epoch ``after`` begins, or in
    its middle with ``mid_epoch`` (its checkpoint is then the one of epoch ``after``)."""

    def __init__(self, after, mid_epoch=False):
        super().__init__()
        self.after, self.mid_epoch, self.epoch = after, mid_epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if epoch == self.after and not self.mid_epoch:
            raise KeyboardInterrupt

    def on_train_batch_end(self, batch, logs=None):
        if self.mid_epoch and self.epoch == self.after and batch >= 0:
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("name", "mid_epoch"),
    [
        ("bpr", False),
        ("bpr", True),
        ("gmf", False),
        ("dot_bias_mf", True),
        ("link_embedding", False),
    ],
)
def test_resume_is_exact_weights_optimizer_and_stream(tiny, tmp_path, name, mid_epoch):
    """Interrupted after 2 of 5 epochs (or in the middle of the 3rd), then the same call: the weights of 5
    uninterrupted epochs (optimizer moments, schedule step and the (seed, epoch) stream
    restored) for a triplet, a pointwise-negatives, a rating and a pairs pipeline; a third
    call finds nothing left to do."""
    ckpt = tmp_path / "ckpt"
    kwargs = dict(epochs=5, batch_size=128, seed=3, verbose=0)
    whole = zoo.build(name, tiny, seed=0)
    training.fit(whole, tiny, **kwargs)
    a = zoo.build(name, tiny, seed=0)
    with pytest.raises(KeyboardInterrupt):
        training.fit(a, tiny, checkpoint_dir=ckpt, callbacks=[Interrupt(2, mid_epoch)], **kwargs)
    b = zoo.build(name, tiny, seed=7)  # restored from the checkpoint, not from its own start
    history = training.fit(b, tiny, checkpoint_dir=ckpt, **kwargs)
    assert history.epoch == [2, 3, 4]
    for x, y in zip(b.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_allclose(x, y, atol=1e-6)
    assert int(b.optimizer.iterations) == int(whole.optimizer.iterations)
    before = [w.copy() for w in b.get_weights()]
    again = training.fit(b, tiny, checkpoint_dir=ckpt, **kwargs)
    assert again.epoch == [] and again.history == {}
    for x, y in zip(b.get_weights(), before, strict=True):
        np.testing.assert_array_equal(x, y)
