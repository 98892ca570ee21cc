"""Channel secrets (URLs with credentials, HMAC keys) encrypted at rest, and redacted for show.

The key is a Fernet key in `data_dir/alerts.key` (mode 0600), made on first start. Losing it
makes the stored channel URLs unreadable, which is the point of keeping it out of the database.
Replicas on one PostgreSQL (issue 19) must all decrypt what any of them sealed: they share the
first one's key through the database's `monitord_secrets`, as they share the JWT key.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "alerts.key"
REDACTED = "***"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SecretBox:
        """The box keyed by `data_dir/alerts.key`, creating the key (0600) on first use.

        Raises OSError when the file cannot be read or written, ValueError when it is no key.
        """
        return cls(load_or_create_key(data_dir))

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        """The plain text; raises ValueError when `sealed` was not made with this key."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ValueError("a channel secret cannot be decrypted with data_dir/alerts.key") from None


def redact_url(url: str) -> str:
    """Scheme and host only: whatever else a URL holds (credentials, tokens in the path or
    query, as chat webhooks carry) is withheld."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return REDACTED
    return f"{parts.scheme}://{host}/{REDACTED}" if parts.scheme else REDACTED


def load_or_create_key(data_dir: Path) -> bytes:
    """The key in `data_dir/alerts.key`, created (0600) on first use. Raises OSError."""
    path = data_dir / KEY_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        key = Fernet.generate_key()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key + b"\n")
        return key
