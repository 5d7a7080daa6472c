"""Per-role views: a role without view_trunks never receives trunk data from the daemon."""

from __future__ import annotations

from typing import Any

from ccops.core.roles import Role
from ccops.daemon.publisher import ClientChannel, Publisher, entities, rebuild
from ccops.daemon.views import FULL_VIEW, NO_TRUNKS_VIEW, view_for_operator, view_for_role
from ccops.daemon.wire import decode

TRUNK_ALERT = {"id": 1, "metric": "trunk_reachable", "scope": "main:carrier-a", "message": "x"}
QUEUE_ALERT = {"id": 2, "metric": "waiting", "scope": "main:hotline", "message": "y"}


def _doc(rtt: int, waiting: int) -> dict[str, Any]:
    return {
        "schema": "ccops.status/1",
        "pbx": {
            "main": {
                "link": {"state": "live"},
                "queues": {"hotline": {"waiting": waiting}},
                "trunks": {"carrier-a": {"rtt_ms": rtt}},
            }
        },
        "alerts": [TRUNK_ALERT, QUEUE_ALERT],
        "recent_alerts": [TRUNK_ALERT],
    }


class _NullWriter:
    def write(self, data: bytes) -> None:  # pragma: no cover - never drained here
        pass


def _frames(client: ClientChannel) -> list[dict[str, Any]]:
    return [decode(client.queue.get_nowait()) for _ in range(client.queue.qsize())]


def test_views_by_role_fail_closed() -> None:
    assert view_for_role(Role.VIEWER) is NO_TRUNKS_VIEW
    assert view_for_role(Role.DISPATCHER) is NO_TRUNKS_VIEW
    assert view_for_role(None) is NO_TRUNKS_VIEW
    for role in (Role.SUPERVISOR, Role.MAINTENANCE, Role.ADMIN):
        assert view_for_role(role) is FULL_VIEW
    assert view_for_operator(("someone", 1000)) is NO_TRUNKS_VIEW  # no Role: narrowest


def test_document_is_cut_without_touching_the_original() -> None:
    doc = _doc(5, 1)
    cut = NO_TRUNKS_VIEW.document(doc)
    assert "trunks" not in cut["pbx"]["main"] and "queues" in cut["pbx"]["main"]
    assert cut["alerts"] == [QUEUE_ALERT] and cut["recent_alerts"] == []
    assert "trunks" in doc["pbx"]["main"] and len(doc["alerts"]) == 2
    assert FULL_VIEW.document(doc) is doc


async def test_publisher_sends_each_view_its_own_snapshot_and_deltas() -> None:
    state = {"rtt": 5, "waiting": 1}
    pub = Publisher(lambda: _doc(state["rtt"], state["waiting"]))
    viewer = ClientChannel(_NullWriter(), 16, "viewer", view=NO_TRUNKS_VIEW)  # type: ignore[arg-type]
    admin = ClientChannel(_NullWriter(), 16, "admin", view=FULL_VIEW)  # type: ignore[arg-type]
    for c in (viewer, admin):
        c.subscribed = True
        pub.clients.add(c)
    pub.tick()
    _frames(viewer), _frames(admin)

    snap = decode(pub.snapshot_frame(viewer.view))["data"]
    assert "trunks" not in snap["pbx"]["main"] and snap["alerts"] == [QUEUE_ALERT]

    state["rtt"] = 9  # a trunk-only change: the viewer gets nothing at all
    pub.tick()
    assert _frames(viewer) == []
    [delta] = _frames(admin)
    assert delta["set"] == {"pbx/main/trunks/carrier-a": {"rtt_ms": 9}}

    state["waiting"] = 4
    pub.tick()
    [vdelta] = _frames(viewer)
    assert list(vdelta["set"]) == ["pbx/main/queues/hotline"]
    assert len(_frames(admin)) == 1

    pub.push_now({"type": "alert", "change": "raised", "alert": TRUNK_ALERT})
    pub.push_now({"type": "alert", "change": "raised", "alert": QUEUE_ALERT})
    assert [f["alert"]["id"] for f in _frames(viewer)] == [2]
    assert [f["alert"]["id"] for f in _frames(admin)] == [1, 2]


def test_a_cut_delta_applies_cleanly_on_a_cut_snapshot() -> None:
    old, new = _doc(5, 1), _doc(6, 2)
    new["pbx"]["main"]["trunks"] = {}
    base = entities(NO_TRUNKS_VIEW.document(old))
    changed = {k: v for k, v in entities(new).items() if entities(old).get(k) != v}
    removed = [k for k in entities(old) if k not in entities(new)]
    vset, vdel = NO_TRUNKS_VIEW.delta(changed, removed)
    base.update(vset)
    for k in vdel:
        base.pop(k, None)
    assert rebuild(base) == NO_TRUNKS_VIEW.document(new)


def test_incident_notice_reaches_only_its_target_roles() -> None:
    pub = Publisher(lambda: _doc(5, 1))
    sup = ClientChannel(_NullWriter(), 16, "sup", view=FULL_VIEW, role="supervisor")  # type: ignore[arg-type]
    viewer = ClientChannel(_NullWriter(), 16, "viewer", view=NO_TRUNKS_VIEW, role="viewer")  # type: ignore[arg-type]
    anonymous = ClientChannel(_NullWriter(), 16, "anon", view=FULL_VIEW)  # type: ignore[arg-type]
    for c in (sup, viewer, anonymous):
        c.subscribed = True
        pub.clients.add(c)
    pub.push_now({"type": "incident_notice", "incident_id": 1, "roles": ["supervisor"],
                  "message": "call the fire brigade"})
    assert [f["type"] for f in _frames(sup)] == ["incident_notice"]
    assert _frames(viewer) == [] and _frames(anonymous) == []
    pub.push_now({"type": "page", "page": {}})  # not a notice: everyone subscribed gets it
    assert [len(_frames(c)) for c in (sup, viewer, anonymous)] == [1, 1, 1]
