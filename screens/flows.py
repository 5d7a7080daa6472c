"""Action flows: ask (with live numbers), confirm, execute through the daemon, report.

Each flow runs in a worker (dialogs are awaited with ``push_screen_wait``) and ends in
:meth:`Console.execute_command`, which sends the core command to the daemon and shows the
result with Asterisk's read-back. Parameters are checked with the core command models
before anything is sent, so a typo is caught in the form with the daemon's own wording.

The confirmation texts are computed from the live document each time it changes, so
"calls waiting now 23" is the number at the moment the operator presses Enter.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ccops.core.commands import CommandError, PauseReason, RoutingFlagKind, parse_command
from ccops.screens.base import LiveScreen
from ccops.tui import fmt, view
from ccops.tui.dialogs import ChoiceModal, ConfirmModal, Field, FormModal

FLAG_WORDS = {
    "overflow": "Overflow queue",
    "night": "Night mode for DID",
    "forced_route": "Forced route for DID",
    "emergency_announcement": "Emergency announcement for",
}


def _problems(name: str, params: dict[str, Any]) -> list[str]:
    try:
        parse_command(name, params)
    except CommandError as exc:
        return [p.split(": ", 1)[-1] for p in exc.problems]
    return []


def queue_numbers(screen: LiveScreen, pbx: str, queue: str) -> Text:
    """The live numbers of a queue that matter before changing it."""
    q = view.queue_doc(screen.console.doc, pbx, queue)
    pal = screen.console.palette
    t = Text()
    if q is None:
        t.append(f"Queue {queue} is not in the live state.", style=pal.warn)
        return t
    qv = view.queue_view(pbx, queue, q)
    t.append(f"{queue} now: ")
    t.append(f"{qv.waiting} waiting", style=pal.bad if qv.waiting else pal.strong)
    if qv.waiting:
        t.append(f" (longest {fmt.secs(qv.longest_wait)})")
    t.append(
        f", {qv.available} available, {qv.on_call + qv.ringing + qv.on_hold} on call, "
        f"{qv.paused} paused"
    )
    if qv.gap is not None and qv.gap > 0:
        t.append(f"; Erlang C needs +{qv.gap}", style=pal.bad)
    return t


def _stale_note(screen: LiveScreen, pbx: str) -> Text:
    link = view.link_of(screen.console.doc, pbx)
    if link is None or not link.stale:
        return Text()
    return Text(
        f"\nWARNING: PBX {pbx} link is {link.state.upper()} — these numbers are stale.",
        style=screen.console.palette.bad,
    )


# --------------------------------------------------------------------------- members


async def pause(
    screen: LiveScreen, pbx: str, queue: str | None, interface: str, label: str
) -> None:
    queues = [queue] if queue else _queues_of(screen, pbx, interface)

    def body() -> Text:
        t = Text()
        where = f"queue {queue}" if queue else f"ALL its queues ({', '.join(queues) or '?'})"
        t.append(f"Pause {label} ({interface}) in {where} on {pbx}.\n")
        t.append("They stop receiving calls until unpaused. Choose the reason:\n")
        for qname in queues:
            t.append_text(queue_numbers(screen, pbx, qname))
            t.append("\n")
        t.append_text(_stale_note(screen, pbx))
        return t

    choices = [(r.value, r.value.replace("_", " ")) for r in PauseReason]
    reason = await screen.app.push_screen_wait(
        ChoiceModal(
            "Pause member",
            body,
            choices,
            hint="↑/↓ then Enter pauses with that reason. Esc cancels.",
        )
    )
    if not reason:
        return
    params: dict[str, Any] = {"pbx": pbx, "interface": interface, "reason": reason}
    if queue:
        params["queue"] = queue
    await screen.console.execute_command("pause_member", params)


async def unpause(
    screen: LiveScreen, pbx: str, queue: str | None, interface: str, label: str
) -> None:
    def body() -> Text:
        t = Text(
            f"Unpause {label} ({interface}) in "
            f"{'queue ' + queue if queue else 'all its queues'} on {pbx}: "
            "they take calls again at once.\n"
        )
        for qname in [queue] if queue else _queues_of(screen, pbx, interface):
            t.append_text(queue_numbers(screen, pbx, qname))
            t.append("\n")
        t.append_text(_stale_note(screen, pbx))
        return t

    if not await screen.app.push_screen_wait(
        ConfirmModal("Unpause member", body, action_label="Unpause")
    ):
        return
    params: dict[str, Any] = {"pbx": pbx, "interface": interface}
    if queue:
        params["queue"] = queue
    await screen.console.execute_command("unpause_member", params)


async def remove(screen: LiveScreen, pbx: str, queue: str, interface: str, label: str) -> None:
    def body() -> Text:
        t = Text(
            f"Remove {label} ({interface}) from queue {queue} on {pbx}.\n"
            "They get no more calls from this queue until added back "
            "(the undo is recorded).\n"
        )
        t.append_text(queue_numbers(screen, pbx, queue))
        t.append_text(_stale_note(screen, pbx))
        return t

    if not await screen.app.push_screen_wait(
        ConfirmModal("Remove member", body, action_label="Remove member", destructive=True)
    ):
        return
    await screen.console.execute_command(
        "remove_member", {"pbx": pbx, "queue": queue, "interface": interface}
    )


async def add(screen: LiveScreen, pbx: str, queue: str) -> None:
    def body() -> Text:
        t = Text(f"Add a member to queue {queue} on {pbx}.\n")
        t.append_text(queue_numbers(screen, pbx, queue))
        return t

    base = {"pbx": pbx, "queue": queue}

    def validate(values: dict[str, Any]) -> list[str]:
        return _problems("add_member", {**base, **values})

    values = await screen.app.push_screen_wait(
        FormModal(
            "Add member",
            body,
            [
                Field("interface", "Interface", placeholder="PJSIP/1001 or Local/1001@agents"),
                Field("member_name", "Name shown (optional)", optional=True),
                Field("penalty", "Penalty (0 = first)", default="0", integer=True),
            ],
            validate=validate,
            action_label="Next",
        )
    )
    if not values:
        return
    params = {**base, **values}

    def confirm_body() -> Text:
        who = params.get("member_name") or params["interface"]
        t = Text(
            f"Add {who} ({params['interface']}) to queue {queue} on {pbx} "
            f"with penalty {params.get('penalty', 0)}. They start receiving calls.\n"
        )
        t.append_text(queue_numbers(screen, pbx, queue))
        t.append_text(_stale_note(screen, pbx))
        return t

    if await screen.app.push_screen_wait(
        ConfirmModal("Add member", confirm_body, action_label="Add member")
    ):
        await screen.console.execute_command("add_member", params)


async def penalty(
    screen: LiveScreen, pbx: str, queue: str, interface: str, label: str, current: int
) -> None:
    base = {"pbx": pbx, "queue": queue, "interface": interface}

    def body() -> Text:
        t = Text(
            f"Change the penalty of {label} ({interface}) in queue {queue} on {pbx}; "
            f"now {current}. Lower penalties get calls first.\n"
        )
        t.append_text(queue_numbers(screen, pbx, queue))
        t.append_text(_stale_note(screen, pbx))
        return t

    values = await screen.app.push_screen_wait(
        FormModal(
            "Change penalty",
            body,
            [Field("penalty", "New penalty (0–65535)", default=str(current), integer=True)],
            validate=lambda v: _problems("set_penalty", {**base, **v}),
            action_label="Set penalty",
        )
    )
    if values:
        await screen.console.execute_command("set_penalty", {**base, **values})


def _queues_of(screen: LiveScreen, pbx: str, interface: str) -> list[str]:
    for a in view.agents(screen.console.doc, screen.console.now()):
        if a.pbx == pbx and a.interface == interface:
            return list(a.queues)
    return []


# --------------------------------------------------------------------------- routing


def flag_sentence(kind: str, target: str, value: str) -> str:
    words = FLAG_WORDS.get(kind, kind)
    if kind == "overflow":
        dest = "" if value.lower() == "on" else f" to {value}"
        return f"{words} {target}{dest}"
    return f"{words} {target}" + ("" if value.lower() == "on" else f": {value}")


def _flag_impact(screen: LiveScreen, pbx: str, kind: str, target: str) -> Text:
    qdoc = view.queue_doc(screen.console.doc, pbx, target)
    if qdoc is not None:
        return queue_numbers(screen, pbx, target)
    return Text(
        f"({target} is not a queue we watch: it is taken as a DID.)",
        style=screen.console.palette.muted,
    )


async def set_flag(
    screen: LiveScreen,
    pbx: str,
    *,
    kind: str = "overflow",
    target: str = "",
    value: str = "on",
    duration: int = 60,
) -> None:
    def body() -> Text:
        t = Text(
            "Routing flags live in AstDB and the dialplan reads them at the queue or DID "
            f"entry point. Kinds: {', '.join(k.value for k in RoutingFlagKind)}.\n"
        )
        if target:
            t.append_text(_flag_impact(screen, pbx, kind, target))
        return t

    base = {"pbx": pbx}

    def validate(values: dict[str, Any]) -> list[str]:
        return _problems("set_routing_flag", {**base, **values})

    values = await screen.app.push_screen_wait(
        FormModal(
            "Set routing flag",
            body,
            [
                Field("kind", "Kind", default=kind, placeholder="overflow"),
                Field("target", "Queue or DID", default=target),
                Field("value", "Value (on/destination/sound)", default=value),
                Field(
                    "expected_duration_min",
                    "Reminder after (minutes)",
                    default=str(duration),
                    integer=True,
                ),
            ],
            validate=validate,
            action_label="Next",
        )
    )
    if not values:
        return
    params = {**base, **values}
    await confirm_set_flag(screen, params)


async def confirm_set_flag(screen: LiveScreen, params: dict[str, Any]) -> None:
    pbx, kind, target = params["pbx"], params["kind"], params["target"]
    value = str(params.get("value", "on"))

    def body() -> Text:
        pal = screen.console.palette
        t = Text()
        t.append(flag_sentence(kind, target, value), style=pal.strong)
        t.append(f" on {pbx}.\n")
        qdoc = view.queue_doc(screen.console.doc, pbx, target)
        if qdoc is not None:
            qv = view.queue_view(pbx, target, qdoc)
            t.append("Calls waiting now ")
            t.append(str(qv.waiting), style=pal.bad if qv.waiting else pal.strong)
            t.append(
                f" (longest {fmt.secs(qv.longest_wait) if qv.waiting else fmt.DASH}); "
                f"agents available: {qv.available}.\n"
            )
        else:
            t.append_text(_flag_impact(screen, pbx, kind, target))
            t.append("\n")
        current = view.flag_for(screen.console.doc, pbx, kind, target)
        if current is not None:
            t.append(f"Asterisk says now: {current.family}/{current.key} = {current.value!r}.\n")
        else:
            t.append("Asterisk says now: not set (normal routing).\n")
        t.append(
            f"New calls take this route until it is cleared; a reminder alert fires "
            f"after {params.get('expected_duration_min')} min."
        )
        t.append_text(_stale_note(screen, pbx))
        return t

    if await screen.app.push_screen_wait(
        ConfirmModal("Change routing", body, action_label="Set flag", destructive=True)
    ):
        await screen.console.execute_command("set_routing_flag", params)


async def clear_flag(screen: LiveScreen, flag: view.FlagView) -> None:
    def body() -> Text:
        pal = screen.console.palette
        t = Text()
        t.append(f"Clear {flag.kind.replace('_', ' ')} for {flag.target}", style=pal.strong)
        t.append(f" on {flag.pbx}: back to the normal route.\n")
        t.append(f"Asterisk says now: {flag.family}/{flag.key} = {flag.value!r}.\n")
        t.append_text(_flag_impact(screen, flag.pbx, flag.kind, flag.target))
        t.append_text(_stale_note(screen, flag.pbx))
        return t

    if await screen.app.push_screen_wait(
        ConfirmModal("Change routing", body, action_label="Clear flag", destructive=True)
    ):
        await screen.console.execute_command(
            "clear_routing_flag", {"pbx": flag.pbx, "kind": flag.kind, "target": flag.target}
        )


async def toggle_overflow(screen: LiveScreen, pbx: str, queue: str) -> None:
    current = view.flag_for(screen.console.doc, pbx, "overflow", queue)
    if current is not None and current.is_on:
        await clear_flag(screen, current)
    else:
        await set_flag(screen, pbx, kind="overflow", target=queue)
