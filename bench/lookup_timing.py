"""Does the time of a refusal tell which MACs exist? Known MACs with a wrong password
beside unknown MACs, each on its first, uncached lookup — a measurement, not a test.

    python bench/lookup_timing.py                    # 3,000 of each, SQLite
    python bench/lookup_timing.py --devices 5000 --rounds 5

An estate of N Yealink devices (bench/synthetic_estate.py, at every other MAC of one
prefix) in a fresh SQLite database; the N MACs between them, which no device has. Every MAC is asked for once, in a random
mixed order, with a digest computed from a wrong password and a valid nonce, straight
through the phones' ASGI app in this process (no sockets: the noise of the network and of
an HTTP client would hide what the server does). Each request comes from an address of
its own, so no backoff cuts a request short before its lookup: what is timed is identify →
authenticate (the device lookup, the HA1s, the digest check) → the refusal.

The yardstick is the unknown MACs' own median: prints each median, their difference and
ratio (1.00: no difference), and a Mann–Whitney U test's p-value for "one kind is slower"
(a p-value far below 0.05 in every round would say timing tells known MACs from unknown).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds files named like packages (dns.py): keep this folder off the path
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import yaml  # noqa: E402

from bench.synthetic_estate import accounts, cluster  # noqa: E402
from provisioner.estate_files.load import load_estate_file, read_estate_file  # noqa: E402
from provisioner.storage import migrate  # noqa: E402
from provisioner.storage.database import Database  # noqa: E402
from provisioner.web.app import default_profiles  # noqa: E402
from provisioner.web.digest import authorization_header  # noqa: E402
from provisioner.web.phones import PhoneFiles, PhoneOptions  # noqa: E402

REALM = "provisioner"
AGENT = b"Yealink SIP-T46U 108.86.0.20"
MAC_BASE = 0x001565B00000  # a real Yealink prefix


def known_mac(index: int) -> str:
    return f"{MAC_BASE + 2 * index:012x}"  # even: the unknown MACs lie between them


def unknown_mac(index: int) -> str:
    return f"{MAC_BASE + 2 * index + 1:012x}"


def estate(devices: int) -> str:
    found = accounts(devices, mac_base=MAC_BASE)
    index = 0
    for account in found:
        for device in account["devices"]:
            old, new = device["mac"], known_mac(index)
            text = yaml.safe_dump(device).replace(old, new)
            device.clear()
            device.update(yaml.safe_load(text))
            device["vendor"], device["model"] = "yealink", "T46U"
            index += 1
    return yaml.safe_dump({"clusters": [cluster()], "accounts": found})


def scope(path: str, authorization: str, client: str) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"prov.test"),
            (b"user-agent", AGENT),
            (b"authorization", authorization.encode()),
        ],
        "client": (client, 40000),
        "server": ("127.0.0.1", 80),
    }


async def one(phones: PhoneFiles, mac: str, client: str) -> tuple[int, int]:
    """(status, nanoseconds) of one refused fetch of `mac`'s file."""
    path = f"/{mac}.cfg"
    header = authorization_header(mac, "not-the-password", REALM, phones.nonces.issue(), path)
    request = scope(path, header, client)
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    started = time.perf_counter_ns()
    await phones.handle(request, receive, send)
    return status, time.perf_counter_ns() - started


def mann_whitney_p(a: list[int], b: list[int]) -> float:
    """Two-sided p-value of the Mann–Whitney U test (normal approximation, ties averaged)."""
    values = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1][0] == values[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rank_a = sum(rank for rank, (_, kind) in zip(ranks, values, strict=True) if kind == 0)
    n, m = len(a), len(b)
    u = rank_a - n * (n + 1) / 2
    mean = n * m / 2
    deviation = math.sqrt(n * m * (n + m + 1) / 12)
    z = (u - mean) / deviation if deviation else 0.0
    return math.erfc(abs(z) / math.sqrt(2))


async def round_of(database: Database, known: list[str], unknown: list[str], seed: int) -> None:
    # effectively no backoff: this measures lookups, not the throttle
    phones = PhoneFiles(database, default_profiles(), PhoneOptions(change_poll_interval=3600))
    await phones.start()
    try:
        order = [(mac, True) for mac in known] + [(mac, False) for mac in unknown]
        random.Random(seed).shuffle(order)
        for index in range(50):  # warm up: code paths, the snapshot, the pool
            await one(phones, f"{MAC_BASE - 1 - index:012x}", f"10.255.0.{index}")
        times: dict[bool, list[int]] = {True: [], False: []}
        statuses: set[int] = set()
        for index, (mac, exists) in enumerate(order):
            client = f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
            status, elapsed = await one(phones, mac, client)
            statuses.add(status)
            times[exists].append(elapsed)
    finally:
        await phones.stop()
    known_median = statistics.median(times[True]) / 1000
    unknown_median = statistics.median(times[False]) / 1000
    print(
        f"round {seed}: known {known_median:7.1f} us   unknown {unknown_median:7.1f} us   "
        f"difference {known_median - unknown_median:+6.1f} us   "
        f"ratio {known_median / unknown_median:.3f}   "
        f"p={mann_whitney_p(times[True], times[False]):.3g}   statuses {sorted(statuses)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=3000, help="known MACs (and unknown)")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    devices = arguments.devices
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite:///{folder}/estate.db")
        migrate.ensure_schema(database)
        load_estate_file(database, read_estate_file(estate(devices), "timing"))
        known = [known_mac(index) for index in range(devices)]
        unknown = [unknown_mac(index) for index in range(devices)]
        print(
            f"{devices} known and {devices} unknown MACs, each looked up once per round, "
            "wrong password, SQLite; medians of the whole refused request:"
        )
        for seed in range(1, arguments.rounds + 1):
            asyncio.run(round_of(database, known, unknown, seed))
        database.dispose()


if __name__ == "__main__":
    main()
