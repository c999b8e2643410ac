"""Outgoing postback URL templates: what a valid one is, how it is filled, how it is shown.

Shared by the API (which refuses a bad template when it is saved) and the forwarder (which
fills and sends it). Macros may stand in the path and the query only: a macro in the host
would let click data (a sub value anyone can put in a tracking link) choose where the
server sends requests.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, urlsplit

from models.click import SUB_COUNT
from models.forwarding import MACROS

MAX_URL_LENGTH = 2048
_MACRO = re.compile(r"\{([^{}]*)\}")
_KNOWN = frozenset(MACROS)
# Printable ASCII without space: anything else must arrive percent-encoded.
_URL_CHARACTERS = re.compile(r"[!-~]*")
MASK = "***"
# Query parameters whose values are credentials, by name.
_SECRET_NAME = re.compile(r"key|token|secret|pass|auth|sig|hash|hmac|credential", re.IGNORECASE)
# A literal that looks generated (letters and digits, 12+ long) is masked too: a source's
# account hash in the path or under an innocent parameter name is a credential all the same.
_GENERATED = re.compile(r"(?=.*[A-Za-z])(?=.*[0-9])[A-Za-z0-9_\-.~%]{12,}")


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a template, or None when it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    if not _URL_CHARACTERS.fullmatch(url):
        return (
            "the URL may hold only printable ASCII without spaces (percent-encode the rest, "
            "e.g. %20 for a space)"
        )
    for name in _MACRO.findall(url):
        if name not in _KNOWN:
            return (
                f"unknown macro {{{name}}}; known: "
                + ", ".join(f"{{{m}}}" for m in MACROS[:10])
                + f", {{sub1}}..{{sub{SUB_COUNT}}}"
            )
    if "{" in _MACRO.sub("", url) or "}" in _MACRO.sub("", url):
        return "a brace that opens or closes no macro; macros look like {clickid}"
    if _MACRO.search(urlsplit(url).netloc):
        return "macros may stand in the path and the query, not in the host or port"
    try:
        parts = urlsplit(_MACRO.sub("x", url))
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as exc:
        return f"the URL does not parse: {exc}"
    if parts.scheme not in ("http", "https"):
        return "the URL must start with http:// or https://"
    if not parts.hostname:
        return "the URL has no host"
    if "@" in parts.netloc:
        return "credentials in the URL are not supported; send them as a query parameter"
    return None


@dataclass(frozen=True, slots=True)
class Template:
    """A template split at its macros once, so that filling it is a join."""

    # Literal text and macro names, alternating: text, name, text, ..., text.
    pieces: tuple[str, ...]

    @property
    def macros(self) -> tuple[str, ...]:
        return self.pieces[1::2]

    def fill(self, quoted: Mapping[str, str]) -> str:
        """The template with each macro replaced by its (already percent-encoded) value."""
        pieces = list(self.pieces)
        pieces[1::2] = [quoted[name] for name in self.macros]
        return "".join(pieces)


@lru_cache(maxsize=1_024)
def parsed(url: str) -> Template:
    return Template(tuple(_MACRO.split(url)))


def quoted(value: str) -> str:
    """A macro's value as it goes into a URL."""
    return quote(value, safe="")


def masked(url: str) -> str:
    """The template with its literal secrets masked, for showing a sent URL: the values of
    credential-named parameters, and path segments or values that look generated. What
    macros bring in (click data) is shown."""
    base, _, fragment = url.partition("#")
    address, question, query = base.partition("?")
    scheme, sep, rest = address.partition("://")
    host, slash, path = rest.partition("/")
    segments = [_mask_literal(s) for s in path.split("/")] if slash else []
    pairs = []
    for pair in query.split("&") if question else []:
        name, equals, value = pair.partition("=")
        if equals and not _MACRO.fullmatch(value) and (_SECRET_NAME.search(name) or value):
            value = MASK if _SECRET_NAME.search(name) else _mask_literal(value)
        pairs.append(f"{name}{equals}{value}")
    out = f"{scheme}{sep}{host}{slash}{'/'.join(segments)}"
    if question:
        out += "?" + "&".join(pairs)
    return out + ("#" + fragment if fragment else "")


def _mask_literal(text: str) -> str:
    if _MACRO.search(text):
        return text
    return MASK if _GENERATED.fullmatch(text) else text
