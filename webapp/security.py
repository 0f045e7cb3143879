"""Passwords, secrets at rest and inbound API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Argon2id: slow on purpose, because admin passwords have little entropy."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy_hash: list[str] = []


def dummy_password_hash() -> str:
    """A hash of a random password with the same parameters as real ones, made once.

    Sign-in verifies it when no admin has the username given, so an unknown name costs
    the same Argon2 work as a known one and answer times do not tell which names exist.
    """
    if not _dummy_hash:
        _dummy_hash.append(hash_password(secrets.token_urlsafe(32)))
    return _dummy_hash[0]


def new_encryption_key() -> str:
    return Fernet.generate_key().decode()


class SecretBox:
    """Encrypts stored Freshchat keys; the first key encrypts, all keys decrypt (rotation)."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("ENCRYPTION_KEY is empty")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError(
                "A stored secret cannot be decrypted: was ENCRYPTION_KEY changed?"
            ) from exc

    def __repr__(self) -> str:
        return "SecretBox(<keys hidden>)"


KEY_PREFIX = "fch"


@dataclass(frozen=True)
class NewApiKey:
    """A freshly generated inbound key: ``plaintext`` is shown once and never stored."""

    plaintext: str
    prefix: str
    key_hash: str


def _hash_secret(secret: str) -> str:
    # The secret has 256 bits of entropy, so a fast hash is enough (no stretching needed)
    # and keeps per-request verification cheap on the push path.
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_api_key() -> NewApiKey:
    prefix = f"{KEY_PREFIX}_{secrets.token_hex(6)}"
    secret = secrets.token_urlsafe(32)
    return NewApiKey(f"{prefix}.{secret}", prefix, _hash_secret(secret))


def split_api_key(presented: str) -> tuple[str, str] | None:
    """(prefix, secret) of a presented key, or None when it is not of our form."""
    prefix, dot, secret = presented.strip().partition(".")
    if not dot or not prefix.startswith(f"{KEY_PREFIX}_") or not secret or len(presented) > 200:
        return None
    return prefix, secret


def api_key_matches(secret: str, key_hash: str) -> bool:
    return hmac.compare_digest(_hash_secret(secret), key_hash)
