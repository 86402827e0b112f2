"""Settings no phone can honour are refused when they are written, naming the key and the
layer, and nothing changes: from `settings set` and from an estate file alike."""

from __future__ import annotations

import pytest

from provisioner.domain.errors import EstateErrors
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage.database import Database
from tests.cli.test_settings_command import run, settings_json

SNOM = "000413a00005"  # globex: zones eu-west [udp, tcp, tls] and eu-central [udp, tcp]
YEALINK = "001565a00001"


def test_signal_only_registered_without_registering_there_is_refused(
    demo_database: Database,
) -> None:
    before = demo_database.latest_change()
    code, output = run(
        demo_database, "settings", "set", "--device", YEALINK, "failover.register_on_failover=no"
    )
    assert code != 0
    assert (
        "default: failover.signal_only_registered: needs failover.register_on_failover = yes"
        in (output)
    )
    assert f"(from device {YEALINK})" in output and f"(device {YEALINK})" in output
    assert demo_database.latest_change() == before
    assert settings_json(demo_database, YEALINK)["settings"]["failover.register_on_failover"] == {
        "value": True,
        "source": "default",
    }
    # both changed together is a policy a phone can follow
    code, output = run(
        demo_database,
        "settings",
        "set",
        "--device",
        YEALINK,
        "failover.register_on_failover=no",
        "failover.signal_only_registered=no",
    )
    assert code == 0, output


def test_a_cluster_wide_failback_names_every_device_it_would_break(demo_database: Database) -> None:
    code, output = run(
        demo_database, "settings", "set", "--cluster", "hosted", "failover.failback=new-requests"
    )
    assert code != 0
    assert "needs a failback other than new-requests" in output
    assert "(from cluster hosted)" in output
    assert "devices 0004f2a00002 and 3 more" in output  # the hosted cluster's four phones


def test_a_transport_a_zone_does_not_offer_is_refused(demo_database: Database) -> None:
    before = demo_database.latest_change()
    code, output = run(demo_database, "settings", "set", "--device", SNOM, "transport=tls")
    assert code != 0
    assert f"device {SNOM}: transport: tls is not offered by zone eu-central (udp, tcp)" in output
    assert demo_database.latest_change() == before
    # pinned to the zone that offers TLS, the same setting is fine
    code, output = run(demo_database, "settings", "set", "--account", "globex-hq", "transport=udp")
    assert code == 0, output


def test_an_estate_file_that_removes_a_transport_in_use_is_refused(
    demo_database: Database,
) -> None:
    before = demo_database.latest_change()
    text = """
clusters:
  - name: globex
    zones:
      - {name: eu-west, latitude: 51.5, longitude: -0.13, media_servers: [ms1, ms2],
         transports: [udp]}
"""
    with pytest.raises(EstateErrors) as raised:
        load_estate_file(demo_database, read_estate_file(text, "change.yaml"))
    message = str(raised.value)
    assert f"device {SNOM}: transport: tcp is not offered by zone eu-west (udp)" in message
    assert demo_database.latest_change() == before
