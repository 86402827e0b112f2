"""Text that every phone file can carry.

XML 1.0 allows no control character other than tab, line feed and carriage return, no
surrogate and neither U+FFFE nor U+FFFF; a Poly, Cisco, Snom or Fanvil phone given one
rejects its whole file. A value meant to reach a phone (a display name, a label, a SIP
user, a password) must not hold them: refused where it enters the estate, naming the
field (and `vendors.rendering` still writes any that got in as spaces).
"""

from __future__ import annotations

import re

from provisioner.domain.errors import PlainReason

UNWRITABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def writable(text: str) -> str:
    """`text` unchanged, or ValueError naming the first character a phone file cannot carry."""
    found = UNWRITABLE.search(text)
    if found is not None:
        raise PlainReason(f"holds U+{ord(found.group()):04X}, which a phone's file cannot carry")
    return text
