"""Export for TF Serving: layout, versions, refusals, warm-up records, saved_model_cli."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from embedzoo import training, zoo
from embedzoo.errors import ConfigError
from embedzoo.zoo.export import WARMUP_FILE


@pytest.fixture(scope="module")
def model(tiny):
    m = zoo.build("dot_bias_mf", tiny, n_factors=4, seed=0)
    training.fit(m, tiny, epochs=2, batch_size=128, verbose=0)
    return m


def test_versions_are_integers_next_free_and_never_overwritten(model, tmp_path):
    assert zoo.export(model, tmp_path, "m") == tmp_path / "m" / "1"
    assert zoo.export(model, tmp_path, "m", version=7) == tmp_path / "m" / "7"
    assert zoo.export(model, tmp_path, "m") == tmp_path / "m" / "8"
    with pytest.raises(ConfigError, match="already exists"):
        zoo.export(model, tmp_path, "m", version=7)
    assert sorted(os.listdir(tmp_path / "m")) == ["1", "7", "8"]  # no temporary leftovers


def test_refuses_bad_targets(model, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        zoo.export(model, tmp_path / "file", "m")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "m").write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        zoo.export(model, tmp_path / "base", "m")
    with pytest.raises(ConfigError, match="invalid export name"):
        zoo.export(model, tmp_path, "../escape")
    if os.geteuid() != 0:  # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(ConfigError):
            zoo.export(model, ro, "m")


def test_failed_write_leaves_nothing(model, tmp_path, monkeypatch):
    import importlib

    export_module = importlib.import_module("embedzoo.zoo.export")  # zoo.export is the function

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "write_warmup", boom)
    with pytest.raises(RuntimeError):
        zoo.export(model, tmp_path, "m")
    assert os.listdir(tmp_path / "m") == []


def test_warmup_records_replay_against_the_saved_model(model, tmp_path):
    from tensorflow_serving.apis import prediction_log_pb2

    path = zoo.export(model, tmp_path, "m")
    loaded = tf.saved_model.load(str(path))
    records = list(tf.data.TFRecordDataset(str(path / WARMUP_FILE)))
    seen = set()
    for raw in records:
        log = prediction_log_pb2.PredictionLog.FromString(raw.numpy())
        request = log.predict_log.request
        assert request.model_spec.name == "m"
        feeds = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        out = loaded.signatures[request.model_spec.signature_name](
            **{k: tf.constant(v) for k, v in feeds.items()}
        )
        assert all(np.all(np.isfinite(v.numpy())) for k, v in out.items() if v.dtype.is_floating)
        seen.add(request.model_spec.signature_name)
    assert seen == {"serving_default", "score", "serve", "recommend", "recommend_filtered",
                    "recommend_for_items", "similar_items"}  # fmt: skip


def test_saved_model_cli_run_matches_keras(model, tiny, tmp_path):
    cli = shutil.which("saved_model_cli") or os.path.join(
        os.path.dirname(sys.executable), "saved_model_cli"
    )
    path = zoo.export(model, tmp_path, "m")
    user = int(tiny.users.ids[0])
    proc = subprocess.run(
        [
            cli,
            "run",
            "--dir",
            str(path),
            "--tag_set",
            "serve",
            "--signature_def",
            "recommend",
            "--input_exprs",
            f"user_id=[{user}];k=5",
            "--outdir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    ids = np.load(tmp_path / "out" / "item_ids.npy")
    scores = np.load(tmp_path / "out" / "scores.npy")
    want_ids, want_scores = model.recommend([user], k=5)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5)
    assert "Result for output key item_ids" in proc.stdout


def test_a_model_that_never_saw_data_still_serves(tmp_path):
    model = zoo.build("dot_bias_mf", user_vocabulary=[1, 2], item_vocabulary=[5, 6, 7], n_factors=2)
    path = zoo.export(model, tmp_path, "fresh")
    loaded = tf.saved_model.load(str(path))
    out = loaded.signatures["recommend"](user_id=tf.constant([1, 99], tf.int64), k=tf.constant(2))
    assert out["item_ids"].shape == (2, 2)
