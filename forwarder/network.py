"""Connections only to public addresses: the SSRF guard under the forwarder's HTTP client.

Destinations are URLs tenants type in, fetched by the server, so a template (or a redirect it
answers with) could aim at the metadata service, the database or anything on the private
network. The check sits in httpcore's network backend, where every connection is opened:
the name is resolved once, every address it resolves to is checked, and the connection goes
to the checked address (no second lookup a rebinding DNS server could answer differently).
Redirects and keep-alive reconnects pass through the same door. TLS still verifies the host
name, which httpcore passes on its own.
"""

import asyncio
import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address

import httpcore

IPAddress = IPv4Address | IPv6Address


class RefusedAddressError(httpcore.ConnectError):
    """The destination resolves to an address the forwarder must not reach."""


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


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's backend, connecting only to addresses ``refusal`` lets through."""

    def __init__(self, *, allow_loopback: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_loopback = allow_loopback

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self._resolve(host, port, timeout)
        return await self._inner.connect_tcp(
            str(address),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddressError("the forwarder does not connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

    async def _resolve(self, host: str, port: int, limit_s: float | None) -> IPAddress:
        try:
            async with asyncio.timeout(limit_s):
                found = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        # A scoped IPv6 address ("fe80::1%eth0") keeps its scope after a "%".
        addresses = list(dict.fromkeys(ip_address(str(info[4][0]).split("%")[0]) for info in found))
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        # All of them, not only the first: a name may mix a public and a private address.
        for address in addresses:
            why = refusal(address, allow_loopback=self._allow_loopback)
            if why is not None:
                raise RefusedAddressError(f"refused: {host} resolves to {address}, {why}")
        return addresses[0]
