"""Running a real PowerDNS Authoritative (pdns_server, SQLite backend, API on) on loopback
ports for the integration tests."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.dns.knot import free_port

SCHEMA_PLACES = (
    Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"),
    Path("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql"),
)
API_KEY = "test-api-key-not-a-secret"


@dataclass(frozen=True)
class PowerDns:
    dns_port: int
    api_url: str
    key: str = API_KEY

    def get(self, path: str) -> object:
        request = urllib.request.Request(
            f"{self.api_url}/api/v1/servers/localhost{path}", headers={"X-API-Key": self.key}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)


def schema() -> str:
    for place in SCHEMA_PLACES:
        if place.exists():
            return place.read_text()
    raise FileNotFoundError("the pdns-backend-sqlite3 schema is not installed")


@contextlib.contextmanager
def running_powerdns(pdns_server: str, directory: Path) -> Iterator[PowerDns]:
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "pdns.sqlite3"
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.executescript(schema())
    dns_port, api_port = free_port(), free_port()
    (directory / "pdns.conf").write_text(
        "\n".join(
            [
                "launch=gsqlite3",
                f"gsqlite3-database={database}",
                "local-address=127.0.0.1",
                f"local-port={dns_port}",
                "api=yes",
                f"api-key={API_KEY}",
                "webserver=yes",
                "webserver-address=127.0.0.1",
                f"webserver-port={api_port}",
                "webserver-allow-from=127.0.0.0/8",
                f"socket-dir={directory}",
                "guardian=no",
                "daemon=no",
                "disable-syslog=yes",
                "loglevel=4",
                "cache-ttl=0",
                "negquery-cache-ttl=0",
                "query-cache-ttl=0",
                "zone-cache-refresh-interval=0",
                "",
            ]
        )
    )
    log = (directory / "pdns.log").open("w")
    process = subprocess.Popen(
        [pdns_server, f"--config-dir={directory}"], stdout=log, stderr=subprocess.STDOUT
    )
    server = PowerDns(dns_port, f"http://127.0.0.1:{api_port}")
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                server.get("")
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError((directory / "pdns.log").read_text()) from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
