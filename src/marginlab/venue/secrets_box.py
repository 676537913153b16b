"""API keys and their encrypted secrets.

HMAC verification needs the secret itself, so it cannot be hashed: it is encrypted with Fernet (AES-128-CBC +
HMAC-SHA256, from ``cryptography``) under a key kept **outside the database**: ``MARGINLAB_VENUE_SECRET_KEY``
if set, else the file ``$XDG_CONFIG_HOME/marginlab/venue.key`` (``~/.config/marginlab/venue.key``), created
with mode 0600 on first use. A copy of the database alone does not reveal any secret; losing the key file
makes the stored keys unusable (create new accounts or keys).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from marginlab.errors import InputError

KEY_ENV = "MARGINLAB_VENUE_SECRET_KEY"


class SecretBox:
    """Encrypts and decrypts API secrets with the venue's Fernet key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise InputError(KEY_ENV, "<hidden>", "a Fernet key (32 url-safe base64-encoded bytes)") from None

    @classmethod
    def from_settings(cls, key_file: Path) -> SecretBox:
        """Return the box for ``MARGINLAB_VENUE_SECRET_KEY`` or the key in ``key_file`` (made if absent)."""
        env_key = os.environ.get(KEY_ENV)
        if env_key:
            return cls(env_key.encode())
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        return cls(key_file.read_bytes().strip())

    def encrypt(self, secret: str) -> bytes:
        """Return the encrypted secret."""
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, token: bytes) -> str | None:
        """Return the secret, or None if it was encrypted under another key."""
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            return None


def new_key_pair() -> tuple[str, str]:
    """Return a fresh (api_key, api_secret): 64 alphanumerics each, like Binance's."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return (
        "".join(secrets.choice(alphabet) for _ in range(64)),
        "".join(secrets.choice(alphabet) for _ in range(64)),
    )
