"""The gateway's SSH host key: generated once, kept, private.

Why kept: clients pin the host key on first contact (``known_hosts``); a key that changed
at every restart would train operators to click through the "REMOTE HOST IDENTIFICATION
HAS CHANGED" warning, which is the one warning that must never be ignored. Why checked:
a host key readable by other users lets them impersonate the console.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import asyncssh

from ccops.config import ConfigError


def load_or_create_host_key(path: Path) -> tuple[asyncssh.SSHKey, bool]:
    """The host key at ``path`` (created as a new Ed25519 key, mode 0600, if missing).

    Returns ``(key, created)``. Raises :class:`ConfigError` for a key other users can read
    or a file that is not a private key, rather than serving with it.
    """
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                [f"{path}: host key is readable by other users (mode {mode:04o}); "
                 f"run: chmod 600 {path}"]
            )
        try:
            return asyncssh.read_private_key(path), False
        except (asyncssh.KeyImportError, OSError) as exc:
            raise ConfigError([f"{path}: not a usable SSH private key: {exc}"]) from exc
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="ccops host key")
    data = key.export_private_key("openssh")
    # O_EXCL: never overwrite a key another process created a moment ago.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return key, True
