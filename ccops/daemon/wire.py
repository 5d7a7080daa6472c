"""The daemon's local socket protocol: one JSON object per line, both ways.

Why JSON lines over a Unix socket: every client (the console, ``ccops status``, scripts) is
local, and the socket's file permissions plus the kernel's peer credentials give an identity
the client cannot forge. Frames are capped in size so a hostile or broken client cannot make
the daemon buffer without bound.

Client → daemon::

    {"op": "hello", "client": "tui", "subscribe": true}
    {"op": "snapshot"}
    {"op": "execute", "id": "c1", "command": "pause_member", "params": {...}}
    {"op": "ack_alert", "id": "c2", "alert_id": "…"}
    {"op": "bye"}

Daemon → client::

    {"type": "welcome", "operator": {...}, "schema": "ccops.status/1"}
    {"type": "snapshot", "seq": 7, "data": {...}}            # the full status document
    {"type": "delta", "seq": 8, "set": {path: value}, "del": [path]}
    {"type": "alert", "change": "raised", "alert": {...}}    # at once, not coalesced
    {"type": "result", "id": "c1", "result": {...}}
    {"type": "error", "message": "…"}
"""

from __future__ import annotations

import json
from typing import Any

MAX_FRAME_BYTES = 1024 * 1024
SCHEMA = "ccops.status/1"


class WireError(Exception):
    """A frame that is not a JSON object on one line within the size cap."""


def encode(obj: dict[str, Any]) -> bytes:
    """One frame: compact JSON and a newline."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """Parse one frame; raise :class:`WireError` saying what is wrong."""
    if len(line) > MAX_FRAME_BYTES:
        raise WireError(f"frame of {len(line)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        obj = json.loads(line.decode("utf-8", errors="strict"))
    except UnicodeDecodeError as exc:
        raise WireError(f"frame is not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise WireError(f"frame is not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(obj, dict):
        raise WireError(f"frame must be a JSON object, got {type(obj).__name__}")
    return obj
