"""Commands as data: the registry, parsing with clear errors, strict header-safe values."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from ccops.core.commands import (
    COMMANDS,
    AcknowledgeAlert,
    ClearRoutingFlag,
    Command,
    CommandError,
    PauseMember,
    PauseReason,
    SetRoutingFlag,
    UnpauseMember,
    describe,
    parse_command,
    register,
)
from ccops.core.roles import Capability

# One valid parameter set per command; also used by the executor tests.
VALID: dict[str, dict[str, Any]] = {
    "pause_member": {"pbx": "pbx1", "queue": "sales", "interface": "PJSIP/1001", "reason": "break"},
    "unpause_member": {"pbx": "pbx1", "interface": "PJSIP/1001"},
    "add_member": {
        "pbx": "pbx1",
        "queue": "sales",
        "interface": "Local/1001@agents/n",
        "member_name": "王芳 (1001)",
        "penalty": 2,
        "state_interface": "PJSIP/1001",
    },
    "remove_member": {"pbx": "pbx1", "queue": "sales", "interface": "PJSIP/1001"},
    "set_penalty": {"pbx": "pbx1", "interface": "PJSIP/1001", "penalty": 5},
    "set_routing_flag": {
        "pbx": "pbx1",
        "kind": "overflow",
        "target": "sales",
        "value": "on",
        "expected_duration_min": 30,
    },
    "clear_routing_flag": {"pbx": "pbx1", "kind": "night", "target": "4001"},
    "acknowledge_alert": {"alert_id": 7},
    "page_person": {"person": "om-duty", "message": "A2 outage", "ref": "INC-1"},
    "page_standby": {"pbx": "main", "queue": "hotline", "group": "standby_staff",
                     "mode": "in_order", "need": 2, "member_name": "{display_name} (standby)",
                     "penalty": 1, "message": "surge level 2", "ref": "INC-1"},
    "start_incident": {
        "playbook": "a3_power_cut",
        "variant": "mains",
        "site": "floor 3",
        "detected_ago_min": 4,
        "drill": True,
    },
    "complete_step": {
        "incident_id": 1,
        "step": "recovered",
        "record": {"recovered_at": "10:42"},
        "note": "fixed",
        "waive": False,
    },
    "acknowledge_step": {"incident_id": 1, "step": "escalate_10m"},
    "add_incident_note": {"incident_id": 1, "text": "vendor ticket 4411"},
    "change_timer": {
        "incident_id": 1,
        "timer": "support_levels:L2",
        "due_in_min": 15,
        "note": "agreed with the centre manager",
    },
    "set_surge_level": {"incident_id": 1, "level": 2, "note": "calling standby early"},
    "set_report_field": {"incident_id": 1, "field": "impact", "text": "40 callers waited"},
    "run_pbx_step": {"incident_id": 1, "step": "overflow"},
    "close_incident": {"incident_id": 1, "note": "all normal", "keep_pbx_changes": False},
}

CAPABILITY = {
    "pause_member": Capability.MEMBER_CONTROL,
    "unpause_member": Capability.MEMBER_CONTROL,
    "add_member": Capability.MEMBER_CONTROL,
    "remove_member": Capability.MEMBER_CONTROL,
    "set_penalty": Capability.MEMBER_CONTROL,
    "set_routing_flag": Capability.ROUTING_TOGGLE,
    "clear_routing_flag": Capability.ROUTING_TOGGLE,
    "acknowledge_alert": Capability.ACK_ALERT,
    "page_person": Capability.START_PLAYBOOK,
    "page_standby": Capability.MEMBER_CONTROL,
    "start_incident": Capability.START_PLAYBOOK,
    "complete_step": Capability.ACK_STEP,
    "acknowledge_step": Capability.ACK_STEP,
    "add_incident_note": Capability.ACK_STEP,
    "change_timer": Capability.ACK_STEP,
    "set_surge_level": Capability.ACK_STEP,
    "set_report_field": Capability.ACK_STEP,
    "run_pbx_step": Capability.ACK_STEP,
    "close_incident": Capability.CLOSE_INCIDENT,
}


def test_registry_holds_exactly_the_commands() -> None:
    assert set(COMMANDS) == set(VALID)
    for name, cls in COMMANDS.items():
        assert cls.name == name
        assert cls.capability is CAPABILITY[name]
        assert cls.description


@pytest.mark.parametrize("name", sorted(VALID))
def test_each_command_parses_and_round_trips(name: str) -> None:
    command = parse_command(name, VALID[name])
    assert type(command) is COMMANDS[name]
    assert parse_command(name, command.params()) == command
    assert command.summary()


def test_hyphenated_name_is_accepted() -> None:
    assert isinstance(parse_command("pause-member", VALID["pause_member"]), PauseMember)


def test_pause_reasons_are_the_managed_list() -> None:
    assert [r.value for r in PauseReason] == [
        "break",
        "meal",
        "training",
        "meeting",
        "coaching",
        "outbound",
        "equipment_fault",
        "accident",
        "other",
        "acw",
    ]


def test_unknown_command_lists_the_known_ones() -> None:
    with pytest.raises(CommandError) as info:
        parse_command("reboot_pbx", {})
    assert "unknown command 'reboot_pbx'" in str(info.value)
    assert "pause_member" in str(info.value)


def test_errors_are_located_and_all_reported() -> None:
    with pytest.raises(CommandError) as info:
        parse_command(
            "pause_member",
            {"pbx": "pbx 1", "interface": "1001", "reason": "lunch", "force": True},
        )
    problems = info.value.problems
    assert len(problems) == 4
    assert any(p.startswith("pause_member: pbx: expected 1-64 of letters") for p in problems)
    assert any("interface: expected TECH/resource" in p and "'1001'" in p for p in problems)
    assert any("reason:" in p and "'break'" in p and "'lunch'" in p for p in problems)
    assert any("force: Extra inputs are not permitted" in p for p in problems)


def test_missing_required_parameter() -> None:
    params = dict(VALID["set_routing_flag"])
    del params["expected_duration_min"]
    with pytest.raises(CommandError, match="expected_duration_min: Field required"):
        parse_command("set_routing_flag", params)


INJECTIONS = ["on\r\nAction: Hangup", "x\n", "\tx", "a\x00b", " leading", "trailing "]


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("pause_member", "pbx"),
        ("pause_member", "queue"),
        ("pause_member", "interface"),
        ("add_member", "member_name"),
        ("add_member", "state_interface"),
        ("set_routing_flag", "target"),
        ("set_routing_flag", "value"),
    ],
)
@pytest.mark.parametrize("bad", INJECTIONS)
def test_control_characters_never_reach_an_ami_header(name: str, field: str, bad: str) -> None:
    params = {**VALID[name], field: bad}
    with pytest.raises(CommandError, match=field):
        parse_command(name, params)


@pytest.mark.parametrize(
    ("name", "field", "bad"),
    [
        ("set_penalty", "penalty", -1),
        ("add_member", "penalty", 70_000),
        ("set_routing_flag", "expected_duration_min", 0),
        ("set_routing_flag", "expected_duration_min", 7 * 24 * 60 + 1),
        ("set_routing_flag", "kind", "holiday"),
        ("acknowledge_alert", "alert_id", 0),
        ("add_member", "member_name", "x" * 81),
    ],
)
def test_out_of_range_values(name: str, field: str, bad: object) -> None:
    with pytest.raises(CommandError, match=field):
        parse_command(name, {**VALID[name], field: bad})


def test_commands_are_immutable() -> None:
    command = PauseMember.model_validate(VALID["pause_member"])
    with pytest.raises(ValidationError):
        command.reason = PauseReason.MEAL


def test_subjects_pair_the_commands_that_undo_each_other() -> None:
    pause = PauseMember(pbx="p", queue="q", interface="PJSIP/1", reason=PauseReason.BREAK)
    unpause = UnpauseMember(pbx="p", queue="q", interface="PJSIP/1")
    assert pause.subject() == unpause.subject()
    flag = parse_command("set_routing_flag", VALID["set_routing_flag"])
    clear = ClearRoutingFlag(pbx="pbx1", kind=flag.kind, target="sales")  # type: ignore[attr-defined]
    assert flag.subject() == clear.subject() == "routing:pbx1:overflow:sales"
    assert flag.flag_value() == "on" and clear.flag_value() is None
    assert flag.expected_duration() == 30 and clear.expected_duration() is None
    assert AcknowledgeAlert(alert_id=1).subject() is None
    assert isinstance(flag, SetRoutingFlag)


def test_describe_lists_every_command_with_its_parameters() -> None:
    infos = {i.name: i for i in describe()}
    assert set(infos) == set(COMMANDS)
    pause = {p.name: p for p in infos["pause_member"].params}
    assert list(pause) == ["pbx", "queue", "interface", "reason"]
    assert pause["queue"].required is False and pause["queue"].type == "str (optional)"
    assert pause["reason"].choices == tuple(r.value for r in PauseReason)
    assert pause["interface"].help.startswith("member interface")
    flag = {p.name: p for p in infos["set_routing_flag"].params}
    assert flag["value"].default == "on" and flag["expected_duration_min"].required
    assert infos["acknowledge_alert"].needs_pbx is False


def test_describe_can_filter_by_capability() -> None:
    names = [i.name for i in describe(lambda c: c.capability is Capability.ROUTING_TOGGLE)]
    assert names == ["clear_routing_flag", "set_routing_flag"]


def test_register_refuses_duplicates_and_incomplete_classes() -> None:
    class Again(Command):
        name: ClassVar[str] = "pause_member"
        capability: ClassVar[Capability] = Capability.MEMBER_CONTROL
        description: ClassVar[str] = "duplicate"

    with pytest.raises(ValueError, match="registered twice"):
        register(Again)

    class Nameless(Command):
        description: ClassVar[str] = "no name"

    with pytest.raises(TypeError, match="must define name"):
        register(Nameless)
    assert COMMANDS["pause_member"] is PauseMember
