"""The download path, against a local http.server on 127.0.0.1 (never the internet)."""

import functools
import hashlib
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from embedzoo.datasets import load_movielens
from embedzoo.datasets.movielens import URL_ENV
from embedzoo.errors import ChecksumError, DataError
from tests.datasets.movielens_fakes import write_movielens, zip_folder


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    """Serves ``tmp_path/www`` (holding a fake ml-latest-small.zip); yields (url, requests, sha)."""
    www = tmp_path / "www"
    www.mkdir()
    archive = zip_folder(
        write_movielens(tmp_path / "src", "ml-latest-small"), www / "ml-latest-small.zip"
    )
    handler = functools.partial(_Handler, directory=str(www))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    yield f"http://127.0.0.1:{httpd.server_port}", httpd.requests, sha
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_download_checks_sha_and_reuses_cache(server, tmp_path):
    url, requests, sha = server
    cache = tmp_path / "cache"
    data = load_movielens("ml-latest-small", cache_dir=cache, base_url=url, sha256=sha)
    assert len(data) == 3 and data.item_titles([1]) == ["Toy Story (1995)"]
    assert requests == ["/ml-latest-small.zip"]
    assert (cache / "movielens" / "ml-latest-small.zip").is_file()
    assert not list((cache / "movielens").glob(".*part"))  # no temp file left over
    again = load_movielens("ml-latest-small", cache_dir=cache, base_url=url, sha256=sha)
    assert len(again) == 3
    assert requests == ["/ml-latest-small.zip"]  # the second call made no request


def test_checksum_mismatch_deletes_download(server, tmp_path):
    url, requests, _ = server
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError) as err:
        load_movielens("ml-latest-small", cache_dir=cache, base_url=url, sha256="ab" * 32)
    message = str(err.value)
    assert "ml-latest-small.zip" in message and "ab" * 32 in message and "got " in message
    assert list((cache / "movielens").iterdir()) == []  # neither the file nor a temp file


def test_404_is_a_clear_error(server, tmp_path):
    url, requests, _ = server
    with pytest.raises(DataError, match=r"cannot download .*/ml-1m.zip: HTTP 404"):
        load_movielens("ml-1m", cache_dir=tmp_path / "cache", base_url=url)
    assert list((tmp_path / "cache" / "movielens").iterdir()) == []


def test_env_url_and_first_download_records_hash(server, tmp_path, monkeypatch):
    url, requests, sha = server
    monkeypatch.setenv(URL_ENV, url + "/")
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning, match="no published sha256"):
        load_movielens("ml-latest-small", cache_dir=cache)
    cached = cache / "movielens" / "ml-latest-small.zip"
    assert (cache / "movielens" / "ml-latest-small.zip.sha256").read_text().split()[0] == sha
    # a cache entry that no longer matches the recorded hash is rejected and removed
    cached.write_bytes(cached.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match="ml-latest-small.zip: sha256 mismatch"):
        load_movielens("ml-latest-small", cache_dir=cache)
    assert not cached.exists()
    assert len(requests) == 1


def test_cache_dir_from_env(server, tmp_path, monkeypatch):
    url, requests, sha = server
    monkeypatch.setenv("EMBEDZOO_CACHE", str(tmp_path / "envcache"))
    load_movielens("ml-latest-small", base_url=url, sha256=sha)
    assert (tmp_path / "envcache" / "movielens" / "ml-latest-small.zip").is_file()
