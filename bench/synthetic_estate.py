"""A synthetic estate of any size, for load benchmarks and concurrency tests.

One hosted cluster (three zones, three media servers) and `devices` devices spread over
accounts of `devices_per_account`, vendors in turn, one line each.
"""

from __future__ import annotations

from typing import Any

import yaml

VENDOR_MODELS = [
    ("yealink", "T46U"),
    ("poly", "VVX450"),
    ("cisco", "CP-8841-3PCC"),
    ("grandstream", "GRP2614"),
    ("snom", "D785"),
    ("fanvil", "X4U"),
]


def cluster(name: str = "bench", domain: str = "bench.example.net") -> dict[str, Any]:
    return {
        "name": name,
        "kind": "hosted",
        "domain": domain,
        "default_zone": "east",
        "media_servers": [
            {"name": f"ms{i}", "addresses": [f"127.0.1.{i}"], "latitude": lat, "longitude": lon}
            for i, (lat, lon) in enumerate([(40.7, -74.0), (41.9, -87.6), (37.3, -121.9)], 1)
        ],
        "zones": [
            {
                "name": "east",
                "latitude": 40.7,
                "longitude": -74.0,
                "media_servers": ["ms1", "ms2", "ms3"],
            },
            {"name": "central", "latitude": 41.9, "longitude": -87.6, "media_servers": "nearest"},
            {
                "name": "west",
                "latitude": 37.3,
                "longitude": -121.9,
                "media_servers": ["ms3", "ms2", "ms1"],
            },
        ],
    }


def accounts(
    devices: int,
    *,
    prefix: str = "acct",
    mac_base: int = 0x02AA00000000,
    devices_per_account: int = 100,
    cluster_name: str = "bench",
) -> list[dict[str, Any]]:
    result = []
    for start in range(0, devices, devices_per_account):
        number = start // devices_per_account
        entries = []
        for index in range(start, min(start + devices_per_account, devices)):
            vendor, model = VENDOR_MODELS[index % len(VENDOR_MODELS)]
            mac = f"{mac_base + index:012x}"
            entries.append(
                {
                    "mac": mac,
                    "vendor": vendor,
                    "model": model,
                    "provisioning_user": mac,
                    "provisioning_password": f"pw-{mac}",
                    "lines": [
                        {
                            "index": 1,
                            "sip_user": f"{index + 1000}",
                            "password": f"sip-{mac}",
                            "display_name": f"Phone {index}",
                        }
                    ],
                }
            )
        result.append(
            {
                "name": f"{prefix}-{number}",
                "cluster": cluster_name,
                "sip_domain": f"{prefix}-{number}.sip.example.net",
                "devices": entries,
            }
        )
    return result


def estate_yaml(devices: int, **options: Any) -> str:
    document = {"clusters": [cluster()], "accounts": accounts(devices, **options)}
    return yaml.dump(
        document, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False
    )
