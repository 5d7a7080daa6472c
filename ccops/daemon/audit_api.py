"""The daemon's ``audit`` request: who may read the log, and which page of it they get.

Why here and not in the console: the audit log is evidence, so *reading* it is a permission
like any other (``view_audit``, :mod:`ccops.core.roles`), and the daemon is the only place
permissions are decided. Filtering and paging also happen here, in SQL, so a console asking
for "refused actions by bob last night" receives those records and not the whole log.

Request (all fields optional)::

    {"op": "audit", "id": "r1",
     "before_seq": 900,            # newest first, older than #900 (scroll back)
     "after_seq": 0,               # oldest first, newer than #0 (catch up); not with before
     "limit": 100,                 # 1..500
     "operator": "alice",
     "action": "pause_member",     # or a list of names
     "kind": "member",             # member | routing | alert | session
     "result": "refused",          # ok | refused | failed, or a list
     "since": 1700000000.0, "until": 1700003600.0}

Reply: ``{"type": "result", "result": {"records": [...], "more": bool, "order": "asc"|"desc"}}``
or ``{"type": "error", "code": "refused"|"invalid", "message": ...}`` naming the field.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from ccops.core.audit import AuditRecord, AuditResult
from ccops.core.commands import COMMANDS
from ccops.core.execute import Operator
from ccops.core.roles import Capability, allows
from ccops.store.records import AuditQuery

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
SESSION_PREFIX = "session"

KIND_CAPABILITY: dict[str, Capability] = {
    "member": Capability.MEMBER_CONTROL,
    "routing": Capability.ROUTING_TOGGLE,
    "alert": Capability.ACK_ALERT,
}
KINDS: tuple[str, ...] = (*KIND_CAPABILITY, SESSION_PREFIX)


class AuditRequestError(ValueError):
    """A request field is wrong; the message names the field and what was expected."""


def kind_of(action: str) -> str:
    """The kind an audited action belongs to (for display and the kind filter)."""
    if action.startswith(SESSION_PREFIX):
        return SESSION_PREFIX
    cls = COMMANDS.get(action)
    if cls is not None:
        for kind, cap in KIND_CAPABILITY.items():
            if cls.capability is cap:
                return kind
    return "other"


def _int(frame: dict[str, Any], field: str) -> int | None:
    value = frame.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise AuditRequestError(f"{field}: expected a whole number, got {value!r}")
    if value < 0:
        raise AuditRequestError(f"{field}: must not be negative, got {value}")
    return value


def _time(frame: dict[str, Any], field: str) -> float | None:
    value = frame.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AuditRequestError(f"{field}: expected epoch seconds, got {value!r}")
    return float(value)


def _names(frame: dict[str, Any], field: str) -> frozenset[str] | None:
    value = frame.get(field)
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise AuditRequestError(f"{field}: expected a name or a list of names, got {value!r}")
    return frozenset(items)


def parse_query(frame: dict[str, Any]) -> AuditQuery:
    """Read an ``audit`` request into a query; :class:`AuditRequestError` names the field."""
    after = _int(frame, "after_seq")
    before = _int(frame, "before_seq")
    if after is not None and before is not None and after >= before:
        raise AuditRequestError(f"after_seq ({after}) must be below before_seq ({before})")
    limit = _int(frame, "limit")
    if limit is None:
        limit = DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise AuditRequestError(f"limit: must be 1..{MAX_LIMIT}, got {limit}")
    operator = frame.get("operator")
    if operator is not None and (not isinstance(operator, str) or not operator):
        raise AuditRequestError(f"operator: expected a name, got {operator!r}")
    results = _names(frame, "result")
    if results is not None:
        bad = sorted(results - {r.value for r in AuditResult})
        if bad:
            choices = ", ".join(r.value for r in AuditResult)
            raise AuditRequestError(f"result: unknown {', '.join(bad)}; expected {choices}")
    actions = _names(frame, "action")
    prefix: str | None = None
    kind = frame.get("kind")
    if kind is not None:
        if kind not in KINDS:
            raise AuditRequestError(f"kind: unknown {kind!r}; expected {', '.join(KINDS)}")
        if kind == SESSION_PREFIX:
            prefix = SESSION_PREFIX
            of_kind: frozenset[str] = frozenset()
        else:
            cap = KIND_CAPABILITY[kind]
            of_kind = frozenset(n for n, c in COMMANDS.items() if c.capability is cap)
        # action and kind together: the named actions that are of that kind
        if actions is not None:
            actions = actions & of_kind if prefix is None else frozenset(
                a for a in actions if a.startswith(prefix)
            )
            prefix = None
        else:
            actions = of_kind
    since, until = _time(frame, "since"), _time(frame, "until")
    if since is not None and until is not None and since >= until:
        raise AuditRequestError(f"since ({since}) must be before until ({until})")
    return AuditQuery(
        after_seq=after if after is not None or before is not None else 0,
        before_seq=before,
        limit=limit,
        operator=operator,
        actions=actions,
        action_prefix=prefix,
        results=results,
        since=since,
        until=until,
    )


async def audit_request(
    search: Callable[[AuditQuery], Any],
    operator: Operator,
    frame: dict[str, Any],
    to_json: Callable[[AuditRecord], dict[str, Any]],
) -> dict[str, Any]:
    """Answer one ``audit`` request for ``operator`` (``search`` is the store's
    ``audit_search``). One record more than asked is fetched to say whether there is more."""
    rid = frame.get("id")
    if not allows(operator.role, Capability.VIEW_AUDIT):
        return {
            "type": "error",
            "id": rid,
            "code": "refused",
            "message": f"role {operator.role.value} may not read the audit log "
            f"(needs '{Capability.VIEW_AUDIT.value}')",
        }
    try:
        query = parse_query(frame)
    except AuditRequestError as exc:
        return {"type": "error", "id": rid, "code": "invalid", "message": f"audit: {exc}"}
    wanted = query.limit
    probe = dataclasses.replace(query, limit=wanted + 1)
    records: list[AuditRecord] = list(await search(probe))
    more = len(records) > wanted
    order = "desc" if query.before_seq is not None and query.after_seq is None else "asc"
    return {
        "type": "result",
        "id": rid,
        "result": {
            "records": [{**to_json(r), "kind": kind_of(r.entry.action)}
                        for r in records[:wanted]],
            "more": more,
            "order": order,
        },
    }
