"""Masking secrets before an AMI message reaches a log or a screen.

Asterisk 22 prints outbound-registration and endpoint auth passwords in clear in
``PJSIPShowRegistrationsOutbound`` / ``PJSIPShowEndpoint`` replies (asterisk-22-notes §9),
and our own Login action carries the AMI secret. Anything that logs a message goes through
:func:`redact` first.
"""

from __future__ import annotations

from collections.abc import Mapping

from ccops.pbx.message import AmiMessage

MASK = "********"
_SENSITIVE_EXACT = frozenset({"md5cred"})
_SENSITIVE_PARTS = ("password", "secret", "passwd")


def is_sensitive(header: str) -> bool:
    """Whether a header name may carry a credential (case-insensitive)."""
    name = header.lower()
    return name in _SENSITIVE_EXACT or any(part in name for part in _SENSITIVE_PARTS)


def redact(msg: AmiMessage) -> AmiMessage:
    """A copy of ``msg`` with every credential-like header value replaced by ``********``."""
    headers = {k: (MASK if is_sensitive(k) else v) for k, v in msg.headers.items()}
    repeated = [(k, MASK if is_sensitive(k) else v) for k, v in msg.repeated]
    return AmiMessage(headers, msg.seq, msg.received_at, repeated)


def redact_fields(fields: Mapping[str, object]) -> dict[str, object]:
    """The same for the fields of an outgoing action (e.g. Login's ``Secret``)."""
    return {k: (MASK if is_sensitive(k) else v) for k, v in fields.items()}
