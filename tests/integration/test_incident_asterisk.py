"""An incident's PBX step against the real Asterisk 22 tier: the A8 surge playbook's
overflow step sets the flag through the daemon's audited path, a real call takes the
overflow route, a plain close is refused while the change stands, and closing with
``undo_pbx_changes`` undoes it in the same action — AstDB read back by the admin session,
the next real call takes the normal route — and closes the incident."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asterisk_tier import AmiClient, AsteriskTier
from daemon_tier import wait_live
from test_routing_asterisk import (
    PBX,
    _call_joins,
    _clear_flags,
    _db_get,
    _flag_in_model,
    _routing,
    _settings,
)

from ccops.config import PlaybooksConfig
from ccops.core.commands import (
    CloseIncident,
    CompleteStep,
    RunPbxStep,
    StartIncident,
)
from ccops.core.execute import Operator
from ccops.core.roles import Role
from ccops.daemon.service import Daemon

pytestmark = [pytest.mark.asterisk, pytest.mark.timeout(120)]

LI = Operator(name="li", role=Role.SUPERVISOR, session_id=f"t-{secrets.token_hex(3)}",
              via="local")
# The tier's dialplan (config/asterisk/extensions_ccops.conf) diverts when the flag is "on".
PARAMS = {"a8_call_surge": {"pbx": PBX, "surge_queue": "hotline", "overflow_destination": "on"}}


@pytest.fixture
async def daemon(tier: AsteriskTier, ami_admin: AmiClient,
                 tmp_path: Path) -> AsyncIterator[Daemon]:
    await _clear_flags(ami_admin)
    settings = _settings(tier, tmp_path / "state")
    d = Daemon(settings.model_copy(update={"playbooks": PlaybooksConfig(parameters=PARAMS)}))
    await d.start()
    try:
        await wait_live(d)
        yield d
    finally:
        await d.stop()
        await _clear_flags(ami_admin)


async def test_surge_overflow_step_diverts_a_real_call_and_closing_undoes_it(
    tier: AsteriskTier, ami_admin: AmiClient, daemon: Daemon
) -> None:
    started = await daemon.execute(LI, StartIncident(playbook="a8_call_surge"))
    assert started.ok, started.detail
    ran = await daemon.execute(LI, RunPbxStep(incident_id=1, step="overflow"))
    assert ran.ok, ran.detail
    assert await _db_get(ami_admin, "overflow/hotline") == "on"
    await _flag_in_model(daemon, "overflow/hotline", "on")
    since = len(ami_admin.history)
    assert await _call_joins(tier, ami_admin, "hotline") == "billing"
    await ami_admin.wait_event(_routing("overflow", "hotline"), since=since)
    tier.stop_callers()

    await daemon.execute(LI, CompleteStep(incident_id=1, step="controlled",
                                          record={"controlled_at": "surge over"}))
    refused = await daemon.execute(LI, CloseIncident(incident_id=1))
    assert not refused.ok and "PBX change of step overflow is not undone" in refused.detail
    assert await _db_get(ami_admin, "overflow/hotline") == "on"

    closed = await daemon.execute(LI, CloseIncident(incident_id=1, undo_pbx_changes=True,
                                                    note="surge over"))
    assert closed.ok, closed.detail
    assert "undone: overflow hotline → on (Asterisk now says off)" in closed.detail
    assert await _db_get(ami_admin, "overflow/hotline") is None  # Asterisk's own AstDB
    await _flag_in_model(daemon, "overflow/hotline", None)
    assert await _call_joins(tier, ami_admin, "hotline") == "hotline"  # the normal route
    tier.stop_callers()

    assert daemon.incidents is not None and daemon.store is not None
    assert daemon.incidents.engine.open_incidents == []
    stored = await daemon.incidents.engine.stored(1)
    assert stored is not None and stored.status.value == "closed"
    undo_lines = [e.detail for e in stored.timeline if e.kind == "pbx_undo"]
    assert undo_lines == ["undone: overflow hotline → on; Asterisk now says off"]
    audit = [(r.entry.action, r.entry.result.value, r.entry.operator)
             for r in await daemon.store.audit_page(0, 50)]
    for expected in ("start_incident", "set_routing_flag", "run_pbx_step",
                     "clear_routing_flag"):
        assert (expected, "ok", "li") in audit
    assert audit[-1] == ("close_incident", "ok", "li")
