"""The phones' access log: one structured line per request, never a secret."""

from __future__ import annotations

import logging

import pytest

from provisioner.storage.database import Database
from tests.web.support import YEALINK, phone_client, served_devices

pytestmark = pytest.mark.anyio
YEALINK_FILE = served_devices()[YEALINK]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "provisioner.access"]


async def test_each_request_is_one_line_with_its_outcome(
    demo_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="provisioner.access")
    async with phone_client(demo_database) as phones:
        served = await phones.fetch_own(YEALINK, YEALINK_FILE)
        assert served.status_code == 200
        caplog.clear()
        again = await phones.fetch_own(
            YEALINK, YEALINK_FILE, headers={"if-none-match": served.headers["etag"]}
        )
        assert again.status_code == 304
        records = access_lines(caplog)
        assert [r.access["outcome"] for r in records] == ["refused", "not modified"]  # type: ignore[attr-defined]
        assert records[0].access["credentials"] == "none"  # type: ignore[attr-defined]
        assert records[1].access["credentials"] == "digest"  # type: ignore[attr-defined]
        caplog.clear()
        for _ in range(6):
            await phones.fetch(YEALINK_FILE, YEALINK, "wrong-password-xyz")
        statuses = [r.access["status"] for r in access_lines(caplog)]  # type: ignore[attr-defined]
    assert 401 in statuses and statuses[-1] == 429
    fields = access_lines(caplog)[-1].access  # type: ignore[attr-defined]
    assert fields["mac"] == YEALINK and fields["file"] == YEALINK_FILE
    assert fields["address"] == "192.0.2.10" and fields["outcome"] == "throttled"
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "outcome='throttled'" in text and "outcome='refused'" in text
    assert "wrong-password-xyz" not in text and f"demo-{YEALINK}" not in text
    assert "Digest" not in text and "response=" not in text and "nonce" not in text


async def test_a_served_file_is_logged_once(
    demo_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="provisioner.access")
    async with phone_client(demo_database) as phones:
        await phones.challenge(YEALINK_FILE)
        caplog.clear()
        response = await phones.fetch_own(YEALINK, YEALINK_FILE)
    assert response.status_code == 200
    outcomes = [r.access["outcome"] for r in access_lines(caplog)]  # type: ignore[attr-defined]
    assert outcomes == ["refused", "served"]  # the challenge, then the file


async def test_nothing_is_built_when_info_is_off(
    demo_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="provisioner.access")
    async with phone_client(demo_database) as phones:
        assert (await phones.fetch_own(YEALINK, YEALINK_FILE)).status_code == 200
    assert access_lines(caplog) == []
