import re
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from pathlib import Path

import pytest
from litestar.datastructures import Headers
from mmdb_writer import MMDBWriter
from netaddr import IPSet  # type: ignore[import-untyped]

from ingestion.visitors import CountryResolver, Device, client_ip, parse_user_agent

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)
# Chrome's reduced user agent hides the model behind "K"; "Mobile" still tells a phone.
ANDROID_PHONE_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

PROXIES = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


def test_iphone_safari_is_mobile_ios_mobile_safari():
    assert parse_user_agent(IPHONE) == Device(
        device_type="mobile", os="iOS", browser="Mobile Safari", is_bot=False
    )


def test_ipad_is_tablet():
    device = parse_user_agent(IPAD)
    assert (device.device_type, device.os) == ("tablet", "iOS")


def test_android_tablet_is_tablet():
    device = parse_user_agent(ANDROID_TABLET)
    assert (device.device_type, device.os, device.browser) == ("tablet", "Android", "Chrome")


@pytest.mark.parametrize("user_agent", [ANDROID_PHONE, ANDROID_PHONE_REDUCED])
def test_android_phone_is_mobile(user_agent: str):
    device = parse_user_agent(user_agent)
    assert (device.device_type, device.os, device.browser) == ("mobile", "Android", "Chrome Mobile")


def test_windows_chrome_is_desktop():
    assert parse_user_agent(WINDOWS_CHROME) == Device(
        device_type="desktop", os="Windows", browser="Chrome", is_bot=False
    )


def test_googlebot_is_a_bot():
    device = parse_user_agent(GOOGLEBOT)
    assert (device.device_type, device.is_bot, device.browser) == ("bot", True, "Googlebot")


@pytest.mark.parametrize("user_agent", [None, ""])
def test_missing_user_agent_is_other(user_agent: str | None):
    assert parse_user_agent(user_agent) == Device(
        device_type="other", os=None, browser=None, is_bot=False
    )


def test_unrecognised_user_agent_has_no_os_or_browser():
    assert parse_user_agent("definitely not a browser") == Device(
        device_type="other", os=None, browser=None, is_bot=False
    )


def test_repeated_user_agent_is_served_from_the_cache():
    assert parse_user_agent(WINDOWS_CHROME) is parse_user_agent(WINDOWS_CHROME)


def test_forwarded_for_is_ignored_without_trusted_proxies():
    assert client_ip("10.0.0.1", "203.0.113.7", []) == IPv4Address("10.0.0.1")


def test_forwarded_for_is_ignored_when_the_peer_is_not_a_trusted_proxy():
    assert client_ip("198.51.100.4", "203.0.113.7", PROXIES) == IPv4Address("198.51.100.4")


def test_trusted_proxy_without_forwarded_for_is_the_client():
    assert client_ip("10.0.0.1", None, PROXIES) == IPv4Address("10.0.0.1")


def test_trusted_proxy_peer_yields_the_right_most_untrusted_address():
    assert client_ip("10.0.0.1", "203.0.113.7, 10.0.0.2", PROXIES) == IPv4Address("203.0.113.7")


def test_spoofed_left_most_entries_are_ignored():
    forwarded_for = "1.1.1.1, 8.8.8.8, 198.51.100.9, 10.0.0.2"
    assert client_ip("10.0.0.1", forwarded_for, PROXIES) == IPv4Address("198.51.100.9")


def test_garbled_entry_stops_at_the_last_trusted_hop():
    forwarded_for = "203.0.113.7, unknown, 10.0.0.2"
    assert client_ip("10.0.0.1", forwarded_for, PROXIES) == IPv4Address("10.0.0.2")


def test_all_trusted_hops_yield_the_left_most():
    assert client_ip("10.0.0.1", "10.0.0.3, 10.0.0.2", PROXIES) == IPv4Address("10.0.0.3")


@pytest.mark.parametrize("peer", [None, "testclient", ""])
def test_invalid_peer_is_none(peer: str | None):
    assert client_ip(peer, "203.0.113.7", PROXIES) is None


def test_ipv6_forwarded_for_through_an_ipv6_proxy():
    forwarded_for = "2001:db8::dead, 2a00:1450:4001::1, fd00::2"
    assert client_ip("fd00::1", forwarded_for, PROXIES) == IPv6Address("2a00:1450:4001::1")


def test_ipv4_mapped_peer_is_matched_and_returned_as_ipv4():
    assert client_ip("::ffff:10.0.0.1", "203.0.113.7", PROXIES) == IPv4Address("203.0.113.7")
    assert client_ip("::ffff:198.51.100.4", None, PROXIES) == IPv4Address("198.51.100.4")


def write_geoip_database(
    path: Path,
    networks: dict[str, str],
    *,
    database_type: str = "GeoIP2-Country",
    ip_version: int = 6,
) -> Path:
    # MaxMind's own databases are IPv6 trees that hold IPv4 under ::/96.
    writer = MMDBWriter(
        ip_version=ip_version, ipv4_compatible=ip_version == 6, database_type=database_type
    )
    for network, iso_code in networks.items():
        writer.insert_network(IPSet([network]), {"country": {"iso_code": iso_code}})
    writer.to_db_file(str(path))
    return path


NETWORKS = {
    "81.2.69.0/24": "GB",
    "2.125.160.0/24": "DE",
    "2a02:c7c::/32": "GB",
    # Real databases leave private ranges out; this one has one so skipping them is visible.
    "10.0.0.0/8": "US",
}


@pytest.fixture
def geoip(tmp_path: Path) -> Iterator[CountryResolver]:
    database = write_geoip_database(tmp_path / "country.mmdb", NETWORKS)
    resolver = CountryResolver(header="CF-IPCountry", geoip_database=database)
    yield resolver
    resolver.close()


@pytest.mark.parametrize(
    ("ip", "country"),
    [("81.2.69.160", "GB"), ("2.125.160.216", "DE"), ("2a02:c7c:1234::1", "GB")],
)
def test_country_comes_from_the_geoip_database(geoip: CountryResolver, ip: str, country: str):
    assert geoip.country({}, ip_address(ip)) == country


def test_country_header_wins_over_geoip(geoip: CountryResolver):
    headers = Headers({"cf-ipcountry": "fr"})
    assert geoip.country(headers, ip_address("81.2.69.160")) == "FR"


@pytest.mark.parametrize("value", ["XX", "T1", "xx", "GBR", "G", "", "1A"])
def test_invalid_country_header_falls_back_to_geoip(geoip: CountryResolver, value: str):
    assert geoip.country({"CF-IPCountry": value}, ip_address("2.125.160.216")) == "DE"


def test_unknown_ip_has_no_country(geoip: CountryResolver):
    assert geoip.country({}, ip_address("8.8.8.8")) is None


def test_private_ip_has_no_country(geoip: CountryResolver):
    assert geoip.country({}, ip_address("10.1.2.3")) is None


def test_missing_ip_has_no_country(geoip: CountryResolver):
    assert geoip.country({}, None) is None


def test_country_from_a_city_database(tmp_path: Path):
    database = write_geoip_database(
        tmp_path / "city.mmdb", {"81.2.69.0/24": "GB"}, database_type="GeoLite2-City"
    )
    resolver = CountryResolver(header=None, geoip_database=database)
    assert resolver.country({}, ip_address("81.2.69.160")) == "GB"
    resolver.close()


def test_country_header_is_ignored_unless_configured(tmp_path: Path):
    database = write_geoip_database(tmp_path / "country.mmdb", NETWORKS)
    resolver = CountryResolver(header=None, geoip_database=database)
    assert resolver.country({"CF-IPCountry": "FR"}, ip_address("81.2.69.160")) == "GB"
    resolver.close()


def test_ipv6_ip_on_an_ipv4_only_database_has_no_country(tmp_path: Path):
    database = write_geoip_database(tmp_path / "v4.mmdb", {"81.2.69.0/24": "GB"}, ip_version=4)
    resolver = CountryResolver(header=None, geoip_database=database)
    assert resolver.country({}, ip_address("81.2.69.160")) == "GB"
    assert resolver.country({}, ip_address("2a02:c7c::1")) is None
    resolver.close()


def test_header_only_resolver_has_no_country_without_the_header():
    resolver = CountryResolver(header="CF-IPCountry", geoip_database=None)
    assert resolver.country({"CF-IPCountry": "de"}, None) == "DE"
    assert resolver.country({}, ip_address("81.2.69.160")) is None


def test_missing_geoip_database_is_a_value_error(tmp_path: Path):
    path = tmp_path / "missing.mmdb"
    with pytest.raises(ValueError, match=re.escape(f"{path} cannot be read: No such file")):
        CountryResolver(header=None, geoip_database=path)


def test_non_maxmind_file_is_a_value_error(tmp_path: Path):
    path = tmp_path / "country.csv"
    path.write_text("network,country\n81.2.69.0/24,GB\n")
    with pytest.raises(ValueError, match=re.escape(f"{path} is not a MaxMind DB file")):
        CountryResolver(header=None, geoip_database=path)


def test_database_without_countries_is_a_value_error(tmp_path: Path):
    path = write_geoip_database(tmp_path / "asn.mmdb", {}, database_type="GeoLite2-ASN")
    with pytest.raises(ValueError, match=re.escape(f"{path} is a GeoLite2-ASN database")):
        CountryResolver(header=None, geoip_database=path)
