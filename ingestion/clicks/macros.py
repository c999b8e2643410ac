"""Offer URL macros: {clickid}, {sub1}..{sub20}, {campaign_id}, {source}, {country}, {any_param}."""

import re
from collections.abc import Mapping
from urllib.parse import quote

_MACRO = re.compile(r"\{([A-Za-z0-9_]{1,64})\}")


def fill(template: str, values: Mapping[str, str | None]) -> str:
    """Replace each {name} with its URL-encoded value; unknown macros become empty."""

    def value(match: re.Match[str]) -> str:
        return quote(values.get(match[1]) or "", safe="")

    return _MACRO.sub(value, template)
