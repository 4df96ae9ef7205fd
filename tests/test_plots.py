import json

import numpy as np
import pandas as pd
import pytest

from embedzoo import cli, training, viz, zoo
from embedzoo.errors import ConfigError, DataError
from tests.helpers import make_ratings

GENRES = ["Action", "Comedy", "Drama", "Horror", "Sci-Fi"]


def read_png(path):
    from matplotlib import image

    return image.imread(path)


def distinct_colours(pixels) -> int:
    rgb = (pixels[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    return len(np.unique(rgb, axis=0))


@pytest.fixture(scope="module")
def tiny():
    return make_ratings()


@pytest.fixture(scope="module")
def mf(tiny):
    model = zoo.build("dot_bias_mf", tiny, seed=0, n_factors=8)
    history = training.fit(
        model, tiny, validation=tiny.subset(np.arange(100)), epochs=4, batch_size=64, verbose=0
    )
    return model, history


@pytest.fixture(scope="module")
def metadata(tiny):
    ids = tiny.items.ids
    return pd.DataFrame(
        {"title": [f"Movie {i}" for i in ids], "genres": [f"{GENRES[i % 5]}|Drama" for i in ids]},
        index=pd.Index(ids, name="item"),
    )


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_embedding_map_is_a_coloured_labelled_png(mf, metadata, tmp_path, method):
    model, _ = mf
    path = viz.plot_embedding_map(
        model, tmp_path / f"map_{method}.png", metadata, method=method, n_labels=5
    )
    pixels = read_png(path)
    assert path.stat().st_size > 20_000
    assert pixels.shape[0] > 600 and pixels.shape[1] > 800
    assert distinct_colours(pixels) > 50  # five genre colours, anti-aliasing, text


def test_reduce_2d_keeps_clusters_apart():
    rng = np.random.default_rng(0)
    centres = np.eye(16)[:2] * 5
    x = np.concatenate(
        [centres[0] + rng.normal(size=(30, 16)) * 0.3, centres[1] + rng.normal(size=(30, 16)) * 0.3]
    )
    for method in ("pca", "tsne"):
        xy = viz.reduce_2d(x, method)
        assert xy.shape == (60, 2)
        within = np.linalg.norm(xy[:30] - xy[:30].mean(0), axis=1).mean()
        between = np.linalg.norm(xy[:30].mean(0) - xy[30:].mean(0))
        assert between > 3 * within, method


def test_link_model_maps_both_tables(tiny, tmp_path):
    model = zoo.build("link_embedding", tiny, seed=0, embedding_size=8)
    training.fit(model, tiny, epochs=2, batch_size=64, verbose=0)
    for table in ("items", "links"):
        path = viz.plot_embedding_map(
            model, tmp_path / f"{table}.png", color_by=None, method="pca", table=table
        )
        assert read_png(path).shape[1] > 600
    with pytest.raises(ConfigError, match="no link table"):
        viz.plot_embedding_map(
            zoo.build("dot_bias_mf", tiny), tmp_path / "x.png", table="links", method="pca"
        )


def test_item_bias_chart(mf, metadata, tmp_path):
    model, _ = mf
    path = viz.plot_item_bias(model, tmp_path / "bias.png", n=6, titles=metadata["title"])
    pixels = read_png(path)
    assert path.stat().st_size > 10_000 and pixels.shape[0] > 300
    teal, orange = np.array([42, 157, 143]) / 255, np.array([231, 111, 81]) / 255
    for colour in (teal, orange):  # the highest- and lowest-bias bars are both drawn
        assert (np.abs(pixels[..., :3] - colour).max(-1) < 0.02).sum() > 500


def test_history_curves_from_history_and_run_dir(mf, tmp_path):
    _, history = mf
    path = viz.plot_history(history, tmp_path / "loss.png")
    assert read_png(path).shape[1] > 900  # loss, mae, rmse panels side by side
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "history.json").write_text(
        json.dumps({"loss": [1.0, 0.5, 0.25], "epoch_seconds": [1, 1, 1]})
    )
    assert viz.load_history(tmp_path / "run") == {"loss": [1.0, 0.5, 0.25]}
    assert read_png(viz.plot_history(tmp_path / "run", tmp_path / "run.png")).shape[0] > 300


def test_bad_plot_input(mf, metadata, tmp_path):
    model, _ = mf
    with pytest.raises(DataError, match="no metadata column 'year'"):
        viz.plot_embedding_map(model, tmp_path / "m.png", metadata, color_by="year", method="pca")
    with pytest.raises(ConfigError, match=".png"):
        viz.plot_embedding_map(model, tmp_path / "m.jpg", method="pca", color_by=None)
    with pytest.raises(ConfigError, match="unknown projection"):
        viz.reduce_2d(np.ones((5, 3)), "mds")
    with pytest.raises(DataError, match="no per-epoch values"):
        viz.load_history({"loss": []})
    with pytest.raises(DataError, match="cannot read a training history"):
        viz.load_history(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="no item biases"):
        viz.plot_item_bias(
            zoo.build("link_embedding", (model.users, model.items)), tmp_path / "b.png"
        )


def test_cli_plot_commands(mf, metadata, tmp_path, capsys):
    model, history = mf
    zoo.save_model(model, tmp_path / "run" / "model.keras")
    (tmp_path / "run" / "history.json").write_text(json.dumps(history.history, default=float))
    meta_csv = tmp_path / "movies.csv"
    metadata.reset_index().to_csv(meta_csv, index=False)
    for argv in (
        ["plot", "map", "--run", str(tmp_path / "run"), "--metadata", str(meta_csv), "--method", "pca",
         "--label", str(int(metadata.index[0])), "--out", str(tmp_path / "map.png")],
        ["plot", "bias", "--run", str(tmp_path / "run"), "--metadata", str(meta_csv), "--out", str(tmp_path / "bias.png")],
        ["plot", "history", "--run", str(tmp_path / "run"), "--out", str(tmp_path / "history.png")],
    ):  # fmt: skip
        assert cli.main(argv) == 0
        assert capsys.readouterr().out.strip() == argv[-1]
        assert read_png(argv[-1]).shape[0] > 300
    assert cli.main(["plot", "map", "--run", str(tmp_path / "run"), "--metadata", str(meta_csv),
                     "--color-by", "nope", "--out", str(tmp_path / "x.png")]) == 2  # fmt: skip
    assert "no metadata column 'nope'" in capsys.readouterr().err


def test_without_matplotlib_the_cli_says_how_to_install_it(mf, tmp_path, monkeypatch, capsys):
    import json
    import sys

    history = tmp_path / "history.json"
    history.write_text(json.dumps({"loss": [1.0, 0.5]}))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    assert (
        cli.main(["plot", "history", "--history", str(history), "--out", str(tmp_path / "h.png")])
        == 2
    )
    err = capsys.readouterr().err
    assert (
        "plots need matplotlib, which is not installed" in err
        and "pip install -e '.[plots]'" in err
    )
    assert "Traceback" not in err


def test_bpr_has_item_biases_too(tiny, tmp_path):
    model = zoo.build("bpr", tiny, n_factors=4, seed=0)
    training.fit(model, tiny, epochs=1, verbose=0)
    table = model.item_bias_table(3)
    bias = model.item_bias.embeddings.numpy()[1:, 0]
    assert table[table.end == "highest"].bias.tolist() == sorted(bias, reverse=True)[:3]
    assert viz.plot_item_bias(model, tmp_path / "b.png").stat().st_size > 1000
    gmf = zoo.build("gmf", tiny, n_factors=4, seed=0)
    with pytest.raises(ConfigError, match="gmf has no item biases"):
        gmf.item_bias_table()


def test_space_separated_genres_colour_by_their_first_label(tiny):
    from embedzoo.viz.embedding_map import _groups

    ids = tiny.items.ids
    meta = pd.DataFrame({"genres": ["Action Comedy", "Drama", "Action"] * (len(ids) // 3)
                         + ["Drama"] * (len(ids) % 3)}, index=ids)  # fmt: skip
    groups = _groups(ids, meta, "genres", max_colors=10)
    assert set(groups) == {"Action", "Drama"}  # RecBole's token_seq, split on whitespace
    piped = _groups(ids, meta.assign(genres=meta.genres.str.replace(" ", "|")), "genres", 10)
    assert set(piped) == {"Action", "Drama"}
    assert set(_groups(ids, meta, "genres", 10, label_sep="|")) >= {"Action Comedy"}
