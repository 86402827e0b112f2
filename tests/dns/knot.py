"""Running a real Knot DNS (knotd) on a loopback port for the integration tests: as a
secondary of our server (AXFR + NOTIFY), or serving exported zone files."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import dns.message
import dns.query


def free_port() -> int:
    """A port free on both UDP and TCP (best effort)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


def knot_config(
    directory: Path,
    port: int,
    domains: Sequence[str],
    primary_port: int | None = None,
    zone_files: bool = False,
    workers: int = 1,
) -> str:
    lines = [
        "server:",
        f"    rundir: {directory}",
        f"    listen: 127.0.0.1@{port}",
        f"    udp-workers: {workers}",
        f"    tcp-workers: {workers}",
        "    background-workers: 1",
        "log:",
        "  - target: " + str(directory / "knot.log"),
        "    any: debug",
        "database:",
        f"    storage: {directory}",
    ]
    if primary_port is not None:
        lines += [
            "remote:",
            "  - id: provisioner",
            f"    address: 127.0.0.1@{primary_port}",
            "acl:",
            "  - id: provisioner-notify",
            "    address: 127.0.0.0/8",
            "    action: notify",
        ]
    lines += ["template:", "  - id: default", f"    storage: {directory}"]
    if zone_files:
        lines += ["    file: %s.zone", "    zonefile-sync: -1", "    journal-content: none"]
    else:
        lines += ["    zonefile-load: none", "    zonefile-sync: -1", "    journal-content: none"]
    lines.append("zone:")
    for domain in domains:
        lines.append(f"  - domain: {domain}")
        if primary_port is not None:
            lines += ["    master: provisioner", "    acl: provisioner-notify"]
    return "\n".join(lines) + "\n"


def serial_at(port: int, domain: str) -> int | None:
    try:
        response = dns.query.udp(
            dns.message.make_query(domain, "SOA"), "127.0.0.1", port=port, timeout=0.5
        )
    except Exception:
        return None
    return response.answer[0][0].serial if response.answer else None


@contextlib.contextmanager
def running_knot(knotd: str, directory: Path, config: str) -> Iterator[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "knot.conf"
    path.write_text(config)
    process = subprocess.Popen(
        [knotd, "-c", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        yield directory
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(condition, seconds: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def kdig(kdig_path: str, port: int, name: str, rdtype: str, *extra: str) -> tuple[str, list[str]]:
    """(status and AA flag, sorted answer and authority lines) as kdig shows them."""
    output = subprocess.run(
        [
            kdig_path,
            "@127.0.0.1",
            "-p",
            str(port),
            name,
            rdtype,
            "+norec",
            "+noall",
            "+header",
            "+answer",
            "+authority",
            "+time=2",
            "+retry=2",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    status = next(line for line in output.splitlines() if "status:" in line)
    flags = next(line for line in output.splitlines() if line.startswith(";; Flags:"))
    header = status.split("status: ")[1].split(";")[0] + (" aa" if " aa" in flags else "")
    records = sorted(
        " ".join(line.split()) for line in output.splitlines() if line and not line.startswith(";")
    )
    return header, records
