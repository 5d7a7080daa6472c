"""Shared names for the playbook tests (operators, roster, the fake clock's start)."""

from __future__ import annotations

from pathlib import Path

from ccops.core.clock import FakeClock
from ccops.core.incident_state import Actor
from ccops.core.incidents import IncidentEngine
from ccops.core.playbook_load import LoadedPlaybook
from ccops.core.roles import Role
from ccops.store import Store
from ccops.store.incidents import IncidentStore

T0 = 1_767_225_600.0  # FakeClock's start: 2026-01-01T00:00:00Z

LI = Actor("li", Role.SUPERVISOR)  # duty team leader / supervisor
ZHANG = Actor("zhang", Role.MAINTENANCE)  # O&M specialist
VERA = Actor("vera", Role.VIEWER)
DAN = Actor("dan", Role.DISPATCHER)

ROSTER = {
    "om_specialist": ["zhang"],
    "ops_supervisor": ["wang"],
    "center_manager": ["zhao"],
    "center_leadership": ["zhao"],
    "standby_staff": ["chen", "liu"],
    "functional_staff": ["sun"],
}


class Harness:
    """Opens the store and engine; ``restart()`` closes both and opens them again."""

    def __init__(self, path: Path, clock: FakeClock, playbooks: dict[str, LoadedPlaybook]):
        self.path = path
        self.clock = clock
        self.playbooks = playbooks
        self.store: Store | None = None
        self.repo: IncidentStore | None = None
        self.engine: IncidentEngine | None = None

    async def open(self) -> IncidentEngine:
        self.store = await Store.open(self.path, clock=self.clock)
        self.repo = IncidentStore(self.store)
        self.engine = IncidentEngine(
            self.repo, self.clock, self.playbooks, roster=ROSTER, undos=self.repo
        )
        await self.engine.load()
        return self.engine

    async def restart(self) -> IncidentEngine:
        await self.close()
        return await self.open()

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()
            self.store = None
