"""Suggestions: a trunk or link down suggests the outage playbooks; a queue surge suggests
A8 with the Erlang C staffing gap; an open incident is not suggested again."""

from __future__ import annotations

from ccops.core.alerts import Alert, Sample
from ccops.core.incident_suggest import suggest
from ccops.core.playbook_load import LoadedPlaybook


def alert(metric: str, scope: str, message: str, *, cleared: bool = False) -> Alert:
    return Alert(id=f"{metric}-{scope}", rule=metric, scope=scope, metric=metric,
                 severity="critical", op=">=", value=1.0, threshold=1.0, raised_at=0.0,
                 message=message, cleared_at=5.0 if cleared else None)


def test_trunk_down_suggests_the_outage_playbooks(shipped: dict[str, LoadedPlaybook]) -> None:
    found = suggest([alert("trunk_reachable", "main:carrier-a", "carrier-a unreachable")],
                    shipped)
    assert sorted(s.playbook_id for s in found) == [
        "a2_app_network_failure", "a7_network_information_system"]
    assert found[0].reasons == ("carrier-a unreachable",)


def test_pbx_link_down_also_suggests_the_power_cut(shipped: dict[str, LoadedPlaybook]) -> None:
    """One carrier down is not a power cut; losing the PBX itself may be."""
    found = suggest([alert("link_up", "main", "PBX main link down")], shipped)
    assert "a3_power_cut" in {s.playbook_id for s in found}


def test_surge_suggests_a8_with_the_staffing_gap(shipped: dict[str, LoadedPlaybook]) -> None:
    alerts = [alert("waiting", "main:hotline", "hotline: 14 waiting"),
              alert("service_level", "main:hotline", "hotline: SL 61%")]
    samples = [Sample("erlang_gap", "main:hotline", 4.0), Sample("erlang_gap", "main:b", 9.0)]
    found = suggest(alerts, shipped, samples=samples)
    assert [s.playbook_id for s in found] == ["a8_call_surge"]
    assert found[0].staffing_gap == 4.0
    assert found[0].signals == ("waiting_calls_high", "service_level_low")
    assert suggest(alerts, shipped, open_playbooks=["a8_call_surge"]) == []


def test_cleared_alerts_suggest_nothing(shipped: dict[str, LoadedPlaybook]) -> None:
    assert suggest([alert("link_up", "main", "down", cleared=True)], shipped) == []
