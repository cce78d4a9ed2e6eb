"""pg_hba.conf rules as PostgreSQL applies them: does a rule's address cover a client?"""

from __future__ import annotations

import ipaddress

__all__ = ["address_matches"]


def address_matches(rule_addr: str | None, mask: str | None, client: str) -> bool:
    """Does a pg_hba.conf rule's address (and netmask) cover `client` ('127.0.0.1[/32]')?"""
    client = client.split("/")[0]
    if rule_addr in (None, "all"):
        return True
    if rule_addr in ("samehost", "samenet"):
        return ipaddress.ip_address(client).is_loopback
    try:
        network = ipaddress.ip_network(f"{rule_addr}/{mask}" if mask else rule_addr, strict=False)
        return ipaddress.ip_address(client) in network
    except ValueError:
        return False  # a host name rule: not resolved here
