"""The console's one command registry: UI actions and the core commands, as data.

Why one table: key bindings, the footer, the ``?`` help screen, the command palette, the
``:`` command line and the role checks all read from here, so they cannot disagree (k9s
#794: a help screen that lied about the keys). A UI entry that performs a PBX change names
the core command (:data:`ccops.core.commands.COMMANDS`) it sends; its capability and whether
it needs the PBX come from that command, never from a second list.

What the UI does with a role: it hides what the role may not do and disables what cannot
run now (PBX link down, daemon lost), always with the reason. The daemon still authorises
every command; the UI only avoids offering what would be refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding, BindingType

from ccops.core.commands import COMMANDS
from ccops.core.roles import Capability, Role, allows

ALL = "*"  # scope: every live screen


@dataclass(frozen=True, slots=True)
class UiCommand:
    """One thing the operator can do, with where, how and who."""

    id: str
    title: str
    action: str  # Textual action run on the screen (or ``app.…``)
    scopes: tuple[str, ...]
    key: str | None = None
    key_display: str | None = None
    help: str = ""
    core: str | None = None  # name in COMMANDS
    capability_override: Capability | None = None  # for UI-only entries (views)
    footer: bool = True
    destructive: bool = False

    @property
    def capability(self) -> Capability | None:
        if self.core is not None:
            return COMMANDS[self.core].capability
        return self.capability_override

    @property
    def needs_pbx(self) -> bool:
        return self.core is not None and COMMANDS[self.core].needs_pbx

    @property
    def needs_daemon(self) -> bool:
        return self.core is not None

    @property
    def shown_key(self) -> str:
        if self.key_display:
            return self.key_display
        return self.key or ""


@dataclass(frozen=True, slots=True)
class Resource:
    """A view reachable from the ``:`` command line (k9s resources)."""

    name: str
    aliases: tuple[str, ...]
    title: str
    capability: Capability | None = None


RESOURCES: tuple[Resource, ...] = (
    Resource("dashboard", ("dash", "d", "home"), "Dashboard"),
    Resource("queues", ("queue", "q", "qs"), "Queues", Capability.VIEW_LIVE),
    Resource("agents", ("agent", "a", "members"), "Agents", Capability.VIEW_LIVE),
    Resource("trunks", ("trunk", "t", "tr", "carriers"), "Trunks", Capability.VIEW_TRUNKS),
    Resource("alerts", ("alert", "al", "alarms"), "Alerts"),
    Resource("routing", ("route", "r", "flags", "flag"), "Routing", Capability.VIEW_LIVE),
    Resource("audit", ("au", "log"), "Audit", Capability.VIEW_AUDIT),
    Resource("playbooks", ("playbook", "pb", "pbs"), "Playbooks"),
    Resource("incidents", ("incident", "inc", "i"), "Incidents"),
)


def resource(name: str) -> Resource | None:
    """The resource a word on the command line names (exact name or alias)."""
    word = name.strip().lower().lstrip(":")
    for res in RESOURCES:
        if word == res.name or word in res.aliases:
            return res
    return None


def _incident(
    id: str, title: str, action: str, scope: str, key: str, help: str, core: str | None = None,
    *, key_display: str | None = None, destructive: bool = False, footer: bool = True,
) -> UiCommand:
    return UiCommand(id, title, action, (scope,), key, key_display, help, core,
                     footer=footer, destructive=destructive)


#: The playbooks and incident screens (issue 4): every incident command has its key here.
INCIDENT_COMMANDS: tuple[UiCommand, ...] = (
    _incident("playbooks.start", "Start", "start_incident", "playbooks", "s",
              "start an incident from the selected playbook (asks the variant, confirms)",
              "start_incident"),
    _incident("playbooks.drill", "Drill mode", "toggle_drill", "playbooks", "d",
              "toggle drill mode: a drill runs on the simulator only, never in statistics"),
    _incident("incidents.open", "Open incident", "open_incident", "incidents", "enter",
              "open the selected incident: steps, countdowns, timeline", key_display="⏎"),
    _incident("incident.complete", "Complete", "complete_step", "incident", "c",
              "complete the selected step, recording what it asks for", "complete_step"),
    _incident("incident.waive", "Waive", "waive_step", "incident", "w",
              "waive the selected step with a note saying why (counts as finished for closure)",
              "complete_step", footer=False),
    _incident("incident.ack", "Acknowledge", "acknowledge_step", "incident", "a",
              "acknowledge the selected fired watchdog, notification or missed deadline",
              "acknowledge_step"),
    _incident("incident.note", "Note", "add_note", "incident", "n",
              "add a note to the incident timeline", "add_incident_note"),
    _incident("incident.timer", "Timer", "change_timer", "incident", "t",
              "move a timer (a note saying why is required)", "change_timer"),
    _incident("incident.level", "Surge level", "set_level", "incident", "l",
              "set the support level by hand (a note is required)", "set_surge_level"),
    _incident("incident.report_field", "Report field", "set_report_field", "incident", "f",
              "fill an item of the incident report (site, impact, measures, trend, other)",
              "set_report_field", footer=False),
    _incident("incident.pbx", "Run PBX step", "run_pbx_step", "incident", "x",
              "run the selected PBX step: preview, confirm (Cancel first), read-back",
              "run_pbx_step", destructive=True),
    UiCommand("incident.standby", "Standby call-out", "standby_callout", ("incident",), None,
              None, "run the incident's standby call-out step: page the standby list, add "
              "whoever presses 1 to the queue (preview, confirm, per-person read-back)",
              "page_standby", footer=False, destructive=True),
    _incident("incident.page", "Page", "page_person", "incident", "g",
              "phone an on-call person through the PBX until they press 1 (also :page NAME)",
              "page_person"),
    _incident("incident.close", "Close", "close_incident", "incident", "C",
              "close the incident: shows the closure gates and its PBX changes still in "
              "force (u undoes them and closes, k keeps them with a note)",
              "close_incident", destructive=True),
    _incident("incident.report", "Report", "show_report", "incident", "m",
              "view the incident report (Markdown) as it would be exported"),
)


def _nav(n: int, res: Resource) -> UiCommand:
    return UiCommand(
        id=f"view.{res.name}",
        title=f"Go to {res.title}",
        action=f"app.show_view('{res.name}')",
        scopes=(ALL,),
        key=str(n),
        help=f":{res.name} — open the {res.title} view",
        capability_override=res.capability,
        footer=False,
    )


def _sort(scope: str, key: str, column: str, title: str) -> UiCommand:
    return UiCommand(
        id=f"sort.{scope}.{column}",
        title=f"Sort by {title}",
        action=f"sort('{column}')",
        scopes=(scope,),
        key=key,
        help=f"sort by {title}; again to reverse",
        footer=False,
    )


COMMAND_TABLE: tuple[UiCommand, ...] = (
    # ---------------------------------------------------------------- everywhere
    UiCommand(
        "nav.command",
        "Command line",
        "command_line",
        (ALL,),
        "colon",
        ":",
        help="type a view (:queues, :agents, :trunks, :alerts, :routing, :audit, "
        ":playbooks, :incidents) or :page NAME, :theme NAME, :help, :quit; Tab completes",
    ),
    UiCommand(
        "nav.filter",
        "Filter",
        "filter",
        (ALL,),
        "slash",
        "/",
        help="filter the rows of this view; Enter keeps it, Esc clears it",
    ),
    UiCommand(
        "nav.help",
        "Help",
        "app.help",
        (ALL,),
        "question_mark",
        "?",
        help="keys and commands of this view, and what your role may do",
    ),
    UiCommand(
        "nav.back",
        "Back",
        "back",
        (ALL,),
        "escape",
        "Esc",
        help="clear the filter, else go back (drill-down → list → dashboard)",
        footer=False,
    ),
    UiCommand(
        "nav.refresh",
        "Refresh",
        "app.resync",
        (ALL,),
        "ctrl+r",
        "^r",
        help="ask the daemon for a fresh full snapshot",
        footer=False,
    ),
    UiCommand(
        "app.theme",
        "Next theme",
        "app.next_theme",
        (ALL,),
        "f2",
        "F2",
        help="cycle dark → light → high-contrast (:theme NAME picks one)",
        footer=False,
    ),
    *(_nav(i + 1, r) for i, r in enumerate(RESOURCES)),
    # ---------------------------------------------------------------- dashboard
    UiCommand(
        "dashboard.open",
        "Open queue",
        "open_queue",
        ("dashboard",),
        "enter",
        "⏎",
        help="drill into the selected queue tile (Tab/arrows move between tiles)",
    ),
    # ---------------------------------------------------------------- queues list
    UiCommand(
        "queues.open",
        "Open queue",
        "open_queue",
        ("queues",),
        "enter",
        "⏎",
        help="drill into the selected queue: callers, members, intervals",
    ),
    UiCommand(
        "queues.overflow",
        "Overflow on/off",
        "toggle_overflow",
        ("queues", "queue"),
        "o",
        help="set or clear the overflow flag of this queue in AstDB",
        core="set_routing_flag",
        destructive=True,
    ),
    _sort("queues", "N", "name", "name"),
    _sort("queues", "W", "waiting", "calls waiting"),
    _sort("queues", "L", "longest", "longest wait"),
    _sort("queues", "S", "sl", "service level"),
    _sort("queues", "A", "abandon", "abandon rate"),
    # ---------------------------------------------------------------- one queue / agents
    UiCommand(
        "member.pause",
        "Pause",
        "pause_member",
        ("queue", "agents"),
        "p",
        help="pause the selected member with a reason (agents view: all queues)",
        core="pause_member",
    ),
    UiCommand(
        "member.unpause",
        "Unpause",
        "unpause_member",
        ("queue", "agents"),
        "u",
        help="unpause the selected member",
        core="unpause_member",
    ),
    UiCommand(
        "member.add",
        "Add member",
        "add_member",
        ("queue",),
        "plus",
        "+",
        help="add an interface to this queue (standby seat, moved agent)",
        core="add_member",
    ),
    UiCommand(
        "member.remove",
        "Remove member",
        "remove_member",
        ("queue",),
        "minus",
        "-",
        help="remove the selected member from this queue",
        core="remove_member",
        destructive=True,
    ),
    UiCommand(
        "member.penalty",
        "Penalty",
        "set_penalty",
        ("queue",),
        "e",
        help="change the selected member's penalty",
        core="set_penalty",
    ),
    UiCommand(
        "queue.next_table",
        "Next table",
        "focus_next_table",
        ("queue",),
        "tab",
        "Tab",
        help="move between callers, members and intervals",
        footer=False,
    ),
    _sort("queue", "S", "state", "member state"),
    _sort("queue", "T", "time", "time in state"),
    _sort("queue", "N", "name", "member name"),
    _sort("agents", "N", "name", "name"),
    _sort("agents", "S", "state", "state"),
    _sort("agents", "T", "time", "time in state"),
    _sort("agents", "O", "occupancy", "occupancy"),
    _sort("agents", "C", "calls", "calls"),
    # ---------------------------------------------------------------- trunks
    _sort("trunks", "N", "name", "name"),
    _sort("trunks", "S", "state", "state"),
    _sort("trunks", "U", "usage", "channel usage"),
    # ---------------------------------------------------------------- alerts
    UiCommand(
        "alert.ack",
        "Acknowledge",
        "acknowledge",
        ("alerts", "dashboard"),
        "a",
        help="acknowledge the selected active alert (it stays until it clears)",
        core="acknowledge_alert",
    ),
    # ---------------------------------------------------------------- routing
    UiCommand(
        "routing.set",
        "Set flag",
        "set_flag",
        ("routing",),
        "s",
        help="turn on overflow, night mode, a forced route or an announcement",
        core="set_routing_flag",
        destructive=True,
    ),
    UiCommand(
        "routing.clear",
        "Clear flag",
        "clear_flag",
        ("routing",),
        "x",
        help="turn the selected flag off (back to the normal route)",
        core="clear_routing_flag",
        destructive=True,
    ),
    # ---------------------------------------------------------------- playbooks, incidents
    *INCIDENT_COMMANDS,
    # ---------------------------------------------------------------- audit
    UiCommand(
        "audit.reload",
        "Reload",
        "reload",
        ("audit",),
        "r",
        help="start again from the newest audit records",
    ),
    UiCommand(
        "audit.older",
        "Older",
        "older",
        ("audit",),
        "b",
        help="load the next older page (also when the cursor reaches the last row)",
    ),
)

BY_ID: dict[str, UiCommand] = {c.id: c for c in COMMAND_TABLE}
if len(BY_ID) != len(COMMAND_TABLE):  # pragma: no cover - a programming error
    raise RuntimeError("duplicate UiCommand id in COMMAND_TABLE")


def commands_for(scope: str, *, include_global: bool = True) -> list[UiCommand]:
    """Entries that apply on a screen of ``scope`` (its own first, then global ones)."""
    own = [c for c in COMMAND_TABLE if scope in c.scopes]
    if include_global and scope != ALL:
        own += [c for c in COMMAND_TABLE if ALL in c.scopes]
    return own


def bindings_for(scope: str) -> list[BindingType]:
    """Textual bindings for a screen of ``scope``: its own entries first (so the footer
    shows what is special here before the keys that work everywhere), then the global ones."""
    out: list[BindingType] = []
    for cmd in commands_for(scope):
        if cmd.key:
            out.append(
                Binding(
                    cmd.key,
                    cmd.action,
                    cmd.title,
                    show=cmd.footer,
                    key_display=cmd.key_display,
                    id=cmd.id,
                    tooltip=cmd.help,
                )
            )
    return out


def find_action(scope: str, action: str) -> UiCommand | None:
    """The entry behind a Textual action name on a screen of ``scope``."""
    for cmd in commands_for(scope):
        if cmd.action == action or cmd.action.split("(")[0] == action:
            return cmd
    return None


def find_key(scope: str, key: str) -> UiCommand | None:
    for cmd in commands_for(scope):
        if cmd.key == key:
            return cmd
    return None


def core_commands_covered() -> set[str]:
    """Core command names that have a UI entry (a test keeps this equal to COMMANDS)."""
    return {c.core for c in COMMAND_TABLE if c.core}


# --------------------------------------------------------------------------- availability


@dataclass(frozen=True, slots=True)
class Availability:
    """Whether an entry is offered (``visible``), can run now (``enabled``), and why not."""

    visible: bool
    enabled: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Situation:
    """What availability depends on: the operator's role and the links, as of now."""

    role: Role | None  # None: not attached yet, role unknown
    attached: bool
    daemon_reason: str = ""  # why not attached
    pbx_down: dict[str, str] | None = None  # pbx name → why its link is not live

    def pbx_problem(self, pbx: str | None = None) -> str:
        down = self.pbx_down or {}
        if pbx is not None:
            return down.get(pbx, "")
        return "; ".join(down[k] for k in sorted(down))


def availability(cmd: UiCommand, situation: Situation, pbx: str | None = None) -> Availability:
    """Role first (hidden), then daemon and PBX link (disabled), each with its reason."""
    cap = cmd.capability
    if cap is not None:
        if situation.role is None:
            return Availability(True, False, situation.daemon_reason or "not attached yet")
        if not allows(situation.role, cap):
            return Availability(
                False,
                False,
                f"READ-ONLY for role {situation.role.value}: needs '{cap.value}'",
            )
    if cmd.needs_daemon and not situation.attached:
        return Availability(True, False, situation.daemon_reason or "daemon connection lost")
    if cmd.needs_pbx:
        problem = situation.pbx_problem(pbx)
        if problem:
            return Availability(True, False, problem)
    return Availability(True, True, "")


def visible_commands(
    commands: Iterable[UiCommand], situation: Situation
) -> list[tuple[UiCommand, Availability]]:
    return [(c, availability(c, situation)) for c in commands]
