"""Presets: the manifest, integrity checks, URL downloads, and recorded metrics reproduced."""

import functools
import http.server
import shutil
import threading

import keras
import numpy as np
import pytest

from embedzoo import zoo
from embedzoo.errors import ChecksumError, DataError, UnknownPresetError
from embedzoo.zoo import preset_builder, presets


def test_every_registered_model_has_a_bundled_preset():
    bundled = {p.model for p in presets.list_presets() if p.location == presets.BUNDLED}
    assert set(zoo.list_models()) <= bundled


def test_bundled_presets_are_small_and_named_by_model_and_data():
    total = 0
    for p in presets.list_presets():
        assert p.name == f"{p.model}_movielens_100k"
        total += (presets.BUNDLED_DIR / p.model_file).stat().st_size
    # 15 models, each under 2 MB: the wheel stays small (11.6 MB with sasrec and gru4rec)
    assert total < 16 * 2**20
    assert (
        max((presets.BUNDLED_DIR / p.model_file).stat().st_size for p in presets.list_presets())
        < 2 * 10**6
    )


def test_unknown_preset_lists_close_matches():
    with pytest.raises(UnknownPresetError, match="dot_bias_mf_movielens_100k"):
        zoo.load("dot_bias_mf_movielens_10k")


@functools.cache
def _split(protocol, cache):
    return preset_builder.load_split(protocol, cache)


@pytest.mark.slow
@pytest.mark.parametrize("name", [p.name for p in presets.list_presets()])
def test_recorded_metrics_are_reproduced(name, embedzoo_cache):
    preset = presets.get(name)
    model = zoo.load(name)
    assert model.zoo_name == preset.model and model.model_config() == preset.config
    protocol = preset_builder.protocol_for(preset.model)
    split = _split(protocol, str(embedzoo_cache))
    measured = preset_builder.PROTOCOLS[protocol].metrics(model, split)
    for key, value in preset.metrics.items():
        assert measured[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key


class _Server:
    def __init__(self, folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.requests = 0
        outer = self

        class Counting(handler.func):
            def do_GET(self):
                outer.requests += 1
                super().do_GET()

        self.httpd.RequestHandlerClass = functools.partial(Counting, directory=str(folder))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    server = _Server(folder)
    yield folder, server
    server.close()


def _url_preset(name, source, folder, server, sha=None):
    shutil.copy(source, folder / f"{name}.keras")
    digest = sha or presets.sha256_file(folder / f"{name}.keras")
    base = presets.get("dot_bias_mf_movielens_100k")
    preset = presets.Preset(
        **{
            **base.__dict__,
            "name": name,
            "files": {f"{name}.keras": digest},
            "location": server.url,
        }
    )
    presets.add(preset)
    return preset


def test_url_preset_downloads_once_and_loads(served, tmp_path):
    folder, server = served
    source = presets.fetch("dot_bias_mf_movielens_100k")
    _url_preset("remote_ok", source, folder, server)
    cache = tmp_path / "cache"
    a = zoo.presets.load("remote_ok", cache_dir=cache)
    b = zoo.presets.load("remote_ok", cache_dir=cache)
    assert server.requests == 1  # the second load used the verified cache
    np.testing.assert_array_equal(a.score([1], [50]), b.score([1], [50]))


def test_hash_mismatch_is_refused_and_nothing_is_cached(served, tmp_path):
    folder, server = served
    source = presets.fetch("dot_bias_mf_movielens_100k")
    _url_preset("remote_bad", source, folder, server, sha="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match="0000"):
        zoo.presets.load("remote_bad", cache_dir=cache)
    assert not list((cache / "presets").rglob("*.keras"))


def test_truncated_or_corrupted_files_are_refused(served, tmp_path):
    folder, server = served
    source = presets.fetch("dot_bias_mf_movielens_100k")
    truncated = tmp_path / "t.keras"
    truncated.write_bytes(source.read_bytes()[:5000])
    _url_preset("remote_truncated", truncated, folder, server)  # hash of the truncated bytes
    with pytest.raises(DataError, match="cannot load"):
        zoo.presets.load("remote_truncated", cache_dir=tmp_path / "cache")
    # a cached file altered after download fails its check before it is loaded
    _url_preset("remote_altered", source, folder, server)
    cache = tmp_path / "cache2"
    zoo.presets.load("remote_altered", cache_dir=cache)
    cached = next((cache / "presets" / "remote_altered").glob("*.keras"))
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ChecksumError, match="remote_altered"):
        zoo.presets.load("remote_altered", cache_dir=cache)


def test_loading_never_runs_code_from_a_file(tmp_path):
    inputs = keras.Input((1,))
    outputs = keras.layers.Lambda(lambda x: x * 2)(inputs)
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(DataError, match="cannot load"):
        zoo.load_model(path)


def test_preset_builder_refuses_unknown_model_names_before_building(capsys):
    with pytest.raises(SystemExit) as stopped:
        preset_builder.main(["two_tower", "nope"])
    assert stopped.value.code == 2
    assert "unknown model(s) ['nope']" in capsys.readouterr().err
