"""HTTPS on the phones' port: a real `provisioner serve --https` process serves a phone's
file with digest and hands /healthz to uvicorn over TLS, reloads its certificate for new
connections when the files change, and can run without plain HTTP. `tls_server` (used by
the client-certificate tests too) runs the same server in the test's own loop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trustme
import uvicorn

from provisioner.service import Endpoint, _HttpServer, bind_tcp
from provisioner.storage.database import Database
from provisioner.web.app import create_app
from provisioner.web.front_door import front_door
from provisioner.web.phones import PhoneOptions
from provisioner.web.tls import CertificateReloader, TlsFiles, server_context
from tests.cli.test_serve import free_port
from tests.web.support import YEALINK, YEALINK_AGENT

SERVER_NAMES = ("127.0.0.1", "localhost")


def write_pair(cert: trustme.LeafCert, directory: Path, stem: str = "server") -> TlsFiles:
    """The certificate chain and key in PEM files, each replaced in one rename."""
    paths = TlsFiles(directory / f"{stem}.crt", directory / f"{stem}.key")
    chain = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
    for path, data in ((paths.key, cert.private_key_pem.bytes()), (paths.cert, chain)):
        scratch = path.with_suffix(".tmp")
        scratch.write_bytes(data)
        os.replace(scratch, path)
    return paths


def client_context(ca: trustme.CA, cert: trustme.LeafCert | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    if cert is not None:
        cert.configure_cert(context)
    return context


def served_certificate(port: int, ca: trustme.CA) -> bytes:
    """The DER certificate a new connection to the server is shown."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client_context(ca).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def der_of(cert: trustme.LeafCert) -> bytes:
    return ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())


# --- a real process ---


def start_https(tmp_path: Path, files: TlsFiles, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "provisioner",
            "serve",
            "--demo",
            "--https",
            f"127.0.0.1:{port}",
            "--cert",
            str(files.cert),
            "--key",
            str(files.key),
            *args,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "PROVISIONER_DB": f"sqlite:///{tmp_path / 'provisioner.db'}",
            "PROVISIONER_DNS": "127.0.0.1:0",
            "PROVISIONER_HTTP": f"127.0.0.1:{free_port()}",
        },
    )
    return process, port


def wait_until_healthy_over_https(
    port: int, process: subprocess.Popen[str], context: ssl.SSLContext
) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early: {process.stdout.read() if process.stdout else ''}")
        try:
            return httpx.get(f"https://127.0.0.1:{port}/healthz", verify=context, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("serve did not answer /healthz over HTTPS within 30 s")


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, output
    return output


def test_a_phone_fetches_its_file_over_https_and_a_new_certificate_is_served(
    tmp_path: Path,
) -> None:
    ca = trustme.CA()
    first = ca.issue_cert(*SERVER_NAMES)
    files = write_pair(first, tmp_path)
    process, port = start_https(tmp_path, files)
    try:
        trust = client_context(ca)
        health = wait_until_healthy_over_https(port, process, trust)
        assert health.status_code == 200  # handed over to uvicorn, over TLS
        url = f"https://127.0.0.1:{port}/{YEALINK}.cfg"
        headers = {"user-agent": YEALINK_AGENT}
        assert httpx.get(url, headers=headers, verify=trust).status_code == 401
        auth = httpx.DigestAuth(YEALINK, f"demo-{YEALINK}")
        with httpx.Client(headers=headers, auth=auth, verify=trust) as client:
            fetched = client.get(url)
            assert fetched.status_code == 200
            assert b"dental-1001-secret" in fetched.content
            assert served_certificate(port, ca) == der_of(first)

            second = ca.issue_cert(*SERVER_NAMES)
            write_pair(second, tmp_path)
            deadline = time.monotonic() + 20
            while served_certificate(port, ca) != der_of(second):
                assert time.monotonic() < deadline, "the new certificate was never served"
                time.sleep(0.2)
            # the connection opened before the change still works
            assert client.get(url).status_code == 200
    finally:
        output = stop(process)
    assert "dental-1001-secret" not in output
    assert f"https://127.0.0.1:{port}/" in output


def test_https_alone_with_http_off(tmp_path: Path) -> None:
    ca = trustme.CA()
    files = write_pair(ca.issue_cert(*SERVER_NAMES), tmp_path)
    process, port = start_https(tmp_path, files, "--http", "off")
    try:
        health = wait_until_healthy_over_https(port, process, client_context(ca))
        assert health.status_code == 200
    finally:
        output = stop(process)
    assert "HTTP  http://" not in output


def test_https_without_a_key_is_a_clear_error(tmp_path: Path) -> None:
    ca = trustme.CA()
    files = write_pair(ca.issue_cert(*SERVER_NAMES), tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "provisioner",
            "serve",
            "--https",
            "127.0.0.1:0",
            "--cert",
            str(files.cert),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PROVISIONER_DB": f"sqlite:///{tmp_path / 'p.db'}"},
        timeout=60,
    )
    assert result.returncode != 0
    assert "--cert and --key" in result.stdout + result.stderr


def test_a_half_written_pair_keeps_the_certificate_in_service(tmp_path: Path) -> None:
    ca = trustme.CA()
    first = ca.issue_cert(*SERVER_NAMES)
    files = write_pair(first, tmp_path)
    context = server_context(files)
    reloader = CertificateReloader(context, files)
    assert not reloader.check()  # nothing changed
    files.cert.write_bytes(ca.issue_cert(*SERVER_NAMES).cert_chain_pems[0].bytes())  # key: old
    assert not reloader.check()
    assert reloader.reloads == 0
    write_pair(ca.issue_cert(*SERVER_NAMES), tmp_path)
    assert reloader.check()
    assert reloader.reloads == 1


# --- the same server in the test's loop ---


@asynccontextmanager
async def tls_server(
    database: Database,
    tmp_path: Path,
    client_cas: Sequence[trustme.CA] = (),
    options: PhoneOptions | None = None,
    plain: bool = False,
) -> AsyncIterator[tuple[str, trustme.CA, str | None]]:
    """`provisioner serve`'s HTTP server with an HTTPS listener (and, `plain`, an HTTP
    one): (https base URL, the CA that signed its certificate, http base URL or None)."""
    server_ca = trustme.CA()
    files = write_pair(server_ca.issue_cert(*SERVER_NAMES), tmp_path)
    ca_files = []
    for number, ca in enumerate(client_cas):
        path = tmp_path / f"client-ca-{number}.pem"
        ca.cert_pem.write_to_path(str(path))
        ca_files.append(path)
    files = TlsFiles(files.cert, files.key, tuple(ca_files))
    app = create_app(database, options or PhoneOptions(change_poll_interval=3600))
    https_socket = bind_tcp(Endpoint("127.0.0.1", 0), "--https")
    sockets = []
    http_url = None
    if plain:
        http_socket = bind_tcp(Endpoint("127.0.0.1", 0), "--http")
        sockets.append(http_socket)
        http_url = f"http://127.0.0.1:{http_socket.getsockname()[1]}"
    server = _HttpServer(
        uvicorn.Config(
            app,
            http=front_door(app.phones),  # type: ignore[arg-type]
            ws="none",
            log_level="warning",
            lifespan="on",
        ),
        tls_listeners=[(https_socket, server_context(files))],
    )
    task = asyncio.create_task(server.serve(sockets=sockets))
    while not server.started:
        assert not task.done(), task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{https_socket.getsockname()[1]}", server_ca, http_url
    finally:
        server.should_exit = True
        await task
        for sock in (https_socket, *sockets):
            sock.close()
