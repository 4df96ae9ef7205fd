"""Preset names and file names are plain names inside their cache folder."""

import pytest

from embedzoo.errors import DataError
from embedzoo.zoo import presets


def preset(name="p", filename="model.keras"):
    return presets.Preset(
        name=name, model="bpr", description="", dataset="", protocol="",
        files={filename: "0" * 64}, location="https://example.invalid/presets",
    )  # fmt: skip


@pytest.mark.parametrize(
    "filename", ["../../escape.keras", "sub/model.keras", "..\\x.keras", "/abs.keras", ".keras", ""]
)
def test_unsafe_file_names_are_refused_before_any_download(filename, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(presets, "download", lambda *a, **k: calls.append(a))
    with pytest.raises(DataError, match="not a plain file name"):
        presets.fetch(preset(filename=filename), cache_dir=tmp_path)
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_unsafe_preset_names_are_refused():
    with pytest.raises(DataError, match="preset '../up'"):
        preset(name="../up")


def test_every_bundled_preset_has_plain_names():
    assert all(presets.is_plain_name(f) for p in presets.list_presets() for f in [p.name, *p.files])
