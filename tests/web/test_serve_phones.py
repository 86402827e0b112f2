"""The phones' files from a real `provisioner serve` process on a loopback port, fetched
by another digest implementation (httpx's), and last-seen written when it stops."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import httpx
from sqlalchemy import select

from provisioner.storage import models
from provisioner.storage.database import Database
from tests.cli.test_serve import start, wait_until_healthy
from tests.web.support import YEALINK, YEALINK_AGENT


def test_a_real_server_serves_a_phone_and_records_it_on_shutdown(tmp_path: Path) -> None:
    process, port = start(tmp_path)
    try:
        wait_until_healthy(port, process)
        url = f"http://127.0.0.1:{port}/{YEALINK}.cfg"
        headers = {"user-agent": YEALINK_AGENT}
        refused = httpx.get(url, headers=headers)
        assert refused.status_code == 401
        auth = httpx.DigestAuth(YEALINK, f"demo-{YEALINK}")
        with httpx.Client(headers=headers, auth=auth) as client:
            first = client.get(url)
            again = client.get(url, headers={"if-none-match": first.headers["etag"]})
        assert first.status_code == 200
        assert b"dental-1001-secret" in first.content
        assert again.status_code == 304
        wrong = httpx.get(url, headers=headers, auth=httpx.DigestAuth(YEALINK, "wrong"))
        assert wrong.status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, output
    assert "dental-1001-secret" not in output
    database = Database(f"sqlite:///{tmp_path / 'provisioner.db'}")
    try:
        with database.read() as session:
            device = session.scalar(select(models.Device).where(models.Device.mac == YEALINK))
            assert device is not None
            assert device.last_seen_at is not None
            assert device.last_address == "127.0.0.1"
            assert device.last_firmware == "108.86.0.20"
    finally:
        database.dispose()


def test_sigterm_closes_idle_and_busy_phone_connections_and_exits(tmp_path: Path) -> None:
    """The front door's connections take part in uvicorn's shutdown."""
    process, port = start(tmp_path)
    try:
        wait_until_healthy(port, process)
        idle = socket.create_connection(("127.0.0.1", port))
        idle.sendall(b"GET /y000000000000.boot HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(65536).startswith(b"HTTP/1.1 200")
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"GET /y000000000000.boot HTTP/1.1\r\nHo")  # a head not finished
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    idle.settimeout(5)
    assert idle.recv(1) == b""  # closed by the server
    idle.close()
    half.close()
