"""Replacing the city database: download (plain, gzip, or a MaxMind-style .tar.gz holding
the .mmdb), check the new file opens and holds records, then swap it in atomically (write
a temporary file beside the target, fsync, rename over it). A running server notices the
new file within a second (`provisioner.geoip.database`); a failed update leaves the old
file untouched.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from provisioner.geoip.database import DatabaseInfo, GeoipDatabaseError, open_reader

MAX_BYTES = 2 * 1024**3  # no city database comes near; a bigger download is refused
_CHUNK = 1024 * 1024


def update_database(url: str, path: Path, *, timeout: float = 60.0) -> DatabaseInfo:
    """Download `url` into `path`, or raise `GeoipDatabaseError` leaving `path` as it was."""
    path = Path(path)
    if path.is_dir():
        raise GeoipDatabaseError(f"--path {path}: is a directory; name the .mmdb file")
    if not path.parent.is_dir():
        raise GeoipDatabaseError(f"--path {path}: the directory {path.parent} does not exist")
    with _temporary(path, "download") as download, _temporary(path, "partial") as partial:
        _download(url, download, timeout)
        _unpack(url, download, partial)
        reader, info = open_reader(partial, f"--url {url}")
        reader.close()
        partial.chmod(0o644)
        with partial.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, path)
    _fsync_directory(path.parent)
    return DatabaseInfo(str(path), info.database_type, info.ip_version, info.node_count, info.built)


@contextmanager
def _temporary(path: Path, kind: str) -> Iterator[Path]:
    """A temporary file beside `path` (same file system, so the rename is atomic)."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".{kind}", dir=path.parent)
    os.close(handle)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)


def _download(url: str, target: Path, timeout: float) -> None:
    if not url.startswith(("http://", "https://", "file:")):
        raise GeoipDatabaseError(f"--url {url}: use an http://, https:// or file: URL")
    request = urllib.request.Request(url, headers={"User-Agent": "provisioner-geoip-update"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, target.open("wb") as out:
            _copy(response, out, url)
    except urllib.error.HTTPError as error:
        raise GeoipDatabaseError(f"--url {url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise GeoipDatabaseError(f"--url {url}: {error.reason}") from None
    except (OSError, ValueError) as error:
        raise GeoipDatabaseError(f"--url {url}: {error}") from None


def _copy(source: IO[bytes] | gzip.GzipFile, target: IO[bytes], url: str) -> None:
    copied = 0
    while chunk := source.read(_CHUNK):
        copied += len(chunk)
        if copied > MAX_BYTES:
            raise GeoipDatabaseError(f"--url {url}: larger than {MAX_BYTES} bytes; refused")
        target.write(chunk)


def _unpack(url: str, download: Path, target: Path) -> None:
    """The .mmdb inside `download` (itself, gunzipped, or the first .mmdb of a tar)."""
    try:
        with download.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
        if tarfile.is_tarfile(download):
            with tarfile.open(download) as archive:
                member = next((m for m in archive if m.isfile() and m.name.endswith(".mmdb")), None)
                if member is None:
                    raise GeoipDatabaseError(f"--url {url}: the archive holds no .mmdb file")
                member_file = archive.extractfile(member)
                assert member_file is not None
                with target.open("wb") as out:
                    _copy(member_file, out, url)
        elif gzipped:
            with gzip.open(download, "rb") as unzipped, target.open("wb") as out:
                _copy(unzipped, out, url)
        else:
            shutil.copyfile(download, target)
    except (OSError, EOFError, tarfile.TarError) as error:
        raise GeoipDatabaseError(f"--url {url}: cannot unpack the download ({error})") from None


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
