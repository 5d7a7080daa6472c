"""The report (seven seed items), the review form, the drill record and its score."""

from __future__ import annotations

from pb_helpers import LI, ZHANG

from ccops.core.clock import FakeClock
from ccops.core.incident_report import drill_record, drill_score, report_markdown, review_form
from ccops.core.incidents import IncidentEngine

MIN = 60.0


async def test_report_has_the_seven_items_and_the_timeline(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    await engine.start("a2_app_network_failure", LI, site="Xining hotline, floor 3")
    await engine.set_report_field(1, "impact", "all seats unable to query; 40 callers waited", LI)
    clock.advance(3 * MIN)
    await engine.complete_step(1, "report_supervisor", LI)
    inc = engine.incident(1)
    text = report_markdown(inc, engine.definition(1))
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:7] == [
        "## 1. Site", "## 2. Time", "## 3. Type", "## 4. Impact and severity",
        "## 5. Measures taken and degree of control",
        "## 6. Trend, potential losses and next measures", "## 7. Other",
    ]
    assert "Xining hotline, floor 3" in text and "40 callers waited" in text
    assert "- detected: 2026-01-01 00:00:00 UTC" in text
    assert "[done] Report to the call-centre supervisor" in text and "T+3m by li" in text
    assert "_(not filled in)_" in text  # trend and other: never invented
    assert "2026-01-01 00:03:00 UTC (T+3m) li — step_done" in text


async def test_drill_score_each_deadline_met_or_missed_by_how_much(
    engine: IncidentEngine, clock: FakeClock
) -> None:
    await engine.start("a2_app_network_failure", LI, drill=True)
    clock.advance(3 * MIN + 40)
    await engine.complete_step(1, "report_supervisor", LI)
    clock.advance(8 * MIN)  # 11:40: the 10-minute watchdog fired at 10:00
    await engine.tick()
    await engine.complete_step(1, "recovered", ZHANG, record={"recovered_at": "00:11"})
    inc = engine.incident(1)
    score = drill_score(inc, engine.definition(1))
    assert (score.met, score.total) == (1, 1)
    assert score.deadlines[0].margin == 80.0
    record = drill_record(inc, engine.definition(1))
    assert "report_supervisor: met, 1m20s to spare" in record
    assert "escalate_10m: fired at T+10m, 1m40s late" in record
    assert "escalate_60m: not needed (recovered done)" in record
    assert "participants: li, zhang" in record


async def test_drill_score_reports_a_miss(engine: IncidentEngine, clock: FakeClock) -> None:
    await engine.start("a6_personal_accident", LI, drill=True)
    clock.advance(12 * MIN)
    await engine.tick()
    await engine.complete_step(1, "staffing_assessment", LI, record={"assessment": "ok"})
    record = drill_record(engine.incident(1), engine.definition(1))
    assert "staffing_assessment: missed by 2m" in record
    assert "score: 0 of 1 deadlines met" in record
    assert "evaluation: _(not filled in)_" in record


async def test_review_form_goes_to_the_right_manager(engine: IncidentEngine) -> None:
    await engine.start("b4_hall_fire", LI)
    await engine.start("a4_air_conditioning", LI)
    hall = review_form(engine.incident(1), engine.definition(1))
    centre = review_form(engine.incident(2), engine.definition(2))
    assert "security inspection department manager" in hall
    assert "centre manager" in centre
    for part in ("## Cause", "## Course", "## Handling", "## Gaps found",
                 "| action | owner | due date |"):
        assert part in hall
