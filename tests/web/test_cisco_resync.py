"""A Cisco phone's resync, followed rule by rule against a real `provisioner serve`.

The phone runs ``Profile_Rule``, then ``Profile_Rule_B``, ``_C`` and ``_D``, each with the
values the files fetched so far have set; a rule's ``[--uid U --pwd P]`` credentials answer
the digest challenge. Starting from the public bootstrap, the phone must reach its own
file (200, with its lines) in that one resync, and the next resync, using only the rules
its own file left, must authenticate again.

The first fetch of the per-MAC file needs credentials the bootstrap never carries: here
the phone has them as an MPP "profile account" entered on its web page (the 8800 guide:
used when a rule has none and the server answers 401), the way an administrator would.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import httpx

from tests.cli.test_serve import start, wait_until_healthy

MAC = "00562ba00003"  # the demo estate's Cisco CP-8841-3PCC
USER, PASSWORD = MAC, f"demo-{MAC}"  # its provisioning credentials in the demo estate
AGENT = f"Cisco-CP-8841-3PCC/12.0.1 ({MAC})"
RULES = ("Profile_Rule", "Profile_Rule_B", "Profile_Rule_C", "Profile_Rule_D")
_RULE = re.compile(r"\[(?P<options>[^\]]*)\]\s*(?P<url>\S+)|(?P<plain>\S+)")


def parse_rule(rule: str) -> tuple[tuple[str, str] | None, str]:
    """The credentials a rule carries (None: none) and its URL, as the phone reads them:
    options in brackets, quoted arguments, ``$$`` a literal ``$``."""
    found = _RULE.fullmatch(rule.strip())
    assert found, f"not a profile rule: {rule!r}"
    if found["plain"]:
        return None, found["plain"]
    words = shlex.split(found["options"])
    options = dict(zip(words[::2], (w.replace("$$", "$") for w in words[1::2]), strict=True))
    credentials = None
    if "--uid" in options or "--pwd" in options:
        credentials = (options["--uid"], options["--pwd"])
    return credentials, found["url"]


@dataclass
class Fetch:
    rule: str
    url: str
    status: int
    credentials_from: str  # "rule", "profile account" or "none"


@dataclass
class Phone:
    parameters: dict[str, str]
    profile_account: tuple[str, str] | None = None  # entered on the phone's web page
    fetched: list[Fetch] = field(default_factory=list)

    def resync(self, client: httpx.Client) -> list[Fetch]:
        done: list[Fetch] = []
        for name in RULES:  # in order, each read after the earlier files were applied
            rule = self.parameters.get(name, "")
            if not rule.strip():
                continue
            credentials, url = parse_rule(rule)
            url = url.replace("$MA", MAC)
            source = "rule" if credentials else "none"
            response = client.get(url, auth=httpx.DigestAuth(*credentials) if credentials else None)
            if response.status_code == 401 and credentials is None and self.profile_account:
                source = "profile account"
                response = client.get(url, auth=httpx.DigestAuth(*self.profile_account))
            done.append(Fetch(name, url, response.status_code, source))
            if response.status_code == 200:
                root = ElementTree.fromstring(response.content)
                for element in root.iter():
                    if element is not root:
                        self.parameters[element.tag] = element.text or ""
        self.fetched += done
        return done


def test_one_resync_reaches_the_per_mac_file_and_the_next_authenticates(tmp_path: Path) -> None:
    process, port = start(tmp_path)
    try:
        wait_until_healthy(port, process)
        base = f"http://127.0.0.1:{port}"
        phone = Phone({"Profile_Rule": f"{base}/CP-8841-3PCC.xml"}, (USER, PASSWORD))
        with httpx.Client(headers={"user-agent": AGENT}, timeout=10) as client:
            public = client.get(f"{base}/CP-8841-3PCC.xml")
            assert public.status_code == 200
            assert PASSWORD not in public.text and "--pwd" not in public.text
            refused = client.get(f"{base}/{MAC}.xml")
            assert refused.status_code == 401  # the per-MAC file needs the credentials

            first = phone.resync(client)
            assert [(f.rule, f.url, f.status) for f in first] == [
                ("Profile_Rule", f"{base}/CP-8841-3PCC.xml", 200),
                ("Profile_Rule_B", f"{base}/{MAC}.xml", 200),  # the same resync
            ]
            assert first[1].credentials_from == "profile account"
            assert phone.parameters["User_ID_1_"] == "3001"
            assert phone.parameters["Password_1_"] == "globex-3001-secret"
            rule = phone.parameters["Profile_Rule"]
            assert parse_rule(rule) == ((USER, PASSWORD), f"{base}/$MA.xml")
            assert phone.parameters["Profile_Rule_B"] == ""
            # Nothing without credentials is left to run.
            for name in RULES:
                value = phone.parameters.get(name, "")
                assert not value or parse_rule(value)[0] is not None, name

            phone.profile_account = None  # only what the per-MAC file set
            second = phone.resync(client)
            assert [(f.rule, f.url, f.status, f.credentials_from) for f in second] == [
                ("Profile_Rule", f"{base}/{MAC}.xml", 200, "rule")
            ]
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, output
    assert PASSWORD not in output and "globex-3001-secret" not in output


def test_without_credentials_the_bootstrap_alone_opens_nothing(tmp_path: Path) -> None:
    process, port = start(tmp_path)
    try:
        wait_until_healthy(port, process)
        base = f"http://127.0.0.1:{port}"
        phone = Phone({"Profile_Rule": f"{base}/spa504G.cfg"})  # no account, no certificate
        with httpx.Client(headers={"user-agent": AGENT}, timeout=10) as client:
            fetched = phone.resync(client)
        assert [(f.rule, f.status) for f in fetched] == [
            ("Profile_Rule", 200),
            ("Profile_Rule_B", 401),
        ]
        assert "User_ID_1_" not in phone.parameters
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


def test_rules_are_read_as_the_phone_reads_them() -> None:
    assert parse_rule("http://p/$MA.xml") == (None, "http://p/$MA.xml")
    assert parse_rule('[--uid u1 --pwd "a b$$c"] https://p/$MA.xml') == (
        ("u1", "a b$c"),
        "https://p/$MA.xml",
    )
