"""The access log of phones' requests: one structured line per request, at INFO on the
``provisioner.access`` logger (on by default under `provisioner serve`).

Each line carries the time (the record's), the client's address (through trusted proxies
only), the MAC the path names, the file, the status, the outcome (``served``, ``not
modified``, ``refused``, ``throttled``, ...) and the credentials shown (``digest``,
``certificate`` or ``none``: a refusal of a request that showed a digest is a failed
authentication). Never a password, a header's value or a query string. The same fields are
on the record as attributes (``record.access``) for a structured formatter.

`PhoneFiles` calls `log_answer` at the one point every request ends, whichever front
answered it; the cost when INFO is off is one cached level check.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provisioner.web.answers import Answer
    from provisioner.web.phone_request import PhoneRequest

logger = logging.getLogger("provisioner.access")

_OUTCOMES = {
    200: "served",
    204: "stored",
    206: "served",
    304: "not modified",
    401: "refused",
    403: "refused",
    404: "not found",
    405: "refused",
    413: "refused",
    429: "throttled",
    503: "busy",
}
_FORMAT = "address=%s mac=%s file=%r status=%d outcome=%r credentials=%s"


def outcome(status: int) -> str:
    return _OUTCOMES.get(status, "error" if status >= 500 else str(status))


def log_answer(request: PhoneRequest, mac: str | None, address: str | None, answer: Answer) -> None:
    """One line for `request`, answered with `answer` (nothing is built unless INFO is on)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    status = answer.status
    fields = {
        "address": address,
        "mac": mac,
        "file": request.path,
        "status": status,
        "outcome": outcome(status),
        "credentials": "digest"
        if request.credentials is not None
        else "certificate"
        if request.certificate_mac
        else "none",
    }
    logger.info(
        _FORMAT,
        address or "-",
        mac or "-",
        request.path,
        status,
        fields["outcome"],
        fields["credentials"],
        extra={"access": fields},
    )
