"""With a secret key set, no demo password (a provisioning password ``demo-<MAC>`` or a
SIP password of examples/demo.yaml) is written in clear anywhere: not in the database
file, its -wal or -shm, a default dump, a temporary file or a log line — through a load, a
dump, phones fetching their files in-process, and a real `serve --demo` process."""

from __future__ import annotations

import logging
import signal
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.estate_files.load import read_estate_file
from provisioner.storage.database import Database
from provisioner.storage.secrets import KEY_FILE_VARIABLE, KEY_VARIABLE, new_key
from tests.cli.test_serve import start, wait_until_healthy
from tests.web.support import YEALINK, YEALINK_AGENT, phone_client, served_devices

DEMO_FILE = Path(__file__).parents[1] / "examples" / "demo.yaml"


def demo_passwords() -> list[str]:
    """Every password in examples/demo.yaml: provisioning (demo-<MAC>) and SIP."""
    estate = read_estate_file(DEMO_FILE.read_text(), "examples/demo.yaml")
    found = []
    for account in estate.accounts:
        for device in account.devices:
            assert device.provisioning_password == f"demo-{device.mac}"
            found.append(device.provisioning_password)
            found += [line.password for line in device.lines]
    assert len(found) == 13
    return found


PASSWORDS = demo_passwords()


def files_holding_a_password(root: Path) -> list[tuple[str, str]]:
    """(file, password) for every file under `root` holding a demo password in clear."""
    found = []
    for file in sorted(root.rglob("*")):
        if file.is_file():
            content = file.read_bytes()
            found += [(str(file), p) for p in PASSWORDS if p.encode() in content]
    return found


def texts_holding_a_password(**texts: str) -> list[tuple[str, str]]:
    return [(name, p) for name, text in texts.items() for p in PASSWORDS if p in text]


@pytest.fixture
def private_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files (Python's and SQLite's) go under the test's directory, to be read."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("SQLITE_TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


@pytest.mark.anyio
async def test_no_demo_password_in_clear_in_files_dumps_or_logs(
    tmp_path: Path,
    private_temp: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, new_key())
    monkeypatch.delenv(KEY_FILE_VARIABLE, raising=False)
    caplog.set_level(logging.DEBUG)
    url = f"sqlite:///{tmp_path / 'estate.db'}"
    runner = CliRunner()
    outputs: dict[str, str] = {}
    for name, args in {
        "load": ["load", str(DEMO_FILE)],
        "dump to a file": ["dump", "-o", str(tmp_path / "backup.yaml")],
        "dump": ["dump"],
        "status": ["secrets", "status"],
        "rotate": ["secrets", "rotate"],
        "settings": ["settings", YEALINK],
    }.items():
        result = runner.invoke(cli, ["-v", "--db", url, *args])
        assert result.exit_code == 0, (name, result.output)
        outputs[name] = result.output
    (tmp_path / "stdout-dump.yaml").write_text(outputs["dump"])

    database = Database(url)
    try:
        async with phone_client(database) as phones:
            for mac, path in served_devices().items():
                response = await phones.fetch_own(mac, path)
                assert response.status_code == 200, mac
    finally:
        database.dispose()

    assert (tmp_path / "estate.db").exists() and (tmp_path / "backup.yaml").exists()
    assert files_holding_a_password(tmp_path) == []
    assert texts_holding_a_password(logs=caplog.text, **outputs) == []


def test_a_real_server_with_a_key_writes_no_demo_password_in_clear(
    tmp_path: Path, private_temp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VARIABLE, new_key())
    monkeypatch.delenv(KEY_FILE_VARIABLE, raising=False)
    process, port = start(tmp_path)
    try:
        wait_until_healthy(port, process)
        url = f"http://127.0.0.1:{port}/{YEALINK}.cfg"
        auth = httpx.DigestAuth(YEALINK, f"demo-{YEALINK}")
        with httpx.Client(headers={"user-agent": YEALINK_AGENT}, auth=auth) as client:
            response = client.get(url)
        assert response.status_code == 200
        assert b"dental-1001-secret" in response.content  # the phone gets it, nothing else
        wrong = httpx.get(url, auth=httpx.DigestAuth(YEALINK, "dental-1001-secret"))
        assert wrong.status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, output
    assert "secrets are encrypted at rest with key" in output
    assert (tmp_path / "provisioner.db").exists()
    assert files_holding_a_password(tmp_path) == []
    assert texts_holding_a_password(server=output) == []
