"""How fast an estate file of N devices loads, on SQLite and PostgreSQL, and how fast
effective settings resolve — each beside a yardstick measured in the same run.

Yardsticks:
* loading: the same device and line rows written by the database driver's own fastest
  path (sqlite3 ``executemany`` in one transaction; PostgreSQL ``COPY``), with no parsing,
  validation or reference checks: the floor any loader sits on;
* resolution: merging the same layers as plain dicts (``{**a, **b, ...}``) with no
  provenance and no rules.

    python bench/load.py                 # 100,000 devices, SQLite and PostgreSQL
    python bench/load.py --devices 20000 --postgres ''   # SQLite only

PostgreSQL is PROVISIONER_TEST_POSTGRES or --postgres (default the local test database).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

# bench/ holds dns.py and http.py, which would shadow dnspython and the standard library:
# keep this script's own directory off the path, and put the repository on it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.synthetic_estate import estate_yaml  # noqa: E402
from provisioner.domain.effective import device_config  # noqa: E402
from provisioner.domain.settings import DEFAULTS  # noqa: E402
from provisioner.estate_files.load import load_estate_file, read_estate_file  # noqa: E402
from provisioner.storage import migrate  # noqa: E402
from provisioner.storage.database import Database  # noqa: E402
from provisioner.storage.snapshot import load_device, load_estate  # noqa: E402


def device_rows(devices: int) -> tuple[list[tuple], list[tuple]]:
    """The rows the yardstick writes: what the loader writes for the same file."""
    devices_rows, line_rows = [], []
    for index in range(devices):
        mac = f"{0x02AA00000000 + index:012x}"
        devices_rows.append((index + 1, mac, "yealink", "T46U", 1, mac, f"pw-{mac}", "{}"))
        line_rows.append(
            (index + 1, 1, f"{index + 1000}", f"{index + 1000}", f"sip-{mac}", f"Phone {index}", "")
        )
    return devices_rows, line_rows


def yardstick_sqlite(path: Path, devices: int) -> float:
    rows, lines = device_rows(devices)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE devices (id INTEGER PRIMARY KEY, mac VARCHAR(12) UNIQUE, vendor, model, "
        "account_id, provisioning_user, provisioning_password, settings)"
    )
    connection.execute(
        'CREATE TABLE lines (id INTEGER PRIMARY KEY, device_id, "index", sip_user, auth_name, '
        'password, display_name, label, UNIQUE (device_id, "index"))'
    )
    started = time.perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO devices VALUES (?,?,?,?,?,?,?,?)", rows)
    connection.executemany(
        'INSERT INTO lines (device_id, "index", sip_user, auth_name, password, display_name, '
        "label) VALUES (?,?,?,?,?,?,?)",
        lines,
    )
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def yardstick_postgres(url: str, devices: int) -> float:
    rows, lines = device_rows(devices)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        try:
            connection.execute(
                f"CREATE TABLE {schema}.devices (id int PRIMARY KEY, mac varchar(12) UNIQUE, "
                "vendor text, model text, account_id int, provisioning_user text, "
                "provisioning_password text, settings json)"
            )
            connection.execute(
                f"CREATE TABLE {schema}.lines (id serial PRIMARY KEY, device_id int, "
                "index int, sip_user text, auth_name text, password text, display_name text, "
                "label text, UNIQUE (device_id, index))"
            )
            started = time.perf_counter()
            with connection.transaction(), connection.cursor() as cursor:
                with cursor.copy(f"COPY {schema}.devices FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                with cursor.copy(
                    f"COPY {schema}.lines (device_id, index, sip_user, auth_name, password, "
                    "display_name, label) FROM STDIN"
                ) as copy:
                    for row in lines:
                        copy.write_row(row)
            return time.perf_counter() - started
        finally:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def measure_load(url: str, text: str) -> tuple[float, float, Database]:
    database = Database(url)
    migrate.ensure_schema(database)
    started = time.perf_counter()
    estate = read_estate_file(text, "bench")
    parsed = time.perf_counter()
    load_estate_file(database, estate, source="bench")
    written = time.perf_counter()
    return parsed - started, written - parsed, database


def measure_resolution(database: Database, sample: int) -> tuple[float, float, float]:
    """Resolutions per second: in memory (ours and the plain-dict yardstick) and from the
    database (one indexed lookup per device, then the merge): the uncached phone path."""
    with database.read() as session:
        estate = load_estate(session)
        macs = [f"{0x02AA00000000 + index:012x}" for index in range(sample)]
        started = time.perf_counter()
        records = [load_device(session, mac) for mac in macs]
        from_database = sample / (time.perf_counter() - started)
    assert all(records)
    rounds = 5
    started = time.perf_counter()
    for _ in range(rounds):
        for record in records:
            device_config(estate, record)  # type: ignore[arg-type]
    ours = rounds * sample / (time.perf_counter() - started)
    cluster = estate.clusters[0]
    started = time.perf_counter()
    for _ in range(rounds):
        for record in records:
            {  # noqa: B018 - the yardstick is the work itself
                **DEFAULTS.values,
                **estate.settings,
                **cluster.settings,
                **record.account_settings,  # type: ignore[union-attr]
                **record.settings,  # type: ignore[union-attr]
            }
    plain = rounds * sample / (time.perf_counter() - started)
    return ours, plain, from_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "PROVISIONER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL URL ('' to skip)",
    )
    options = parser.parse_args()
    text = estate_yaml(options.devices)
    print(f"estate file: {options.devices:,} devices, {len(text) / 1e6:.1f} MB of YAML")
    print(
        f"{'backend':<11}{'parse+validate':>16}{'write':>9}{'total':>9}{'devices/s':>11}"
        f"{'yardstick':>11}{'ratio':>7}"
    )
    resolution = None
    with tempfile.TemporaryDirectory() as scratch:
        targets = [("sqlite", f"sqlite:///{Path(scratch) / 'bench.db'}")]
        if options.postgres:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            base = make_url(options.postgres)
            with psycopg.connect(
                base.set(drivername="postgresql").render_as_string(False), autocommit=True
            ) as admin:
                admin.execute(f"CREATE SCHEMA {schema}")
            pg_url = base.update_query_dict({"options": f"-csearch_path={schema}"})
            targets.append(("postgresql", pg_url.render_as_string(hide_password=False)))
        try:
            for name, url in targets:
                parse, write, database = measure_load(url, text)
                if name == "sqlite":
                    floor = yardstick_sqlite(Path(scratch) / "yardstick.db", options.devices)
                    resolution = measure_resolution(database, min(options.devices, 20_000))
                else:
                    floor = yardstick_postgres(options.postgres, options.devices)
                database.dispose()
                total = parse + write
                print(
                    f"{name:<11}{parse:>15.2f}s{write:>8.2f}s{total:>8.2f}s"
                    f"{options.devices / total:>11,.0f}{floor:>10.2f}s{floor / total:>7.2f}"
                )
        finally:
            if options.postgres:
                with psycopg.connect(
                    base.set(drivername="postgresql").render_as_string(False), autocommit=True
                ) as admin:
                    admin.execute(f"DROP SCHEMA {schema} CASCADE")
    assert resolution is not None
    ours, plain, from_database = resolution
    print()
    print("effective settings (resolutions per second)")
    print(f"  in memory, with provenance and rules : {ours:>10,.0f}")
    print(f"  yardstick, plain dict merge          : {plain:>10,.0f}   ratio {ours / plain:.2f}")
    print(f"  from SQLite, one lookup per device   : {from_database:>10,.0f}")


if __name__ == "__main__":
    main()
