"""What a click stores about its visitor: device, client IP and country, read from the request."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from pathlib import Path
from typing import Any, Final

import geoip2.database
import geoip2.errors
from litestar.connection import ASGIConnection
from maxminddb import InvalidDatabaseError
from ua_parser import DefaultedResult, parse

IPAddress = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class Device:
    device_type: str  # one of "desktop", "mobile", "tablet", "bot", "other"
    os: str | None
    browser: str | None
    is_bot: bool


# Family names as ua-parser's regexes.yaml spells them. Tizen and webOS are left out: they run
# TVs as often as phones.
_MOBILE_OS: Final = frozenset(
    {
        "iOS",
        "Android",
        "Windows Phone",
        "Windows Mobile",
        "BlackBerry OS",
        "KaiOS",
        "Firefox OS",
        "HarmonyOS",
        "Sailfish",
        "Bada",
        "Maemo",
        "Symbian OS",
        "Symbian^3",
        "Symbian^3 Anna",
        "Symbian^3 Belle",
        "Nokia Series 30 Plus",
        "Nokia Series 40",
    }
)
_DESKTOP_OS: Final = frozenset(
    {
        "Windows",
        "Mac OS X",
        "Mac OS",
        "Chrome OS",
        "Linux",
        "Ubuntu",
        "Kubuntu",
        "Lubuntu",
        "Linux Mint",
        "Debian",
        "Fedora",
        "Red Hat",
        "CentOS",
        "openSUSE",
        "SUSE",
        "Arch Linux",
        "Gentoo",
        "Slackware",
        "Mandriva",
        "Mageia",
        "PCLinuxOS",
        "FreeBSD",
        "OpenBSD",
        "NetBSD",
        "Solaris",
    }
)
# ua-parser's family when nothing matched; stored as NULL rather than as a fake name.
_UNKNOWN_FAMILY: Final = "Other"
_NO_USER_AGENT: Final = Device(device_type="other", os=None, browser=None, is_bot=False)
_WARM_UP_USER_AGENT: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def parse_user_agent(user_agent: str | None) -> Device:
    if not user_agent:
        return _NO_USER_AGENT
    return _parse_user_agent(user_agent)


# Traffic repeats a small set of user agents; caching the finished Device skips ua-parser's own
# (smaller) cache and the classification below.
@lru_cache(maxsize=10_000)
def _parse_user_agent(user_agent: str) -> Device:
    result = parse(user_agent).with_defaults()
    device_type = _device_type(result)
    return Device(
        device_type=device_type,
        os=_known(result.os.family),
        browser=_known(result.user_agent.family),
        is_bot=device_type == "bot",
    )


def _device_type(result: DefaultedResult) -> str:
    device, os_family = result.device, result.os.family
    if device.family == "Spider":
        return "bot"
    # Checked before the OS: tablets run the same iOS and Android as phones.
    if (
        device.family == "iPad"
        or device.brand == "Generic_Android_Tablet"
        or "Tablet" in device.family
        or "Tablet" in (device.model or "")
    ):
        return "tablet"
    if device.brand == "Generic_Android" or os_family in _MOBILE_OS:
        return "mobile"
    if os_family in _DESKTOP_OS:
        return "desktop"
    return "other"


def _known(family: str) -> str | None:
    return None if family == _UNKNOWN_FAMILY else family


def warm_up() -> None:
    """Compile ua-parser's regexes (about 250 ms) at startup rather than on the first click."""
    parse_user_agent(_WARM_UP_USER_AGENT)


def client_ip(
    peer: str | None, forwarded_for: str | None, trusted_proxies: list[Network]
) -> IPAddress | None:
    """The visitor's address: the TCP peer, or what trusted proxies say in X-Forwarded-For.

    Several X-Forwarded-For headers must be joined with ", " in arrival order by the caller.
    """
    address = _parse_ip(peer)
    if address is None or not forwarded_for or not _is_trusted(address, trusted_proxies):
        return address
    # Each proxy appends the address it received the request from, so the right-most address that
    # is not one of ours is the visitor; everything left of it may have been written by the
    # visitor itself.
    for entry in reversed(forwarded_for.split(",")):
        hop = _parse_ip(entry.strip())
        if hop is None:
            # A garbled entry breaks the chain; keep the last address a trusted proxy vouched for.
            return address
        if not _is_trusted(hop, trusted_proxies):
            return hop
        address = hop
    return address


def request_ip(
    request: ASGIConnection[Any, Any, Any, Any], trusted_proxies: list[Network]
) -> IPAddress | None:
    """:func:`client_ip` of a Litestar request, every X-Forwarded-For header included."""
    forwarded = request.headers.getall("x-forwarded-for", [])
    return client_ip(
        request.client.host if request.client else None,
        ", ".join(forwarded) or None,
        trusted_proxies,
    )


def _parse_ip(value: str | None) -> IPAddress | None:
    if value is None:
        return None
    return _parse_ip_text(value)


# Peers and proxies repeat; ipaddress parses in pure Python, a visible cost per click.
@lru_cache(maxsize=10_000)
def _parse_ip_text(value: str) -> IPAddress | None:
    try:
        address = ip_address(value)
    except ValueError:
        return None
    return _unmap(address)


def _unmap(address: IPAddress) -> IPAddress:
    # Dual-stack sockets report IPv4 peers as ::ffff:a.b.c.d; store and match them as IPv4.
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, trusted_proxies: list[Network]) -> bool:
    return any(address in network for network in trusted_proxies)


_COUNTRY_CODE: Final = re.compile(r"[A-Za-z]{2}")
# Cloudflare's codes for "unknown" and "Tor"; T1 fails the pattern anyway but is named for readers.
_NOT_A_COUNTRY: Final = frozenset({"XX", "T1"})


class CountryResolver:
    """The visitor's ISO 3166-1 alpha-2 country: a CDN's header if configured, else GeoIP."""

    def __init__(self, *, header: str | None, geoip_database: Path | None) -> None:
        self._header = header
        self._reader: geoip2.database.Reader | None = None
        self._is_city = False
        self._ipv4_only = False
        if geoip_database is not None:
            self._reader = _open_geoip(geoip_database)
            metadata = self._reader.metadata()
            # geoip2 chooses by substring too: "GeoLite2-City", "GeoIP2-Country", "DBIP-City-Lite".
            self._is_city = "City" in metadata.database_type
            self._ipv4_only = metadata.ip_version == 4
            if not self._is_city and "Country" not in metadata.database_type:
                self._reader.close()
                raise ValueError(
                    f"GeoIP database {geoip_database} is a {metadata.database_type} database;"
                    " clicktrail needs a Country or City database"
                )

    def country(self, headers: Mapping[str, str], ip: IPAddress | None) -> str | None:
        if self._header is not None:
            value = headers.get(self._header)
            if value is not None and _COUNTRY_CODE.fullmatch(value):
                code = value.upper()
                if code not in _NOT_A_COUNTRY:
                    return code
        return self._lookup(ip)

    def _lookup(self, ip: IPAddress | None) -> str | None:
        if self._reader is None or ip is None:
            return None
        ip = _unmap(ip)
        # Private and reserved ranges have no country; an IPv4-only database rejects IPv6 outright.
        if not ip.is_global or (self._ipv4_only and ip.version == 6):
            return None
        try:
            response = self._reader.city(ip) if self._is_city else self._reader.country(ip)
        except geoip2.errors.AddressNotFoundError:
            return None
        return response.country.iso_code

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


def _open_geoip(path: Path) -> geoip2.database.Reader:
    try:
        return geoip2.database.Reader(path)
    except OSError as exc:
        raise ValueError(f"GeoIP database {path} cannot be read: {exc.strerror}") from exc
    except InvalidDatabaseError as exc:
        raise ValueError(f"GeoIP database {path} is not a MaxMind DB file") from exc
