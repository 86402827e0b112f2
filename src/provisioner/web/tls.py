"""HTTPS for the phones' port: the server's TLS context, its certificate reloaded when the
files change, and the MAC a phone's client certificate names.

* `server_context`: TLS 1.2 or later with the server's certificate and key. Given client
  CAs (``serve --client-ca``: the vendors' device CAs), it asks every client for a
  certificate *optionally* (``CERT_OPTIONAL``): a phone without one goes on with digest,
  while a certificate that is expired, not yet valid or from a CA not listed fails the
  handshake itself, before any request is read.
* `CertificateReloader`: looks at the certificate's and the key's files (modification
  time, size, inode) every few seconds; when either changed it reads both, checks that
  they belong together on a scratch context, and only then loads them into the live one,
  so new handshakes get the new certificate, connections already open keep theirs, and
  a half-written pair (a certificate whose key is not there yet) leaves the old one in
  service. The bytes are read once and loaded from memory (a memfd on Linux), never
  copied to disk. Client CAs are read at start only.
* `certificate_mac`: the one MAC a verified client certificate names in its subject's
  common name or its subject alternative names, in any vendor's spelling (Yealink, Poly,
  Grandstream, Snom, Fanvil: the MAC itself; Cisco MPP: ``CP-8841-3PCC-SEP001122334455``),
  with or without separators, in any case. A certificate that names no MAC, or two
  different ones, names none: it authenticates nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import ssl
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.domain.errors import ProvisionerError

log = logging.getLogger(__name__)

RELOAD_INTERVAL = 5.0  # seconds between looks at the certificate's and key's files


@dataclass(frozen=True)
class TlsFiles:
    """What ``serve --cert --key --client-ca`` named."""

    cert: Path
    key: Path
    client_cas: tuple[Path, ...] = ()


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """The listening context, or a `ProvisionerError` naming the file that is wrong."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    try:
        _load_pair(context, files.cert.read_bytes(), files.key.read_bytes())
    except (OSError, ssl.SSLError, ValueError) as error:
        raise ProvisionerError(
            f"--cert {files.cert} / --key {files.key}: {_reason(error)}"
        ) from None
    for ca in files.client_cas:
        try:
            context.load_verify_locations(cafile=str(ca))
        except (OSError, ssl.SSLError) as error:
            raise ProvisionerError(f"--client-ca {ca}: {_reason(error)}") from None
    if files.client_cas:
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class CertificateReloader:
    """Loads the certificate and key into `context` again when their files change."""

    def __init__(self, context: ssl.SSLContext, files: TlsFiles) -> None:
        self.context = context
        self.files = files
        self._seen = self._stamp()
        self.reloads = 0  # successful reloads, for tests and logs

    def _stamp(self) -> tuple[tuple[int, int, int], ...] | None:
        try:
            return tuple(_file_stamp(path) for path in (self.files.cert, self.files.key))
        except OSError:
            return None

    def check(self) -> bool:
        """Reload if the files changed since the last look; True if it did."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return False
        try:
            cert = self.files.cert.read_bytes()
            key = self.files.key.read_bytes()
            _load_pair(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), cert, key)  # do they match?
        except (OSError, ssl.SSLError, ValueError) as error:
            # perhaps half-written: keep the one in service and look again next time
            log.warning("not reloading %s: %s", self.files.cert, _reason(error))
            return False
        _load_pair(self.context, cert, key)
        self._seen = stamp
        self.reloads += 1
        log.info("reloaded the HTTPS certificate %s", self.files.cert)
        return True

    async def run(self, interval: float = RELOAD_INTERVAL) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                self.check()
            except Exception:  # never let a bad file stop the watcher
                log.exception("cannot reload %s", self.files.cert)


def _file_stamp(path: Path) -> tuple[int, int, int]:
    status = path.stat()
    return (status.st_mtime_ns, status.st_size, status.st_ino)


def _load_pair(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    with _in_memory(cert) as cert_path, _in_memory(key) as key_path:
        context.load_cert_chain(cert_path, key_path)


@contextlib.contextmanager
def _in_memory(data: bytes) -> Iterator[str]:
    """A path `load_cert_chain` can read `data` from: a memfd (Linux), else a private
    temporary file removed at once."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        descriptor = memfd_create("provisioner-tls", 0)
        try:
            os.write(descriptor, data)
            yield f"/proc/self/fd/{descriptor}"
        finally:
            os.close(descriptor)
        return
    handle, path = tempfile.mkstemp()
    try:
        os.write(handle, data)
        os.close(handle)
        yield path
    finally:
        os.unlink(path)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


# --- the MAC a client certificate names ---

_HEX = "[0-9a-f]"
_MAC_FORMS = [
    re.compile(rf"(?<!{_HEX})({_HEX}{{12}})(?!{_HEX})", re.IGNORECASE),
    *(
        re.compile(
            rf"(?<!{_HEX})(?<!{_HEX}{re.escape(sep)})"
            rf"({_HEX}{{{width}}}(?:{re.escape(sep)}{_HEX}{{{width}}}){{{12 // width - 1}}})"
            rf"(?!{_HEX})(?!{re.escape(sep)}{_HEX})",
            re.IGNORECASE,
        )
        for sep, width in ((":", 2), ("-", 2), (".", 4))
    ),
]
_SAN_TYPES = frozenset(("DNS", "URI", "email"))


def macs_in(text: str) -> set[str]:
    """Every MAC written in `text` (12 hex digits, alone or in groups with one kind of
    separator), lower-case without separators."""
    found = set()
    for form in _MAC_FORMS:
        for match in form.finditer(text):
            found.add(re.sub("[^0-9a-f]", "", match.group(1).lower()))
    return found


def _named_texts(peercert: dict[str, Any]) -> Iterator[str]:
    for rdn in peercert.get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                yield str(value)
    for kind, value in peercert.get("subjectAltName", ()):
        if kind in _SAN_TYPES:
            yield str(value)


def certificate_mac(peercert: object) -> str | None:
    """The MAC a verified client certificate (``getpeercert()``'s dictionary) names, or
    None: no certificate, none verified, no MAC in it, or more than one."""
    if not isinstance(peercert, dict) or not peercert:
        return None
    macs: set[str] = set()
    for text in _named_texts(peercert):
        macs |= macs_in(text)
    return macs.pop() if len(macs) == 1 else None
