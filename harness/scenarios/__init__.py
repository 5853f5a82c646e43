"""Scenarios: named sequences of faults and administrator's actions, each judged after it
against what the lab asks and against Pacemaker's own prediction (crm_simulate)."""

from halab.scenarios.load import load_scenarios, scenarios_file
from halab.scenarios.model import Expect, Scenario, Step
from halab.scenarios.runner import ScenarioRun, StepRun, check_scenarios, run_scenarios

__all__ = ["Expect", "Scenario", "ScenarioRun", "Step", "StepRun", "check_scenarios", "load_scenarios",
           "run_scenarios", "scenarios_file"]
