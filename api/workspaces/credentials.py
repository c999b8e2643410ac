"""Secrets handed to users: postback secrets (kept, they appear in URLs) and API keys (hashed)."""

import hashlib
import secrets
from dataclasses import dataclass

from models.workspace import POSTBACK_SECRET_BYTES

API_KEY_PREFIX = "ct_"


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    plaintext: str
    # The first characters, kept so a listing can tell keys apart.
    prefix: str
    secret_hash: bytes


def new_postback_secret() -> str:
    """192 random bits, URL-safe: the path segment that authenticates postbacks and pixels."""
    return secrets.token_urlsafe(POSTBACK_SECRET_BYTES)


def new_api_key() -> IssuedApiKey:
    plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return IssuedApiKey(
        plaintext=plaintext,
        prefix=plaintext[: len(API_KEY_PREFIX) + 6],
        secret_hash=hash_api_key(plaintext),
    )


def hash_api_key(plaintext: str) -> bytes:
    # Keys carry 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(plaintext.encode()).digest()
