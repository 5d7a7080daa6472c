"""The ccops console: a Textual app that is a thin client of the daemon.

Data flow: :class:`~ccops.tui.link.ConsoleLink` keeps the daemon's status document; each
delta posts one coalescable :class:`DocumentChanged` message (a burst of deltas costs one
repaint), and the visible screen — only that one — is refreshed at most every
``refresh_min`` seconds (aligned with the daemon's publish period; docs/decisions.md,
"Console cadence"). Alerts are pushed by
the daemon uncoalesced and repaint the alert widgets at once, with a toast (and a bell for a
critical one). A 1 Hz tick keeps the clock, ages and retry countdowns moving even when
nothing arrives.

Nothing here decides what an operator may do: actions go to the daemon's ``execute``,
which authorises, audits and reads back; the UI only hides or disables (with the reason)
what the role or the links would make fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.theme import Theme
from textual.widgets import Input

from ccops.core.roles import Capability, allows
from ccops.daemon.client import DaemonUnavailable
from ccops.heap import settle_heap
from ccops.screens.agents import AgentsScreen
from ccops.screens.alerts import AlertsScreen
from ccops.screens.audit import AuditScreen
from ccops.screens.base import LiveScreen
from ccops.screens.dashboard import DashboardScreen
from ccops.screens.help import HelpScreen
from ccops.screens.incident import IncidentsScreen, page_flow
from ccops.screens.playbooks import PlaybooksScreen
from ccops.screens.queue_detail import QueueDetailScreen
from ccops.screens.queues import QueuesScreen
from ccops.screens.routing import RoutingScreen
from ccops.screens.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmallScreen
from ccops.screens.trunks import TrunksScreen
from ccops.tui import fmt, incident_view, registry, view
from ccops.tui.chrome import AttachInfo, pbx_problems
from ccops.tui.dialogs import FormInput, FormModal
from ccops.tui.history import History
from ccops.tui.link import ConsoleLink
from ccops.tui.palette_provider import RegistryProvider
from ccops.tui.registry import Situation
from ccops.tui.style import APP_CSS
from ccops.tui.themes import DARK, THEMES, palette_for, theme_name
from ccops.tui.view import AlertView
from ccops.tui.widgets.command_bar import CommandBar, PromptInput

HEAP_SETTLE_AGAIN_S = 10.0
REFRESH_MIN_S = 0.1  # = the daemon's default publish period (10 Hz): docs/decisions.md
HOLD_KEYS_MAX_S = 1.0  # keys typed ahead of a prompt's Enter are held at most this long


class DocumentChanged(Message):
    """The status document changed; many in a row collapse into one."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DocumentChanged)


class AlertPushed(Message):
    """An alert was raised, cleared or acknowledged (never coalesced)."""

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__()
        self.frame = frame


class AttachChanged(Message):
    """The console attached to or lost the daemon."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AttachChanged)


def readback_text(readback: Any, limit: int = 240) -> str:
    """A one-line summary of what Asterisk says after the change."""
    if not readback:
        return ""
    if isinstance(readback, dict) and "family" in readback and "key" in readback:

        def shown(v: Any) -> str:
            return "not set" if v is None else repr(v)

        text = (
            f"AstDB {readback.get('family')}/{readback.get('key')} = "
            f"{shown(readback.get('value'))} (was {shown(readback.get('previous'))})"
        )
    elif isinstance(readback, dict):
        parts = []
        for k, v in readback.items():
            if isinstance(v, dict):
                inner = " ".join(f"{ik}={iv}" for ik, iv in v.items() if iv not in (None, ""))
                parts.append(f"{k}: {inner}" if inner else str(k))
            else:
                parts.append(f"{k}={v}")
        text = "; ".join(parts)
    else:
        text = str(readback)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CcopsApp(App[int]):
    """The console. Construct with a :class:`ConsoleLink`; call ``run``/``run_async``."""

    CSS = APP_CSS
    TITLE = "ccops"
    MODES: ClassVar[dict[str, Any]] = {
        "dashboard": DashboardScreen,
        "queues": QueuesScreen,
        "agents": AgentsScreen,
        "trunks": TrunksScreen,
        "alerts": AlertsScreen,
        "routing": RoutingScreen,
        "audit": AuditScreen,
        "playbooks": PlaybooksScreen,
        "incidents": IncidentsScreen,
    }
    DEFAULT_MODE = "dashboard"
    COMMANDS: ClassVar[set[Any]] = {RegistryProvider}
    BINDINGS: ClassVar[list[Any]] = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
    ]

    def __init__(
        self,
        link: ConsoleLink,
        *,
        theme: str = "dark",
        now: Callable[[], float] = time.time,
        refresh_min: float = REFRESH_MIN_S,
        settle_heap_after_first_paint: bool = False,
    ) -> None:
        super().__init__()
        self.link = link
        self._now = now
        self.refresh_min = refresh_min
        # A console process of its own freezes its heap after its first paint (ccops/heap.py);
        # an app in a shared process (tests) must not: frozen objects are never
        # cycle-collected.
        self._heap_settled = not settle_heap_after_first_paint
        for t in THEMES:
            self.register_theme(t)
        self.theme = theme_name(theme) or DARK.name
        self.palette = palette_for(self.current_theme)
        self.history = History()
        self.animation_level = "none"
        self.results: list[dict[str, Any]] = []
        self._held_keys: list[events.Key] | None = None  # typed ahead of a prompt's Enter
        self._hold_waits = 0
        self.notices: dict[tuple[Any, Any], dict[str, Any]] = {}  # last incident notices
        self.page_events: list[dict[str, Any]] = []  # pager progress frames seen
        self._alert_patch: dict[str, dict[str, Any]] = {}
        self._last_refresh = 0.0
        self._refresh_pending = False
        self._dirty = False
        self._situation_sig: tuple[Any, ...] | None = None
        self.refreshes = 0  # visible-screen refreshes (tests, diagnostics)
        self.display_errors = 0
        self.last_display_error = ""

    # ------------------------------------------------------------------ Console protocol

    def now(self) -> float:
        return self._now()

    @property
    def doc(self) -> dict[str, Any]:
        return self.link.document

    def attach_info(self) -> AttachInfo:
        link = self.link
        return AttachInfo(
            link.attached,
            link.ever_attached,
            link.lost_since,
            link.next_retry_at,
            link.reason,
            link.can_retry,
        )

    def situation(self) -> Situation:
        link = self.link
        return Situation(
            role=link.role,
            attached=link.attached,
            daemon_reason=(
                "" if link.attached else f"daemon not attached: {link.reason or 'connecting'}"
            ),
            pbx_down=pbx_problems(self.doc, self.attach_info(), self.now()),
        )

    def active_alerts(self) -> list[AlertView]:
        alerts = {a.key: a for a in view.active_alerts(self.doc)}
        for key, raw in self._alert_patch.items():
            a = view.alert_view(raw)
            if a.active:
                alerts[key] = a
            else:
                alerts.pop(key, None)
        out = list(alerts.values())
        out.sort(key=lambda a: (-a.rank, a.raised_at or 0.0, a.key))
        return out

    def link_summary(self) -> str:
        return "; ".join(f"{v.pbx} {v.state}" for v in view.links(self.doc))

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        self.link.on_document = self._link_document
        self.link.on_alert = self._link_alert
        self.link.on_state = self._link_state
        self.link.start()
        self.set_interval(1.0, self._tick)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self._check_size(self.size.width, self.size.height)

    def _link_document(self, _changed: set[str]) -> None:
        self.post_message(DocumentChanged())

    def _link_alert(self, frame: dict[str, Any]) -> None:
        self.post_message(AlertPushed(frame))

    def _link_state(self) -> None:
        self.post_message(AttachChanged())

    async def action_quit(self) -> None:
        await self.link.stop()
        self.exit(0)

    # ------------------------------------------------------------------ key bursts

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._held_keys is not None:  # a prompt line is being acted on: wait for it
                self._held_keys.append(event)
                return
            if self._open_prompt_for(event.key):
                return
            if event.key == "enter" and isinstance(self.focused, PromptInput | FormInput):
                # Keys after this Enter belong to whatever the line opens (a new view, the
                # filtered table): hold them until the submission has been handled.
                self._held_keys = []
                self.set_timer(HOLD_KEYS_MAX_S, self._release_keys)
        await super().on_event(event)

    def on_command_bar_submitted(self, _event: CommandBar.Submitted) -> None:
        self.call_after_refresh(self._release_keys)

    def on_form_modal_advanced(self, _event: FormModal.Advanced) -> None:
        self.call_after_refresh(self._release_keys)

    async def _release_keys(self) -> None:
        """Replay the held keys, in order, once the screen the line opened is mounted."""
        if self._held_keys is None:
            return
        top = self._top()
        if isinstance(top, LiveScreen) and not top.can_refresh and self._hold_waits < 50:
            self._hold_waits += 1
            self.call_after_refresh(self._release_keys)
            return
        held, self._held_keys, self._hold_waits = self._held_keys, None, 0
        for event in held:
            await self.on_event(event)

    def _open_prompt_for(self, key: str) -> bool:
        """Open the ``:``/``/`` prompt while the raw key is dispatched, not when it has
        bubbled back as a binding: Textual forwards every key of a burst (a paste, a fast
        typist over SSH) to the focused widget before the first one reaches the bindings,
        so the keys typed after ``:`` were lost — or, worse, ran the keys of the screen
        under the prompt. Opened here, the prompt holds focus before the next key is read."""
        top = self._top()
        if not isinstance(top, LiveScreen) or not top.can_refresh:
            return False
        which = {
            registry.BY_ID["nav.command"].key: top.action_command_line,
            registry.BY_ID["nav.filter"].key: top.action_filter,
        }.get(key)
        if which is None or isinstance(self.focused, Input):
            return False
        which()
        return True

    # ------------------------------------------------------------------ live updates

    def on_document_changed(self, _message: DocumentChanged) -> None:
        now = self.now()
        doc = self.doc
        self._alert_patch.clear()
        qs = view.queues(doc)
        for q in qs:
            self.history.record(q.key, "waiting", float(q.waiting), now, keep="max")
            self.history.record(q.key, "sl", q.sl_rolling, now, keep="min")
        self.history.forget({q.key for q in qs})
        self._dirty = True
        self._schedule_refresh()
        if not self._heap_settled and doc:
            self._heap_settled = True
            # after the first live paint, and once more when the first screens and caches
            # the operator opens have been built (ccops/heap.py)
            self.call_after_refresh(settle_heap)
            self.set_timer(HEAP_SETTLE_AGAIN_S, settle_heap)

    def _schedule_refresh(self) -> None:
        if self._refresh_pending:
            return
        wait = self.refresh_min - (time.monotonic() - self._last_refresh)
        if wait <= 0:
            self._refresh_visible()
        else:
            self._refresh_pending = True
            self.set_timer(wait, self._deferred_refresh)

    def _deferred_refresh(self) -> None:
        self._refresh_pending = False
        if self._dirty:
            self._refresh_visible()

    def _refresh_visible(self) -> None:
        self._dirty = False
        self._last_refresh = time.monotonic()
        self._sync_bindings()
        top = self._top()
        if isinstance(top, LiveScreen):
            if top.can_refresh:
                self.refreshes += 1
                self._guarded(top.document_changed)
                self._guarded(top.refresh_chrome)
        else:
            refresh = getattr(top, "refresh_live", None)
            if callable(refresh):
                self._guarded(refresh)

    def _top(self) -> Screen[Any] | None:
        """The visible screen, or None while the app is starting or shutting down."""
        try:
            return self.screen
        except ScreenStackError:
            return None

    def _guarded(self, fn: Callable[[], None]) -> None:
        """Run a repaint; a rendering bug is reported, never allowed to end the console."""
        try:
            fn()
        except Exception as exc:
            self.display_errors += 1
            self.last_display_error = repr(exc)
            self.log.error(f"refresh failed: {exc!r}")
            self.notify(f"display error: {exc}", severity="error", timeout=5)

    def _tick(self) -> None:
        top = self._top()
        if isinstance(top, LiveScreen) and top.can_refresh:
            self._guarded(top.refresh_chrome)
        if self._dirty and not self._refresh_pending:
            self._refresh_visible()
        else:
            self._sync_bindings()

    def _sync_bindings(self) -> None:
        s = self.situation()
        sig = (s.role, s.attached, tuple(sorted((s.pbx_down or {}).keys())))
        if sig != self._situation_sig:
            self._situation_sig = sig
            self.refresh_bindings()
            with contextlib.suppress(Exception):
                self.screen.refresh_bindings()

    def on_alert_pushed(self, message: AlertPushed) -> None:
        frame = message.frame
        if frame.get("type") in ("incident_notice", "page"):
            self._incident_frame(frame)
            return
        if frame.get("type") == "session_notice":
            self._session_notice(frame)
            return
        raw = frame.get("alert")
        if not isinstance(raw, dict):
            return
        alert = view.alert_view(raw)
        self._alert_patch[alert.key] = raw
        change = str(frame.get("change", ""))
        look = fmt.severity_look(alert.severity)
        if change == "raised":
            self.notify(
                alert.message,
                title=f"{look.label} alert raised",
                severity="error" if alert.severity == "critical" else "warning",
                timeout=10,
            )
            if alert.severity == "critical":
                self.bell()
        elif change == "cleared":
            self.notify(alert.message, title="✔ alert cleared", severity="information", timeout=5)
        elif change == "acknowledged":
            self.notify(
                f"{alert.message} (by {alert.acknowledged_by or '?'})",
                title="alert acknowledged",
                timeout=4,
            )
        top = self._top()
        if isinstance(top, LiveScreen) and top.can_refresh:
            self._guarded(top.refresh_alerts)

    def _session_notice(self, frame: dict[str, Any]) -> None:
        """About this SSH session, from the gateway (via the daemon): the idle warning
        before the session is ended, and its all-clear when a key was pressed."""
        message = str(frame.get("message") or "")
        if frame.get("clear"):
            self.notify(message, title="still connected", severity="information", timeout=3)
            return
        timeout = frame.get("timeout")
        seconds = float(timeout) if isinstance(timeout, int | float) else 60.0
        self.notify(message, title="⏱ idle session", severity="warning", timeout=seconds)
        self.bell()

    def _incident_frame(self, frame: dict[str, Any]) -> None:
        """An incident notification (shown to operators of its target roles; the daemon
        repeats it until the step is acknowledged) or a page's progress."""
        role = self.link.role
        if frame.get("type") == "incident_notice":
            if not incident_view.notice_for(frame, role):
                return
            key = (frame.get("incident_id"), frame.get("step"))
            self.notices[key] = frame
            drill = "DRILL " if frame.get("drill") else ""
            self.notify(
                f"{frame.get('message')}\n(:incidents, then a on step {frame.get('step')} "
                "acknowledges)",
                title=f"⚠ {drill}incident {frame.get('incident_id')}: step {frame.get('step')}",
                severity="warning" if frame.get("drill") else "error",
                timeout=55,  # until the daemon's next repeat (every 60 s until acknowledged)
            )
            if not frame.get("drill"):
                self.bell()
        elif role is not None and allows(role, Capability.ACK_STEP):
            title, body, severity = incident_view.page_progress(frame)
            self.page_events.append(frame)
            del self.page_events[:-50]
            self.notify(body or title, title=title, severity=severity,  # type: ignore[arg-type]
                        timeout=8)
        top = self._top()
        if isinstance(top, LiveScreen) and top.can_refresh:
            self._guarded(top.refresh_chrome)

    def on_attach_changed(self, _message: AttachChanged) -> None:
        link = self.link
        if link.attached:
            role = link.role
            self.notify(
                f"attached as {link.operator_name} ({role.value if role else '?'})", timeout=3
            )
        self._sync_bindings()
        top = self._top()
        if isinstance(top, LiveScreen) and top.can_refresh:
            self._guarded(top.refresh_chrome)
            self._guarded(top.document_changed)

    # ------------------------------------------------------------------ size, theme

    def on_resize(self, event: events.Resize) -> None:
        self._check_size(event.size.width, event.size.height)

    def _check_size(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        top = self._top()
        if small:
            if isinstance(top, TooSmallScreen):
                top.show_size(width, height)
            else:
                self.push_screen(TooSmallScreen())
        elif isinstance(top, TooSmallScreen):
            self.pop_screen()

    def _theme_changed(self, theme: Theme) -> None:
        self.palette = palette_for(theme)
        for screen in self.screen_stack:
            if isinstance(screen, LiveScreen):
                for table in screen.query("LiveTable"):
                    table.refresh()
        self._dirty = True
        self._refresh_visible()

    def action_next_theme(self) -> None:
        names = [t.name for t in THEMES]
        idx = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(idx + 1) % len(names)]
        self.notify(f"theme {self.theme}", timeout=2)

    # ------------------------------------------------------------------ navigation

    def show_view(self, name: str) -> None:
        res = registry.resource(name)
        if res is None:
            self.notify(f"no view {name!r}", severity="warning")
            return
        role = self.link.role
        if res.capability is not None and role is not None and not allows(role, res.capability):
            self.notify(
                f"{res.title}: not available to role {role.value} (needs '{res.capability.value}')",
                severity="warning",
                title="Not available",
            )
            return
        if isinstance(self.screen, TooSmallScreen):
            return
        if self.current_mode == res.name:
            while len(self.screen_stack) > 1 and not isinstance(self.screen, TooSmallScreen):
                self.pop_screen()
        else:
            self.switch_mode(res.name)

    def action_show_view(self, name: str) -> None:
        self.show_view(name)

    def open_queue(self, name: str) -> None:
        matches = [
            q for q in view.queues(self.doc) if q.name == name or q.key == name or q.scope == name
        ]
        if not matches:
            self.notify(f"no queue {name!r} in the live state", severity="warning")
            return
        q = matches[0]
        self.show_view("queues")
        self.push_screen(QueueDetailScreen(q.pbx, q.name))

    def action_help(self) -> None:
        top = self._top()
        if isinstance(top, HelpScreen):
            return
        scope = getattr(top, "SCOPE", registry.ALL)
        crumbs = " › ".join(top.crumbs()) if isinstance(top, LiveScreen) else ""
        pbx = top.target_pbx() if isinstance(top, LiveScreen) else None
        self.push_screen(HelpScreen(scope, crumbs or "ccops", pbx))

    def action_resync(self) -> None:
        async def resync() -> None:
            try:
                await self.link.resync()
                self.notify("fresh snapshot received", timeout=2)
            except (DaemonUnavailable, TimeoutError) as exc:
                self.notify(f"cannot refresh: {exc}", severity="warning")

        self.run_worker(resync(), group="resync", exclusive=True)

    def run_command_line(self, text: str) -> None:
        words = text.strip().lstrip(":").split()
        if not words:
            return
        head, rest = words[0].lower(), words[1:]
        if head in ("q", "quit", "q!", "exit") and not rest:
            self.run_worker(self.action_quit())
            return
        if head in ("help", "h", "?"):
            self.action_help()
            return
        if head == "theme":
            name = theme_name(rest[0]) if rest else None
            if name is None:
                self.notify("themes: dark, light, contrast", severity="warning")
            else:
                self.theme = name
            return
        if head == "page":
            self._page_command(rest)
            return
        res = registry.resource(head)
        if res is not None and res.name == "queues" and rest:
            self.open_queue(rest[0])
            return
        if res is not None:
            self.show_view(res.name)
            return
        views = ", ".join(f":{r.name}" for r in registry.RESOURCES)
        self.notify(
            f"unknown command {head!r}; try {views}, :theme NAME, :help, :quit", severity="warning"
        )

    def _page_command(self, words: list[str]) -> None:
        """``:page [NAME [why…]]``: page an on-call person (roles that may page)."""
        top = self._top()
        cmd = registry.BY_ID["incident.page"]
        if not isinstance(top, LiveScreen):
            return
        if top.explain(cmd):
            return
        page_flow(top, words[0] if words else "", " ".join(words[1:]), None)

    # ------------------------------------------------------------------ commands

    async def execute_command(
        self, name: str, params: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any] | None:
        """Send one core command to the daemon and report its result and read-back
        (``timeout``: for a command that takes minutes, a page)."""
        try:
            if timeout is None:
                reply = await self.link.execute(name, params)
            else:
                reply = await self.link.execute(name, params, timeout=timeout)
        except DaemonUnavailable as exc:
            self.notify(
                f"{name} NOT sent: {exc}", title="Daemon unavailable", severity="error", timeout=10
            )
            return None
        except TimeoutError:
            self.notify(
                f"{name}: no answer from the daemon in time; the outcome is unknown — "
                "check the Audit view before retrying",
                severity="error",
                timeout=15,
            )
            return None
        if reply.get("type") == "error":
            self.notify(
                f"{name}: {reply.get('message')}",
                title="Daemon error",
                severity="error",
                timeout=10,
            )
            return None
        result = dict(reply.get("result") or {})
        self.results.append(result)
        status = str(result.get("status", ""))
        look = fmt.result_look(status)
        summary = result.get("summary") or name
        detail = str(result.get("detail") or "")
        rb = readback_text(result.get("readback"))
        body = detail + (f"\nread-back: {rb}" if rb and status == "ok" else "")
        if status == "invalid":
            body = "; ".join(result.get("problems") or []) or detail
        self.notify(
            body or summary,
            title=f"{look.glyph} {summary}: {look.word}",
            severity="information" if status == "ok" else "error",
            timeout=6 if status == "ok" else 15,
        )
        return result


async def run_tui(
    socket_path: Path | None = None, *, fd: int | None = None, theme: str = "dark"
) -> int:
    """Attach a console to the daemon (socket path, or an inherited connected socket fd).

    With neither, the socket from the default configuration is used. Returns the exit code.
    """
    if socket_path is None and fd is None:
        from ccops.config import load_settings

        socket_path = load_settings(None).daemon.resolved_socket()
    link = ConsoleLink(socket_path, fd=fd)
    app = CcopsApp(link, theme=theme, settle_heap_after_first_paint=True)
    try:
        code = await app.run_async()
    finally:
        await link.stop()
    return int(code or 0)


def run_tui_sync(
    socket_path: Path | None = None, *, fd: int | None = None, theme: str = "dark"
) -> int:
    """Blocking wrapper for the CLI."""
    return asyncio.run(run_tui(socket_path, fd=fd, theme=theme))
