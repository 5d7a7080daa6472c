"""The ctrl+p command palette, fed by the same registry as the keys and the help screen.

It lists what applies to the view the palette was opened from, in "area: command" form
(posting's convention), hides what the operator's role may not do, and shows disabled
entries with the reason; choosing a disabled one explains instead of failing silently.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ccops.core.roles import allows
from ccops.tui import registry
from ccops.tui.registry import UiCommand
from ccops.tui.themes import THEMES


class RegistryProvider(Provider):
    """Palette entries from :mod:`ccops.tui.registry` plus views and themes."""

    def _entries(self) -> list[tuple[str, str, UiCommand | None, str]]:
        """(label, help, command or None, special) for the screen the palette came from."""
        screen = self.screen
        scope = str(getattr(screen, "SCOPE", registry.ALL))
        out: list[tuple[str, str, UiCommand | None, str]] = []
        avail_of = getattr(screen, "availability_of", None)
        for cmd in registry.commands_for(scope):
            if cmd.id.startswith("sort.") or cmd.id.startswith("view."):
                continue
            if avail_of is None:
                continue
            avail = avail_of(cmd)
            if not avail.visible:
                continue
            area = cmd.id.split(".")[0]
            label = f"{area}: {cmd.title}"
            hint = cmd.help if avail.enabled else f"unavailable — {avail.reason}"
            out.append((label, hint, cmd, ""))
        role = getattr(getattr(self.app, "link", None), "role", None)
        for res in registry.RESOURCES:
            if res.capability is not None and role is not None and not allows(role, res.capability):
                continue  # like the number keys: a view the role may not open is not offered
            out.append((f"view: {res.title}", f":{res.name}", None, f"view:{res.name}"))
        for theme in THEMES:
            out.append((f"theme: {theme.name}", "switch colours", None, f"theme:{theme.name}"))
        return out

    def _run(self, cmd: UiCommand | None, special: str) -> None:
        app = self.app
        if special:
            kind, _, arg = special.partition(":")
            if kind == "view":
                app.call_later(app.run_action, f"show_view('{arg}')")
            else:
                app.theme = arg
            return
        assert cmd is not None
        screen = self.screen
        explain = getattr(screen, "explain", None)
        if explain is not None and explain(cmd):
            return
        action = cmd.action[4:] if cmd.action.startswith("app.") else cmd.action
        target = app if cmd.action.startswith("app.") else screen
        app.call_later(target.run_action, action)

    async def discover(self) -> Hits:
        for label, hint, cmd, special in self._entries():
            yield DiscoveryHit(label, partial(self._run, cmd, special), help=hint)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, hint, cmd, special in self._entries():
            score = matcher.match(label)
            if score > 0:
                yield Hit(
                    score, matcher.highlight(label), partial(self._run, cmd, special), help=hint
                )
