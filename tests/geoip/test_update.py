"""`geoip update`: download, check, swap in atomically; a failure leaves the old file."""

from __future__ import annotations

import gzip
import http.server
import io
import ipaddress
import tarfile
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli.context import State
from provisioner.cli.geoip import geoip
from provisioner.geoip.database import CityDatabase, GeoipDatabaseError
from provisioner.geoip.update import update_database
from tests.geoip.conftest import WEST_V4, city, write_city_database


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over a directory: (base URL, directory)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def left_over(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_updates_from_a_gzip_over_http(served: tuple[str, Path], tmp_path: Path) -> None:
    base, root = served
    source = write_city_database(tmp_path / "source.mmdb")
    (root / "city.mmdb.gz").write_bytes(gzip.compress(source.read_bytes()))
    target = tmp_path / "data" / "city.mmdb"
    target.parent.mkdir()
    info = update_database(f"{base}/city.mmdb.gz", target)
    assert target.read_bytes() == source.read_bytes()
    assert info.database_type == "Test-City" and info.path == str(target)
    assert left_over(target.parent) == []


def test_updates_from_a_maxmind_style_tarball(tmp_path: Path) -> None:
    source = write_city_database(tmp_path / "source.mmdb")
    archive = tmp_path / "GeoLite2-City.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        readme = tarfile.TarInfo("GeoLite2-City_20260101/README.txt")
        readme.size = 5
        tar.addfile(readme, io.BytesIO(b"hello"))
        tar.add(source, "GeoLite2-City_20260101/GeoLite2-City.mmdb")
    target = tmp_path / "city.mmdb"
    update_database(archive.as_uri(), target)
    assert target.read_bytes() == source.read_bytes()


def test_a_running_reader_picks_up_the_update(tmp_path: Path) -> None:
    target = write_city_database(tmp_path / "city.mmdb")
    database = CityDatabase(target, check_seconds=0)
    assert database.lookup(ipaddress.ip_address(WEST_V4)).city == "San Jose"  # type: ignore[union-attr]
    moved = write_city_database(
        tmp_path / "moved.mmdb", {"24.20.0.0/16": city("Frankfurt am Main", "DE", 50.1, 8.7)}
    )
    update_database(moved.as_uri(), target)
    assert database.lookup(ipaddress.ip_address(WEST_V4)).city == "Frankfurt am Main"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>not found</html>", "not a MaxMind-format database"),
        (gzip.compress(b"garbage" * 10), "not a MaxMind-format database"),
        (gzip.compress(b"garbage")[:10], "cannot unpack"),
    ],
)
def test_a_bad_download_leaves_the_old_file(tmp_path: Path, content: bytes, message: str) -> None:
    target = write_city_database(tmp_path / "city.mmdb")
    before = target.read_bytes()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(content)
    with pytest.raises(GeoipDatabaseError, match=rf"--url {bad.as_uri()}: .*{message}"):
        update_database(bad.as_uri(), target)
    assert target.read_bytes() == before
    assert left_over(tmp_path) == []


def test_http_errors_name_the_url(served: tuple[str, Path], tmp_path: Path) -> None:
    base, _root = served
    with pytest.raises(GeoipDatabaseError, match=rf"--url {base}/missing.mmdb: HTTP 404"):
        update_database(f"{base}/missing.mmdb", tmp_path / "city.mmdb")
    with pytest.raises(GeoipDatabaseError, match="--url ftp://x: use an http"):
        update_database("ftp://x", tmp_path / "city.mmdb")
    with pytest.raises(GeoipDatabaseError, match=r"--path .*does not exist"):
        update_database(f"{base}/x", tmp_path / "nowhere" / "city.mmdb")


def test_the_update_command(served: tuple[str, Path], tmp_path: Path) -> None:
    base, root = served
    write_city_database(root / "city.mmdb")
    target = tmp_path / "city.mmdb"
    result = CliRunner().invoke(
        geoip,
        ["update", "--url", f"{base}/city.mmdb"],
        obj=State("sqlite://"),
        env={"PROVISIONER_GEOIP": str(target)},
    )
    assert result.exit_code == 0, result.output
    assert "updated" in result.output and target.exists()
    result = CliRunner().invoke(
        geoip, ["update", "--url", f"{base}/gone.mmdb", "--path", str(target)], obj=State("")
    )
    assert result.exit_code == 1 and "HTTP 404" in result.output
