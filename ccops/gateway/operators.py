"""The operators file: who may log in over SSH, with which public keys, in which role.

Why a file of its own (not ``authorized_keys`` options): the role is the one thing that
decides what an SSH session may do, so it must be read from a file only the admin edits,
validated strictly (a typo in a role must stop the load, not silently make someone a
viewer or an admin), and reported with file, line and field like ``ccops.toml`` is.

The SSH user name is the operator's ``name`` and the key must be one of *that* operator's
keys: Bob's key does not log in as Alice. A key listed for two operators is an error,
because it would make the identity depend on the user name the client typed.

The file is re-read when it changes (checked at each login and every few seconds by the
gateway, a cheap ``stat`` then a content hash) or on SIGHUP; a broken edit keeps the last
good directory and reports the problems, so a typo at 2 a.m. does not lock every
supervisor out. A good edit applies to sessions already open too:
:meth:`OperatorDirectory.revocation` says, for a session's login, whether the new file
still lets it in with the same role, and the gateway ends the sessions it no longer does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ccops.config import ConfigError, format_errors
from ccops.core.roles import Role

log = logging.getLogger(__name__)

# An SSH user name an operator types: no spaces, no shell metacharacters, not too long.
_OPERATOR_NAME = r"^[a-z_][a-z0-9_.-]{0,31}$"
# The console's theme words (``ccops tui --theme``); kept here so the daemon need not load
# the console's modules to check a file.
THEMES = ("dark", "light", "high-contrast")


class OperatorEntry(BaseModel):
    """One ``[[operator]]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_OPERATOR_NAME)
    role: Role
    keys: list[str] = Field(min_length=1)
    display_name: str = Field(default="", max_length=80)
    theme: str = "dark"

    @field_validator("keys")
    @classmethod
    def _openssh_keys(cls, value: list[str]) -> list[str]:
        problems = []
        for i, text in enumerate(value):
            try:
                asyncssh.import_public_key(text.strip())
            except (asyncssh.KeyImportError, ValueError) as exc:
                shown = text.strip()[:40]
                problems.append(f"keys[{i}] is not an OpenSSH public key ({exc}): {shown!r}")
        if problems:
            raise ValueError("; ".join(problems))
        return [t.strip() for t in value]

    @field_validator("theme")
    @classmethod
    def _known_theme(cls, value: str) -> str:
        if value not in THEMES:
            raise ValueError(f"theme must be one of {', '.join(THEMES)}")
        return value


class OperatorsFile(BaseModel):
    """The whole file: a list of ``[[operator]]`` tables."""

    model_config = ConfigDict(extra="forbid")

    operator: list[OperatorEntry] = Field(default_factory=list)

    @field_validator("operator")
    @classmethod
    def _unique(cls, value: list[OperatorEntry]) -> list[OperatorEntry]:
        names = [o.name for o in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"operator names must be unique; repeated: {', '.join(dupes)}")
        owner: dict[str, str] = {}
        for op in value:
            for text in op.keys:
                fp = fingerprint(asyncssh.import_public_key(text))
                if fp in owner and owner[fp] != op.name:
                    raise ValueError(
                        f"key {fp} is listed for both {owner[fp]} and {op.name}; one key, "
                        "one operator"
                    )
                owner[fp] = op.name
        return value


@dataclass(frozen=True, slots=True)
class Login:
    """What a successful key check established: the operator, their role and the key."""

    name: str
    role: Role
    display_name: str
    theme: str
    fingerprint: str


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The SHA256 fingerprint OpenSSH prints (``ssh-keygen -lf``)."""
    return str(key.get_fingerprint("sha256"))


def load_operators(path: Path) -> OperatorsFile:
    """Read and validate the operators file; :class:`ConfigError` with located problems."""
    return parse_operators(read_operators_bytes(path), path)


def read_operators_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read operators file: {exc.strerror or exc}"]) from exc


def parse_operators(raw: bytes, path: Path) -> OperatorsFile:
    """Validate the file's bytes (``path`` only names it in the problems)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
    try:
        parsed = OperatorsFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, path, text)) from exc
    if not parsed.operator:
        raise ConfigError([f"{path}: no [[operator]] entries: nobody could log in"])
    return parsed


class OperatorDirectory:
    """The current operators, reloaded when the file changes; answers "whose key is this"
    and "does this open session's login still hold"."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_name: dict[str, tuple[OperatorEntry, dict[str, str]]] = {}
        self._stamp: tuple[int, int, int] | None = None
        self._digest = ""
        self.load_errors = 0
        self.reloads = 0
        self.problems: list[str] = []  # why the last changed file was not taken ([] if it was)
        self.reload(strict=True)

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload(self, *, strict: bool = False) -> bool:
        """Re-read the file. At start (``strict``) problems raise; later they are logged,
        kept in :attr:`problems`, and the last good directory stays in force. True when the
        new file was taken."""
        stamp = self._file_stamp()
        raw = b""
        try:
            raw = read_operators_bytes(self.path)
            parsed = parse_operators(raw, self.path)
        except ConfigError as exc:
            if strict:
                raise
            self.load_errors += 1
            self._stamp = stamp  # do not re-report the same broken file at every poll
            self._digest = hashlib.sha256(raw).hexdigest()
            self.problems = list(exc.problems)
            for problem in exc.problems:
                log.error("operators file not reloaded, keeping the previous one: %s", problem)
            return False
        by_name: dict[str, tuple[OperatorEntry, dict[str, str]]] = {}
        for entry in parsed.operator:
            keys = {}
            for text in entry.keys:
                key = asyncssh.import_public_key(text)
                keys[fingerprint(key)] = text
            by_name[entry.name] = (entry, keys)
        self._by_name = by_name
        self._stamp = stamp
        self._digest = hashlib.sha256(raw).hexdigest()
        self.problems = []
        self.reloads += 1
        log.info("operators file %s: %d operators", self.path, len(by_name))
        return True

    def reload_if_changed(self) -> bool | None:
        """Reload when the file's stamp and content changed: None when it had not, else
        what :meth:`reload` returned. A touch or a rewrite with the same bytes is not a
        change (no reload, nothing reported)."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return None
        try:
            raw = self.path.read_bytes()
        except OSError:
            raw = None
        if raw is not None and hashlib.sha256(raw).hexdigest() == self._digest:
            self._stamp = stamp
            return None
        return self.reload()

    def __len__(self) -> int:
        return len(self._by_name)

    def check(self, username: str, key: asyncssh.SSHKey) -> Login | None:
        """The login for ``username`` presenting ``key``, or None (unknown user or key)."""
        found = self._by_name.get(username)
        if found is None:
            return None
        entry, keys = found
        fp = fingerprint(key)
        if fp not in keys:
            return None
        return Login(
            name=entry.name,
            role=entry.role,
            display_name=entry.display_name or entry.name,
            theme=entry.theme,
            fingerprint=fp,
        )

    def revocation(self, login: Login) -> str | None:
        """Why ``login`` (an open session's) no longer holds under the current file, or
        None while it does: the operator removed, the key it used removed, or the role
        changed (up or down: a session runs with one role from start to end)."""
        found = self._by_name.get(login.name)
        if found is None:
            return f"operator {login.name} was removed"
        entry, keys = found
        if login.fingerprint not in keys:
            return f"the key this session used ({login.fingerprint}) was removed"
        if entry.role is not login.role:
            return f"role changed from {login.role.value} to {entry.role.value}"
        return None
