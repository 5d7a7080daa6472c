"""What each attached client may *receive*: the status document cut to the operator's role.

Why in the daemon and not the console: hiding a table in the UI does not keep the data from
a viewer who reads the socket (or the console's memory). Trunk and carrier health is
``view_trunks`` information (:mod:`ccops.core.roles`), so for a role without it the daemon
never sends the ``trunks`` sections of a PBX, nor alerts about trunks — not in snapshots,
not in deltas, not in pushed alarms.

A view is a small frozen value, so the publisher encodes one delta per distinct view per
tick (not one per client): ten viewers cost the same as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccops.core.roles import Capability, Role, allows

TRUNK_SECTION = "trunks"
TRUNK_METRIC_PREFIX = "trunk_"
ALERT_LISTS = ("alerts", "recent_alerts")


@dataclass(frozen=True, slots=True)
class ClientView:
    """The parts of the status document a client is sent (hashable: one per role)."""

    hidden_sections: frozenset[str] = frozenset()  # per-PBX sections never sent
    hidden_alert_metrics: tuple[str, ...] = ()  # alert metrics (prefixes) never sent

    @property
    def full(self) -> bool:
        return not self.hidden_sections and not self.hidden_alert_metrics

    def allows_path(self, path: str) -> bool:
        """Is an entity path (``pbx/<name>/<section>/…``) sent to this client?"""
        if not self.hidden_sections or not path.startswith("pbx/"):
            return True
        parts = path.split("/", 3)
        return len(parts) < 3 or parts[2] not in self.hidden_sections

    def allows_alert(self, alert: Any) -> bool:
        if not self.hidden_alert_metrics or not isinstance(alert, dict):
            return True
        metric = str(alert.get("metric") or "")
        return not metric.startswith(self.hidden_alert_metrics)

    def entity(self, path: str, value: Any) -> Any:
        """The value of an allowed entity as this client gets it (alert lists filtered)."""
        if self.hidden_alert_metrics and path in ALERT_LISTS and isinstance(value, list):
            return [a for a in value if self.allows_alert(a)]
        return value

    def delta(
        self, changed: dict[str, Any], removed: list[str]
    ) -> tuple[dict[str, Any], list[str]]:
        """A publisher delta cut to this view."""
        if self.full:
            return changed, removed
        return (
            {k: self.entity(k, v) for k, v in changed.items() if self.allows_path(k)},
            [k for k in removed if self.allows_path(k)],
        )

    def document(self, doc: dict[str, Any]) -> dict[str, Any]:
        """A full status document cut to this view (a shallow copy; ``doc`` is untouched)."""
        if self.full:
            return doc
        out = {k: self.entity(k, v) for k, v in doc.items()}
        pbxs = doc.get("pbx")
        if isinstance(pbxs, dict):
            out["pbx"] = {
                name: (
                    {s: v for s, v in p.items() if s not in self.hidden_sections}
                    if isinstance(p, dict)
                    else p
                )
                for name, p in pbxs.items()
            }
        return out

    def frame(self, obj: dict[str, Any]) -> bool:
        """Is an urgent pushed frame (an alert change) sent to this client?"""
        return obj.get("type") != "alert" or self.allows_alert(obj.get("alert"))


def notice_reaches(obj: dict[str, Any], role: str | None) -> bool:
    """Is a pushed frame for an operator of ``role``? An ``incident_notice`` names the roles
    it is for (the playbook step's target); other operators do not receive it at all — the
    console would not show it, and a notice can name people and places. Everything else
    passes (alerts are filtered by :meth:`ClientView.frame`)."""
    if obj.get("type") != "incident_notice":
        return True
    roles = obj.get("roles")
    return role is not None and isinstance(roles, list) and role in {str(r) for r in roles}


FULL_VIEW = ClientView()
NO_TRUNKS_VIEW = ClientView(
    hidden_sections=frozenset({TRUNK_SECTION}), hidden_alert_metrics=(TRUNK_METRIC_PREFIX,)
)


def view_for_role(role: Role | None) -> ClientView:
    """The view of a role; an unknown role gets the narrowest view (fail closed)."""
    if role is not None and allows(role, Capability.VIEW_TRUNKS):
        return FULL_VIEW
    return NO_TRUNKS_VIEW


def view_for_operator(operator: Any) -> ClientView:
    """For :class:`~ccops.daemon.api.ApiServer`: the view of whatever operator object the
    daemon's ``identify`` returned (anything without a :class:`Role` gets the narrowest)."""
    role = getattr(operator, "role", None)
    return view_for_role(role if isinstance(role, Role) else None)
