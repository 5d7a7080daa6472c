"""Loading playbooks: every shipped one validates; bad files give file:line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccops.core.playbook_load import (
    LoadedPlaybook,
    PlaybookError,
    load_playbooks,
    parse_playbook,
    shipped_root,
)
from ccops.core.playbook_model import format_span, parse_span

SHIPPED_IDS = {
    "a1_seat_equipment", "a2_app_network_failure", "a3_power_cut", "a4_air_conditioning",
    "a5_fire_theft", "a6_personal_accident", "a7_network_information_system", "a8_call_surge",
    "a9_media", "b1_hall_surge", "b2_hall_system_failure", "b3_robbery", "b4_hall_fire",
    "b5_hall_siege", "b6_hall_disorder", "b7_customer_illness", "b8_customer_injury",
    "b9_lost_property", "b10_media_report",
}

MINIMAL = """\
id: tiny
version: 1
title: Tiny
category: call_center
source: S001-P1 §4
steps:
  - id: one
    kind: check
    actor: team_leader
    title: Do the thing
    source: S001-P1 §4.1
  - id: two
    kind: deadline
    actor: team_leader
    title: Within five minutes
    source: S001-P1 §4.2
    within: 5m
"""


def test_every_domain_procedure_ships_as_a_playbook(shipped: dict[str, LoadedPlaybook]) -> None:
    assert set(shipped) == SHIPPED_IDS


def test_every_step_names_its_seed_source(shipped: dict[str, LoadedPlaybook]) -> None:
    for loaded in shipped.values():
        pb = loaded.playbook
        assert pb.source.startswith(("S001-P1 §", "S001-P2 §")), pb.id
        for step in pb.steps:
            assert step.source.startswith(("S001-P", "domain.md §2")), (pb.id, step.id)
            if step.source.startswith("domain.md"):  # only proposals may come from the brief
                assert "PROPOSAL" in step.source, (pb.id, step.id)


def test_shipped_playbooks_are_package_data() -> None:
    names = {p.name for p in shipped_root().iterdir()}
    assert "a8_call_surge.yaml" in names and len([n for n in names if n.endswith(".yaml")]) == 19


def test_digest_is_stable_across_formatting() -> None:
    a = parse_playbook(MINIMAL, "a.yaml")
    b = parse_playbook(MINIMAL.replace("within: 5m", "within: '5m'") + "\n# comment\n", "b.yaml")
    c = parse_playbook(MINIMAL.replace("within: 5m", "within: 6m"), "c.yaml")
    assert a.digest == b.digest != c.digest


@pytest.mark.parametrize(
    ("text", "seconds"), [("5m", 300), ("90s", 90), ("1h", 3600), ("1h30m", 5400), ("2m5s", 125)]
)
def test_spans(text: str, seconds: int) -> None:
    assert parse_span(text) == seconds
    assert parse_span(format_span(seconds)) == seconds


def _error(text: str) -> list[str]:
    with pytest.raises(PlaybookError) as exc:
        parse_playbook(text, "site/x.yaml")
    return exc.value.problems


def test_yaml_syntax_error_names_file_and_line() -> None:
    problems = _error(MINIMAL.replace("    within: 5m", "    within: [5m"))
    assert len(problems) == 1 and problems[0].startswith("site/x.yaml:")
    assert "YAML syntax" in problems[0]
    line = int(problems[0].split(":")[1])
    assert 16 <= line <= 18


def test_unknown_field_names_line_and_field() -> None:
    problems = _error(MINIMAL.replace("    within: 5m", "    within: 5m\n    whithin: 6m"))
    assert problems == ["site/x.yaml:18: steps.1.whithin: unknown field"]


def test_wrong_type_names_line_and_field() -> None:
    problems = _error(MINIMAL.replace("version: 1", "version: one"))
    assert len(problems) == 1
    assert problems[0].startswith("site/x.yaml:2: version: ")


def test_bad_duration_names_line_and_field() -> None:
    problems = _error(MINIMAL.replace("within: 5m", "within: 5 minutes"))
    assert problems == [
        "site/x.yaml:17: steps.1.within: expected a duration like 5m, 90s, 1h or 1h30m "
        "(got '5 minutes')"
    ]


def test_bare_number_duration_is_refused() -> None:
    problems = _error(MINIMAL.replace("within: 5m", "within: 5"))
    assert "steps.1.within" in problems[0] and "duration" in problems[0]


def test_unknown_step_reference_names_line_and_field() -> None:
    text = MINIMAL + "    needs: [zero]\n"
    assert _error(text) == ["site/x.yaml:18: steps.1.needs.0: unknown step 'zero'"]


def test_unknown_anchor_step_and_closure_reference() -> None:
    text = MINIMAL + "    anchor: step:nope\nclosure:\n  require: [one, three]\n"
    problems = _error(text)
    assert "site/x.yaml:18: steps.1.anchor: unknown step 'nope'" in problems
    assert "site/x.yaml:20: closure.require.1: unknown step 'three'" in problems


def test_unknown_parameter_and_job_role() -> None:
    problems = _error(MINIMAL.replace("within: 5m", "within: $later"))
    assert problems == ["site/x.yaml:17: steps.1.within: unknown parameter $later"]
    boss = MINIMAL.replace("actor: team_leader\n    title: Do", "actor: boss\n    title: Do")
    problems = _error(boss)
    assert len(problems) == 1 and problems[0].startswith("site/x.yaml:9: steps.0.actor: ")
    assert "unknown job role 'boss'" in problems[0]


def test_missing_field_points_at_its_parent() -> None:
    problems = _error(MINIMAL.replace("    title: Within five minutes\n", ""))
    assert problems == ["site/x.yaml:12: steps.1.title: Field required"]


def test_duplicate_key_is_an_error() -> None:
    problems = _error(MINIMAL.replace("version: 1", "version: 1\nversion: 2"))
    assert problems == ["site/x.yaml:3: version: duplicate key"]


def test_pbx_step_command_and_params_are_checked() -> None:
    pbx = """\
  - id: flag
    kind: pbx
    actor: cc_supervisor
    title: Overflow
    source: S001-P1 §8.4
    command: set_routing_flag
    params: {pbx: main, kind: sideways, target: hotline, expected_duration_min: 30}
"""
    problems = _error(MINIMAL + pbx)
    assert len(problems) == 1 and problems[0].startswith("site/x.yaml:24: steps.2.params.kind:")
    problems = _error(MINIMAL + pbx.replace("set_routing_flag", "launch_rocket"))
    assert problems[0].startswith("site/x.yaml:23: steps.2.command: unknown PBX command")


def test_config_directory_overrides_and_adds_by_id(tmp_path: Path) -> None:
    site = tmp_path / "playbooks"
    site.mkdir()
    a4 = (shipped_root() / "a4_air_conditioning.yaml").read_text(encoding="utf-8")
    (site / "a4.yaml").write_text(a4.replace("version: 1", "version: 2"), encoding="utf-8")
    (site / "tiny.yaml").write_text(MINIMAL, encoding="utf-8")
    found = load_playbooks([site])
    assert found["a4_air_conditioning"].playbook.version == 2
    assert found["a4_air_conditioning"].origin.endswith("a4.yaml")
    assert "tiny" in found and len(found) == 20


def test_directory_collects_every_problem_and_checks_links(tmp_path: Path) -> None:
    site = tmp_path / "playbooks"
    site.mkdir()
    (site / "bad1.yaml").write_text(MINIMAL.replace("within: 5m", "within: soon"), "utf-8")
    link = """\
  - id: go
    kind: link
    actor: team_leader
    title: Go elsewhere
    source: S001-P1 §2.7
    playbook: nowhere
"""
    (site / "bad2.yaml").write_text(MINIMAL.replace("id: tiny", "id: tiny2") + link, "utf-8")
    with pytest.raises(PlaybookError) as exc:
        load_playbooks([site], include_shipped=False)
    problems = exc.value.problems
    assert len(problems) == 2
    assert any("bad1.yaml:17: steps.1.within" in p for p in problems)
    assert any("bad2.yaml: steps.2.playbook: unknown playbook 'nowhere'" in p for p in problems)


def test_same_id_twice_in_one_directory_is_an_error(tmp_path: Path) -> None:
    site = tmp_path / "playbooks"
    site.mkdir()
    (site / "a.yaml").write_text(MINIMAL, "utf-8")
    (site / "b.yaml").write_text(MINIMAL, "utf-8")
    with pytest.raises(PlaybookError, match="already defined"):
        load_playbooks([site], include_shipped=False)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="not a directory"):
        load_playbooks([tmp_path / "missing"])
