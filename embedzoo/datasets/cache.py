"""The local file cache: where downloads live, sha256 checks and atomic downloads.

Files are written to a temporary name in the destination folder and renamed into place only
once complete and verified, so a cache never holds a half-written or unverified file under its
final name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from embedzoo.errors import ChecksumError, DataError

CACHE_ENV = "EMBEDZOO_CACHE"
_CHUNK = 1 << 20


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """Returns (and creates) the cache folder.

    Args:
        path: an explicit folder; by default ``$EMBEDZOO_CACHE`` or ``~/.cache/embedzoo``.

    Example:
        >>> from embedzoo.datasets import cache_dir
        >>> cache_dir("/tmp/embedzoo-cache").name
        'embedzoo-cache'
    """
    if path is None:
        path = os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "embedzoo"
    path = Path(path).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks.

    Example:
        >>> from embedzoo.datasets import sha256_file
        >>> len(sha256_file(__file__))
        64
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str, delete: bool = False) -> None:
    """Raises ChecksumError (naming the file and both hashes) unless ``path`` has ``expected``.

    Args:
        path: the file to check.
        expected: hex sha256.
        delete: remove the file when it does not match (a bad download or cache entry).
    """
    actual = sha256_file(path)
    if actual != expected.lower():
        if delete:
            Path(path).unlink(missing_ok=True)
        raise ChecksumError(
            f"{path}: sha256 mismatch: expected {expected.lower()}, got {actual}"
            + (" (file deleted)" if delete else "")
        )


def download(
    url: str, dest: str | os.PathLike, sha256: str | None = None, timeout: float = 60.0
) -> Path:
    """Downloads ``url`` to ``dest`` atomically, checking its sha256.

    The bytes go to a temporary file next to ``dest``, hashed while streaming; only a file
    that matches ``sha256`` is renamed to ``dest``. Without ``sha256`` the hash is recorded in
    ``<dest>.sha256`` (trust on first use, with a warning) and later checks use that record.

    Args:
        url: http(s) or file URL.
        dest: the final path.
        sha256: expected hex sha256, or ``None`` to record it.
        timeout: socket timeout in seconds.

    Returns:
        ``dest`` as a Path.

    Raises:
        ChecksumError: the download does not match ``sha256`` (nothing is left behind).
        DataError: the server answered with an error or could not be reached.

    Example:
        >>> from embedzoo.datasets.cache import download
        >>> download("https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        ...          "/tmp/ml-100k.zip")  # doctest: +SKIP
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    while chunk := response.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            except urllib.error.HTTPError as e:
                raise DataError(f"cannot download {url}: HTTP {e.code} {e.reason}") from None
            except (urllib.error.URLError, OSError) as e:
                raise DataError(f"cannot download {url}: {getattr(e, 'reason', e)}") from None
        actual = digest.hexdigest()
        if sha256 is not None and actual != sha256.lower():
            raise ChecksumError(
                f"{dest.name} downloaded from {url}: sha256 mismatch: expected {sha256.lower()}, "
                f"got {actual} (download deleted)"
            )
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sha256 is None:
        record_sha256(dest, actual)
        warnings.warn(
            f"{dest.name}: no published sha256 is known; recorded {actual} in "
            f"{dest.name}.sha256 and will check against it from now on",
            stacklevel=2,
        )
    return dest


def record_sha256(path: str | os.PathLike, digest: str) -> Path:
    """Writes ``<path>.sha256`` holding ``digest`` (atomically) and returns its path."""
    path = Path(path)
    side = path.with_name(path.name + ".sha256")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{side.name}.", suffix=".part")
    with os.fdopen(fd, "w") as f:
        f.write(f"{digest}  {path.name}\n")
    os.replace(tmp, side)
    return side


def recorded_sha256(path: str | os.PathLike) -> str | None:
    """The digest recorded by :func:`record_sha256` for ``path``, or ``None``."""
    path = Path(path)
    side = path.with_name(path.name + ".sha256")
    try:
        text = side.read_text().split()
    except OSError:
        return None
    return text[0].lower() if text else None
