"""Roles and what each may do: the one permission matrix every command is checked against.

Status: **[PROPOSAL]**. ``domain.md`` §1.3 proposes a matrix for the nine job roles seen in
the seeds; ccops folds them into five roles and maps the matrix rows onto *capabilities*
(what a command requires). A command names one capability; the executor allows it when the
operator's role holds that capability. Nothing else in the code decides permissions.

How the seed job roles fold into ccops roles:

* ``viewer``: wallboards, QA and trainers watching (read-only);
* ``supervisor``: duty team leader, supervisor, operations/center manager;
* ``maintenance``: the operations-and-maintenance specialist (系统运维专员);
* ``dispatcher``: the field dispatcher (调度/派工);
* ``admin``: the system administrator.

Mapping of the §1.3 rows (✔ granted, — not granted):

=====================================  ======  ==========  ===========  ==========  =====
capability (§1.3 row)                  viewer  supervisor  maintenance  dispatcher  admin
=====================================  ======  ==========  ===========  ==========  =====
view_live (live queues and agents)     ✔       ✔           ✔            ✔           ✔
view_trunks (trunk/endpoint health)    —       ✔           ✔            —           ✔
view_kpi (KPI reports)                 ✔       ✔           —            ✔ (1)       ✔
member_control (pause/add/remove/      —       ✔           —            —           ✔
penalty)
routing_toggle (overflow/forced route/ —       ✔ (2)       —            —           ✔
announcement/night)
start_playbook                         —       ✔           ✔ (3)        ✔ (3)       ✔
ack_step (acknowledge playbook steps)  —       ✔           ✔ (3)        ✔ (3)       ✔
close_incident                         —       ✔           —            —           ✔
workorder_create                       —       ✔           ✔            ✔           — (4)
workorder_assign (assign/supervise)    —       ✔           —            ✔           — (4)
ack_alert (acknowledge console alerts) —       ✔           ✔            ✔           ✔
view_audit                             —       ✔ (5)       ✔ (5)        —           ✔
manage_users (users, roles, keys)      —       —           —            —           ✔
=====================================  ======  ==========  ===========  ==========  =====

Notes:

1. §1.3 gives dispatchers "dispatch KPIs" only; the narrowing to dispatch reports is the
   report screen's job, the capability says "may open KPI reports at all".
2. §1.3 says "✔ (if granted)": granted by default here because overflow in a surge (A8) is
   the supervisor's call; a site that wants it narrower removes it from this table.
3. §1.3 limits O&M to "technical" playbooks and "own steps", dispatchers to
   "dispatch-related" playbooks and "own steps". The capability is necessary, not
   sufficient: the playbook engine also checks the definition's and step's actor role.
4. §1.3 gives the administrator no work-order rights (administration is not operations);
   kept as proposed.
5. §1.3 has no audit row; the seeds' recording system "tiers" log access. Reading the audit
   log is granted to the roles that act on the PBX or own its health.

§1.3 rows with no ccops command yet (listen/whisper/barge, recordings, blacklist) have no
capability; they get one when their command exists, so nothing here is unused decoration.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType


class Role(enum.StrEnum):
    """An operator's role; identity → role is established by the daemon, never the client."""

    VIEWER = "viewer"
    SUPERVISOR = "supervisor"
    MAINTENANCE = "maintenance"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"


class Capability(enum.StrEnum):
    """Something a command may require; see the module docstring for the matrix."""

    VIEW_LIVE = "view_live"
    VIEW_TRUNKS = "view_trunks"
    VIEW_KPI = "view_kpi"
    MEMBER_CONTROL = "member_control"
    ROUTING_TOGGLE = "routing_toggle"
    START_PLAYBOOK = "start_playbook"
    ACK_STEP = "ack_step"
    CLOSE_INCIDENT = "close_incident"
    WORKORDER_CREATE = "workorder_create"
    WORKORDER_ASSIGN = "workorder_assign"
    ACK_ALERT = "ack_alert"
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"


_C = Capability

PERMISSIONS: Mapping[Role, frozenset[Capability]] = MappingProxyType(
    {
        Role.VIEWER: frozenset({_C.VIEW_LIVE, _C.VIEW_KPI}),
        Role.SUPERVISOR: frozenset(
            {
                _C.VIEW_LIVE,
                _C.VIEW_TRUNKS,
                _C.VIEW_KPI,
                _C.MEMBER_CONTROL,
                _C.ROUTING_TOGGLE,
                _C.START_PLAYBOOK,
                _C.ACK_STEP,
                _C.CLOSE_INCIDENT,
                _C.WORKORDER_CREATE,
                _C.WORKORDER_ASSIGN,
                _C.ACK_ALERT,
                _C.VIEW_AUDIT,
            }
        ),
        Role.MAINTENANCE: frozenset(
            {
                _C.VIEW_LIVE,
                _C.VIEW_TRUNKS,
                _C.START_PLAYBOOK,
                _C.ACK_STEP,
                _C.WORKORDER_CREATE,
                _C.ACK_ALERT,
                _C.VIEW_AUDIT,
            }
        ),
        Role.DISPATCHER: frozenset(
            {
                _C.VIEW_LIVE,
                _C.VIEW_KPI,
                _C.START_PLAYBOOK,
                _C.ACK_STEP,
                _C.WORKORDER_CREATE,
                _C.WORKORDER_ASSIGN,
                _C.ACK_ALERT,
            }
        ),
        Role.ADMIN: frozenset(set(Capability) - {_C.WORKORDER_CREATE, _C.WORKORDER_ASSIGN}),
    }
)


def allows(role: Role, capability: Capability) -> bool:
    """True when ``role`` holds ``capability``."""
    return capability in PERMISSIONS[role]


def capabilities(role: Role) -> frozenset[Capability]:
    """Everything ``role`` may do (for the help screen and the palette filter)."""
    return PERMISSIONS[role]


def parse_role(text: str) -> Role:
    """Read a role name from config (case-insensitive); a clear error names the choices."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {text!r}; expected one of: {choices}") from None
