"""The permission matrix, restated here from domain.md §1.3 so a change to it is deliberate."""

from __future__ import annotations

import pytest

from ccops.core.roles import PERMISSIONS, Capability, Role, allows, capabilities, parse_role

V, S, M, D, A = Role.VIEWER, Role.SUPERVISOR, Role.MAINTENANCE, Role.DISPATCHER, Role.ADMIN

# capability → the roles that hold it (the table in the roles module docstring)
EXPECTED: dict[Capability, set[Role]] = {
    Capability.VIEW_LIVE: {V, S, M, D, A},
    Capability.VIEW_TRUNKS: {S, M, A},
    Capability.VIEW_KPI: {V, S, D, A},
    Capability.MEMBER_CONTROL: {S, A},
    Capability.ROUTING_TOGGLE: {S, A},
    Capability.START_PLAYBOOK: {S, M, D, A},
    Capability.ACK_STEP: {S, M, D, A},
    Capability.CLOSE_INCIDENT: {S, A},
    Capability.WORKORDER_CREATE: {S, M, D},
    Capability.WORKORDER_ASSIGN: {S, D},
    Capability.ACK_ALERT: {S, M, D, A},
    Capability.VIEW_AUDIT: {S, M, A},
    Capability.MANAGE_USERS: {A},
}


def test_every_capability_is_in_the_expected_table() -> None:
    assert set(EXPECTED) == set(Capability)
    assert set(PERMISSIONS) == set(Role)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("capability", list(Capability))
def test_matrix(role: Role, capability: Capability) -> None:
    assert allows(role, capability) is (role in EXPECTED[capability])


def test_viewer_can_change_nothing() -> None:
    assert capabilities(Role.VIEWER) == {Capability.VIEW_LIVE, Capability.VIEW_KPI}


def test_permissions_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        PERMISSIONS[Role.VIEWER] = frozenset(Capability)  # type: ignore[index]


@pytest.mark.parametrize("text", ["supervisor", "Supervisor", " ADMIN "])
def test_parse_role_accepts_names(text: str) -> None:
    assert parse_role(text).value == text.strip().lower()


def test_parse_role_error_lists_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown role 'boss'.*viewer, supervisor"):
        parse_role("boss")
