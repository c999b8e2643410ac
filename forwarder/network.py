"""Connections only to public addresses: the SSRF guard under the forwarder's HTTP client.

Destinations are URLs tenants type in, fetched by the server, so a template (or a redirect it
answers with) could aim at the metadata service, the database or anything on the private
network. Two checks in aiohttp's connector, which every connection passes (redirect hops and
keep-alive reconnects included):
- its resolver refuses a name if any address it resolves to is refused (a name may mix a
  public and a private one); the connection then goes to an address so checked, with no
  second lookup a rebinding DNS server could answer differently;
- its socket factory, called with the very address a socket is about to connect to, refuses
  it too: this also covers an address written in the URL, which aiohttp does not resolve.
TLS still verifies the host name.
"""

import socket
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address, ip_address

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = IPv4Address | IPv6Address


class RefusedAddressError(OSError):
    """The destination is an address the forwarder must not reach."""

    def __init__(self, address: IPAddress, why: str) -> None:
        super().__init__(f"refused: {address} is {why}")
        self.address = address
        self.why = why

    def describe(self, host: str) -> str:
        """The refusal as the attempt log shows it, naming the host the URL gave."""
        if host.strip("[]") == str(self.address):
            return str(self)
        return f"refused: {host} resolves to {self.address}, {self.why}"


def refusal(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why the forwarder must not connect to ``address``, or None."""
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if address.is_private:
        return "a private address"
    if not address.is_global or address.is_multicast:
        return "not a public address"
    return None


def guarded_connector(
    *, allow_loopback: bool, limit: int, limit_per_host: int
) -> aiohttp.TCPConnector:
    """aiohttp's connector with both checks, keeping connections alive 30 s."""
    return aiohttp.TCPConnector(
        resolver=_GuardedResolver(allow_loopback=allow_loopback),
        socket_factory=_guarded_socket_factory(allow_loopback=allow_loopback),
        limit=limit,
        limit_per_host=limit_per_host,
        keepalive_timeout=30,
    )


def _check(host: str, *, allow_loopback: bool) -> IPAddress:
    # A scoped IPv6 address ("fe80::1%eth0") keeps its scope after a "%".
    address = ip_address(host.split("%")[0])
    why = refusal(address, allow_loopback=allow_loopback)
    if why is not None:
        raise RefusedAddressError(address, why)
    return address


class _GuardedResolver(AbstractResolver):
    def __init__(self, *, allow_loopback: bool) -> None:
        self._inner = aiohttp.DefaultResolver()
        self._allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        # All of them, not only the first.
        for result in found:
            _check(result["host"], allow_loopback=self._allow_loopback)
        return found

    async def close(self) -> None:
        await self._inner.close()


def _guarded_socket_factory(*, allow_loopback: bool) -> Callable[[AddrInfoType], socket.socket]:
    def make(addr_info: AddrInfoType) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        _check(str(sockaddr[0]), allow_loopback=allow_loopback)
        return socket.socket(family=family, type=kind, proto=proto)

    return make
