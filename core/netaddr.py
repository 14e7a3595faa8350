"""The client's address, the one place the app reads it (login lockout, access log).

Behind a reverse proxy every request comes from the proxy, and the client's address is
only in ``X-Forwarded-For``, a header anyone can send. So the header is believed only
as far as it was written by proxies listed in ``POVERTYEXIT_TRUSTED_PROXIES``: each
proxy appends the address it received the request from, so reading the header from the
right, the first address that is not one of ours is the client (README: 登录锁定与反向代理).
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def client_ip(request: HttpRequest) -> str:
    """The address the request came from, as far as our own proxies vouch for it.

    Also ``AXES_CLIENT_IP_CALLABLE``, so the lockout counts by this address.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    address = _parse(remote)
    if address is None:
        # Not an address (a unix socket, say): the server's word is all there is.
        return remote
    networks = _trusted_networks(tuple(settings.POVERTYEXIT_TRUSTED_PROXIES))
    if not _is_trusted(address, networks):
        # A direct client: whatever it put in X-Forwarded-For is its own claim.
        return str(address)
    client = address
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop_address = _parse(hop)
        if hop_address is None:
            # Garbage (or nothing) where a proxy should have written an address: nothing
            # to the left of it can be believed, so the last proxy we trust is the client.
            break
        client = hop_address
        if not _is_trusted(hop_address, networks):
            break
    return str(client)


def _parse(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; count them as IPv4.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, networks: tuple) -> bool:
    return any(address in network for network in networks)


@lru_cache(maxsize=4)
def _trusted_networks(entries: tuple[str, ...]) -> tuple:
    # Keyed on the setting's value, so a test that changes the setting gets its own parse.
    # settings.py has already refused entries that are not addresses or networks.
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
