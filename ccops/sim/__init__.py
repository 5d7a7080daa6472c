"""The simulated PBX: a real AMI server that behaves like Asterisk 22, with a seeded call
centre behind it. It is what ``ccops`` runs against with no PBX configured (always labelled
SIMULATED) and the drill ground for emergency exercises. See ``docs/simulator.md``.
"""

from ccops.sim.centre import Centre, default_centre
from ccops.sim.engine import SimStats
from ccops.sim.originate import PAGE_ACK_EVENT, Phone, PhoneBook
from ccops.sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from ccops.sim.server import (
    DEFAULT_SECRET,
    DEFAULT_USERNAME,
    SimulatedPbx,
    SimUser,
    run_sim,
)

__all__ = [
    "DEFAULT_SECRET",
    "DEFAULT_USERNAME",
    "PAGE_ACK_EVENT",
    "Centre",
    "Phone",
    "PhoneBook",
    "Scenario",
    "ScenarioError",
    "SimStats",
    "SimUser",
    "SimulatedPbx",
    "default_centre",
    "load_scenario",
    "parse_scenario",
    "run_sim",
]
