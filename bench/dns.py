"""Queries per second of the embedded DNS server against Knot DNS, same zones, same run.

Loads the demo estate into a scratch SQLite database, exports its zones, then runs
`provisioner dns serve` and knotd (one UDP worker, serving the exported files) on loopback
ports and points dnsperf at each in turn with the same NAPTR/SRV/A query mix. Prints both
rates, the loss and the ratio. Needs knotd and dnsperf (Debian: knot, dnsperf).

    .venv/bin/python bench/dns.py [--seconds 10] [--clients 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This file is named dns.py: keep its own directory off the path so `import dns` finds
# dnspython, and put the repository on it for `tests.dns.knot`.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import dns.message  # noqa: E402
import dns.query  # noqa: E402
from tests.dns.knot import free_port, knot_config  # noqa: E402

from provisioner.dns.export import export_zones  # noqa: E402
from provisioner.dns.publish import current_records  # noqa: E402
from provisioner.estate_files.load import load_estate_file, read_estate_file  # noqa: E402
from provisioner.storage import migrate  # noqa: E402
from provisioner.storage.database import Database  # noqa: E402

DEMO = ROOT / "src" / "provisioner" / "examples" / "demo.yaml"


def query_mix(domains: list[str]) -> str:
    """Per proxy name: its NAPTR, two SRV, and the A of two SRV targets (what a phone asks)."""
    lines = []
    for domain in domains:
        for proxy in ("us-east", "us-central", "us-west", "eu-west", "eu-central"):
            name = f"{proxy}.{domain}"
            lines += [f"{name} NAPTR", f"_sip._udp.{name} SRV", f"_sips._tcp.{name} SRV"]
        lines += [f"ms1.{domain} A", f"ms2.{domain} A"]
    return "\n".join(lines) + "\n"


def wait_answering(port: int, name: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            dns.query.udp(dns.message.make_query(name, "SOA"), "127.0.0.1", port=port, timeout=0.5)
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"nothing answers on port {port}")


def dnsperf(dnsperf_path: str, port: int, queries: Path, seconds: int, clients: int) -> dict:
    output = subprocess.run(
        [
            dnsperf_path,
            "-s",
            "127.0.0.1",
            "-p",
            str(port),
            "-d",
            str(queries),
            "-l",
            str(seconds),
            "-T",
            "1",
            "-c",
            str(clients),
            "-q",
            "200",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sent = int(re.search(r"Queries sent:\s+(\d+)", output).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", output).group(1))
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", output).group(1))
    return {"qps": qps, "sent": sent, "lost": lost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="runs each; the median is shown")
    args = parser.parse_args()
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    dnsperf_path = shutil.which("dnsperf")
    if not Path(knotd).exists() or not dnsperf_path:
        raise SystemExit("needs knotd and dnsperf (apt-get install knot dnsperf)")

    with tempfile.TemporaryDirectory(prefix="bench-dns-") as scratch:
        work = Path(scratch)
        database = Database(f"sqlite:///{work / 'estate.db'}")
        migrate.ensure_schema(database)
        load_estate_file(database, read_estate_file(DEMO.read_text(), "demo.yaml"))
        records = current_records(database)
        export_zones(records, work / "zones", "127.0.0.1@53")
        queries = work / "queries.txt"
        queries.write_text(query_mix(list(records.domains)))

        ours_port, knot_port = free_port(), free_port()
        ours = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "provisioner",
                "--db",
                database.url,
                "dns",
                "serve",
                "--dns",
                f"127.0.0.1:{ours_port}",
            ],
            stdout=subprocess.DEVNULL,
        )
        config = knot_config(work / "zones", knot_port, records.domains, zone_files=True)
        config = config.replace("any: debug", "any: warning")
        (work / "zones" / "knot.conf").write_text(config)
        knot = subprocess.Popen([knotd, "-c", str(work / "zones" / "knot.conf")])
        try:
            wait_answering(ours_port, records.domains[0])
            wait_answering(knot_port, records.domains[0])
            servers = (("provisioner", ours_port), ("knot", knot_port))
            runs: dict[str, list[dict]] = {label: [] for label, _ in servers}
            for _label, port in servers:
                dnsperf(dnsperf_path, port, queries, 2, args.clients)  # warm up
            for _ in range(args.rounds):  # alternate, so both see the same machine load
                for label, port in servers:
                    runs[label].append(
                        dnsperf(dnsperf_path, port, queries, args.seconds, args.clients)
                    )
            results = {
                label: sorted(found, key=lambda r: r["qps"])[len(found) // 2]
                for label, found in runs.items()
            }
        finally:
            for process in (ours, knot):
                process.terminate()
                process.wait(10)

    print(f"{'server':<12} {'queries/s':>11} {'sent':>10} {'lost':>7}")
    for label, result in results.items():
        print(f"{label:<12} {result['qps']:>11.0f} {result['sent']:>10} {result['lost']:>7}")
    ratio = results["provisioner"]["qps"] / results["knot"]["qps"]
    print(
        f"ratio provisioner/knot: {ratio:.2f}  (one worker each; median of {args.rounds} "
        f"alternating runs of {args.seconds} s; {args.clients} dnsperf clients; NAPTR/SRV/A mix)"
    )
    print(
        "response rate limiting is on with its defaults; dnsperf asks from 127.0.0.1, which "
        "it exempts: this measures the answer path, not the limiter (~0.7 us a packet)"
    )


if __name__ == "__main__":
    main()
