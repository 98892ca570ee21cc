"""First start: an `admin` account with a random password when there are no users."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from monitord.auth.passwords import hash_password
from monitord.models import Role, now_ms
from monitord.storage import AlreadyExists, Storage

INITIAL_ADMIN = "admin"
PASSWORD_FILE = "initial-admin-password"


async def ensure_initial_admin(storage: Storage, data_dir: Path) -> str | None:
    """Create `admin` with a random password if no user exists; returns that password, else None.

    The password is also written to `{data_dir}/initial-admin-password` with mode 0600.
    """
    if await storage.count_users() > 0:
        return None
    password = secrets.token_urlsafe(15)
    try:
        await storage.create_user(INITIAL_ADMIN, await hash_password(password), Role.ADMIN, now_ms=now_ms())
    except AlreadyExists:  # another process bootstrapped at the same moment
        return None
    write_secret_file(data_dir / PASSWORD_FILE, password)
    return password


def write_secret_file(path: Path, text: str) -> None:
    """Write `text` to `path` readable by the owner only (created 0600, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")
