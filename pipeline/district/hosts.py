"""Host names as the register and the schools' links are compared: IDNA-encoded, lower case, validated."""

from __future__ import annotations

import re

_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


def to_host(host: str) -> str:
    """IDNA-encode and lower-case a host name (школа.рф → xn--80ajopm.xn--p1ai); ValueError if invalid."""
    host = host.strip().rstrip(".").lower()
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(host) from None
    if not _HOST.match(ascii_host):
        raise ValueError(host)
    return ascii_host
