"""The main job: bring a lab up from its document, break it fault by fault while probing the
VIP, print the table and write the record. Also the bring-up and tear-down the CLI shares."""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from halab import bmc, lab as labs
from halab.current import forget_lab
from halab.backends import Backend, open_backend
from halab.experiment import NOT_TESTED, READY_S, FaultRun, measure_fault, patience_s
from halab.errors import HalabError
from halab.faults import FAULTS, fault_named, heal_journal
from halab.labdoc import StepFailed, StepResult, parse_lab_document, run_document
from halab.labdoc.observe import LabObserver
from halab.paths import reports_dir, state_root
from halab.plan import LabPlan, load_plan
from halab.probe import Prober
from halab.progress import detail, say
from halab.report import fault_table, write_record
from halab.report.junit import DocumentOutcome, write_junit
from halab.stacks import stack_for
from halab.stacks.first_election import FirstElection

VIP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class LabUp:
    backend: Backend
    steps: tuple[StepResult, ...]
    phases: dict[str, float]


@dataclass(frozen=True)
class RunResult:
    runs: tuple[FaultRun, ...]
    table: str
    record: Path

    @property
    def passed(self) -> bool:
        return all(run.verdict == "pass" for run in self.runs)


def prober_for(backend: Backend, **options: float) -> Prober:
    plan = backend.plan
    return Prober(plan.vip_url, {n.name: n.page_marker for n in plan.nodes}, netns=backend.client_netns(),
                  macs={n.name: n.mac for n in plan.nodes if n.mac}, **options)


def bring_up(
    plan: LabPlan, name: str, backend_kind: str = "local", *, provision: bool = True, document: Path | None = None,
    options: dict[str, str] | None = None, wait_for_vip: bool = True,
) -> LabUp:
    """Boot fresh nodes, run the lab document (the plan's, or `document`), wait for the VIP
    (unless not `wait_for_vip`: a document's own expect blocks judge it, and it may end
    degraded on purpose); on any failure leave nothing behind."""
    if provision:  # a bad document is one line before anything is made, not after the boot
        parse_lab_document(plan, document)
    open_backend(backend_kind, plan, labs.check_lab_name(name), options).preflight()
    record = labs.create(plan, name, backend_kind, options)
    backend = record.open()
    phases: dict[str, float] = {}
    steps: tuple[StepResult, ...] = ()
    try:
        started = time.monotonic()
        backend.up()
        bmc.start(backend)
        phases["boot_s"] = time.monotonic() - started
        if provision:
            steps = provision_lab(backend, document or plan.document)
            phases["provision_s"] = time.monotonic() - started - phases["boot_s"]
        if provision and wait_for_vip:
            with prober_for(backend) as prober:
                prober.wait_for_answer(VIP_TIMEOUT_S)
            phases["up_to_vip_s"] = time.monotonic() - started
            say(f"lab {name}: the VIP {plan.vip} answers, {phases['up_to_vip_s']:.1f} s after start")
        labs.mark_up(record)
    except BaseException:
        say(f"lab {name}: bring-up failed, removing what was made")
        tear_down(name)
        raise
    return LabUp(backend, steps, phases)


@contextmanager
def lab_up(plan: LabPlan, name: str, backend_kind: str = "local", **options: str) -> Iterator[LabUp]:
    """A provisioned lab for the length of a `with` block, removed afterwards whatever happens."""
    up = bring_up(plan, name, backend_kind, options=options)
    try:
        yield up
    finally:
        tear_down(name)


def provision_lab(backend: Backend, path: Path) -> tuple[StepResult, ...]:
    plan = backend.plan
    document = parse_lab_document(plan, path)
    say(f"running {path.name}: {len(document.steps)} steps")

    def show(outcome: StepResult) -> None:
        verdict = "ok" if outcome.passed else "FAILED"
        detail(f"  step {outcome.step.number} on {outcome.node}: $ {outcome.result.command_line}")
        note = f"; {outcome.note}" if outcome.note else ""
        say(f"  step {outcome.step.number} on {outcome.node}: {verdict} in {outcome.result.duration_s:.1f} s "
            f"({outcome.step.heading}){note}")

    election = FirstElection(backend)
    try:
        return run_document(document, backend, LabObserver(backend), on_step=show, between_steps=election.after_step)
    finally:
        election.finish()


def tear_down(name: str) -> None:
    """Stop and remove a lab entirely; its journal goes with it (nothing left to heal)."""
    backend = labs.find_lab(name).open()
    bmc.stop(backend)
    backend.down()
    labs.forget(name)
    forget_lab(name)
    shutil.rmtree(state_root() / "labs" / name, ignore_errors=True)


def heal(name: str) -> list[str]:
    record = labs.find_lab(name)
    backend = record.open()
    healed = heal_journal(backend, stack_for(backend.plan.stack), labs.journal_for(name))
    if backend.plan.bmc and not bmc.all_running(backend):
        bmc.start(backend)
        healed.append("the virtual BMCs, which had stopped (started again)")
    return healed


def run_faults(backend: Backend, fault_names: Sequence[str]) -> tuple[tuple[FaultRun, ...], list]:
    """Each fault in turn, one prober watching the whole series; returns runs and samples."""
    unpowered = [name for name in fault_names if fault_named(name).needs_power_cycle and not backend.can_power_cycle]
    if unpowered:
        raise HalabError(f"{', '.join(unpowered)} cannot be done on this lab: its backend cannot power a node back on",
                         fix="leave it out (--faults), or grade it on the local backend")
    stack = stack_for(backend.plan.stack)
    timing = stack.timing(backend)
    say(f"downtime budgets from the running configuration: {timing.evidence}")
    journal = labs.journal_for(backend.lab)
    runs: list[FaultRun] = []
    with prober_for(backend) as prober:
        for name in fault_names:
            # A cluster an earlier fault left broken is not waited for again: one look, then not tested.
            broken = next((r for r in runs if r.left_cluster_broken), None)
            broken_by = broken.fault if broken and broken.outcome != NOT_TESTED else ""
            ready_s = 0.0 if broken else patience_s(backend, READY_S)
            runs.append(measure_fault(fault_named(name), backend, stack, prober, timing, journal,
                                      ready_s=ready_s, broken_by=broken_by))
        samples = prober.stop()
    return tuple(runs), samples


def run_lab(
    plan: LabPlan, name: str, fault_names: Sequence[str], *, keep: bool = False, backend_kind: str = "local",
    options: dict[str, str] | None = None,
) -> RunResult:
    up = bring_up(plan, name, backend_kind, options=options)
    try:
        started = time.monotonic()
        runs, samples = run_faults(up.backend, fault_names)
        phases = {**up.phases, "faults_s": time.monotonic() - started}
        path = write_record(
            reports_dir(), lab=name, plan_name=plan.name, backend=backend_kind, phases=phases,
            steps=up.steps, runs=runs, samples=samples,
        )
    finally:
        if not keep:
            tear_down(name)
    return RunResult(runs, fault_table(runs), path)


def checked_faults(names: str) -> list[str]:
    """`--faults A,B` as fault names, every one known: said before anything is brought up."""
    faults = [name.strip() for name in names.split(",")]
    unknown = [name for name in faults if name not in FAULTS]
    if unknown:
        raise HalabError(f"--faults {names}: there is no fault called {unknown[0]!r}",
                         fix=f"choose among: {', '.join(FAULTS)} (comma-separated, e.g. --faults kill-apache,power-off)")
    return faults


def expected_faults(plan: LabPlan) -> list[str]:
    """The fault matrix of a lab: every fault its plan says something about, in catalogue order."""
    return [name for name in FAULTS if plan.expectation(name)]


def test_documents(paths: Sequence[Path], junit: Path, *, name: str = "doc") -> tuple[list[DocumentOutcome], Path]:
    """Run each lab document on fresh nodes called `name` (one after the other, each taken down
    before the next), then its variant's fault matrix; one broken document never stops the
    others. Writes JUnit XML for CI servers."""
    outcomes = []
    for path in paths:
        try:
            plan = load_plan(path.parent)
        except HalabError as error:
            outcomes.append(DocumentOutcome(str(path), path.parent.name, error=str(error)))
            continue
        outcome = DocumentOutcome(str(path), plan.name)
        outcomes.append(outcome)
        try:
            up = bring_up(plan, name, document=path, wait_for_vip=False)
        except StepFailed as failure:
            outcome.steps, outcome.failed_step, outcome.failure = failure.history, failure.outcome, str(failure)
            outcome.faults_skipped = expected_faults(plan)
            continue
        except HalabError as error:
            outcome.error = str(error)
            continue
        try:
            outcome.steps = up.steps
            outcome.runs, _ = run_faults(up.backend, expected_faults(plan))
        except HalabError as error:
            outcome.error = str(error)
        finally:
            tear_down(name)
    return outcomes, write_junit(junit, outcomes)
