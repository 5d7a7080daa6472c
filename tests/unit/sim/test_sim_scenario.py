"""Scenario files: durations, validation, located errors, the shipped examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccops.sim import ScenarioError, default_centre, load_scenario, parse_scenario
from ccops.sim.scenario import SurgeStep, TrunkDownStep, parse_duration

EXAMPLES = Path(__file__).resolve().parents[3] / "config" / "scenarios"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), ("90s", 90.0), ("5m", 300.0), ("1h30m", 5400.0), ("250ms", 0.25), ("2.5m", 150.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "", "5 minutes", -1, True])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_inline_steps_as_in_the_brief() -> None:
    scenario = parse_scenario(
        'steps = [\n  {at="5m", action="surge", factor=3, duration="30m"},\n'
        '  {at="6m", action="trunk_down", trunk="carrier-b"},\n]\n',
        centre=default_centre(),
    )
    surge, down = scenario.steps
    assert isinstance(surge, SurgeStep) and (surge.at, surge.factor, surge.duration) == (
        300.0, 3.0, 1800.0)  # fmt: skip
    assert isinstance(down, TrunkDownStep) and down.trunk == "carrier-b"


def test_errors_name_file_line_step_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "bad"\n'  # 1
        "\n"  # 2
        "[[steps]]\n"  # 3
        'at = "5m"\n'  # 4
        'action = "surge"\n'  # 5
        "factor = -2\n"  # 6
        "\n"  # 7
        "[[steps]]\n"  # 8
        'at = "6m"\n'  # 9
        'action = "explode"\n',  # 10
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, default_centre())
    problems = info.value.problems
    assert len(problems) == 2
    assert problems[0].startswith(f"{path}:6: steps[0] (surge): factor:")
    assert "greater than 0" in problems[0]
    assert problems[1].startswith(f"{path}:8: steps[1] (explode):")
    assert "surge" in problems[1]  # the message lists the valid actions


def test_unknown_trunk_and_queue_are_located(tmp_path: Path) -> None:
    text = (
        "[traffic]\ncalls_per_hour = { hotline = 10, sales = 5 }\n"
        '[[steps]]\nat = 10\naction = "trunk_down"\ntrunk = "carrier-z"\n'
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, source="x.toml", centre=default_centre())
    assert info.value.problems == [
        "x.toml:6: steps[0] (trunk_down): trunk: no trunk 'carrier-z' "
        "(known: carrier-a, carrier-b)",
        "x.toml:2: traffic.calls_per_hour.sales: no queue 'sales' "
        "(known: billing, hotline, repairs)",
    ]


def test_toml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "x"\n[[steps]\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert info.value.problems[0].startswith(f"{path}:2: TOML syntax error")


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario("[sim]\nsped = 3\n", source="s.toml")
    assert info.value.problems[0].startswith("s.toml:2: sim.sped: Extra inputs")


def test_missing_file() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(Path("/nonexistent/scenario.toml"))
    assert "cannot read" in str(info.value)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_shipped_examples_are_valid(path: Path) -> None:
    scenario = load_scenario(path, default_centre())
    assert scenario.name
