"""`halab`: bring up a lab, break it, measure and report. Every error ends in one plain message
with the fix, and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import os
import select
import stat
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from halab import interrupt
from halab import lab as labs
from halab import settings
from halab.current import make_current
from halab.errors import HalabError, NotObserved
from halab.faults import FAULTS

if TYPE_CHECKING:
    from halab.grading.score import Grade
    from halab.submissions.batch import Outcome


# Exit codes, the same for every command (README says so): CI can tell a student's failure from
# bad input and from the harness not seeing.
PASSED, FAILED, STOPPED, NOT_OBSERVED = 0, 1, 2, 3


def grade_exit(grade: "Grade") -> int:
    """3 when some points could not be observed (the grade is provisional), 1 when some failed, else 0."""
    if grade.provisional:
        return NOT_OBSERVED
    return FAILED if any(s.state == "failed" for s in grade.items) else PASSED


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # A `kill` or a CI timeout heals injected faults the same way as Ctrl-C does.
    interrupt.install()
    from halab.labdoc import StepFailed

    try:
        args.settings = settings.resolve(settings.flag_values(args))
        with settings.exported(args.settings):
            return int(args.handler(args) or 0)
    except StepFailed as failure:  # the document did not work as written: its author's failure, not bad input
        print(f"halab: error: {failure}", file=sys.stderr)
        return FAILED
    except NotObserved as error:
        print(f"halab: error: {error}", file=sys.stderr)
        return NOT_OBSERVED
    except HalabError as error:
        print(f"halab: error: {error}", file=sys.stderr)
        return STOPPED
    except KeyboardInterrupt:
        print("halab: interrupted; injected faults were healed (halab heal heals any left)", file=sys.stderr)
        return 130


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("halab")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _list(args: argparse.Namespace) -> None:
    from halab.plan import available_labs, load_plan
    from halab.stacks import stack_for

    print("Labs halab ships (halab up --lab NAME; a lab of your own: --lab ./folder):")
    for name in available_labs():
        plan = load_plan(name)
        print(f"  {name:<11} {plan.stack + '/' + plan.tool:<20} {plan.title}")
    print("\nFaults (halab fault NAME, on the active node; halab run --faults A,B):")
    for fault in FAULTS.values():
        print(f"  {fault.name:<16} {fault.describe(stack_for('pacemaker'), 'the active node')}")
    up = labs.running_labs()
    print("\nLabs up on this machine: " + (", ".join(f"{r.name} ({r.backend})" for r in up) or "none"))
    print("Checks of a lab, with their points: halab check --list --name LAB")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="halab", description=__doc__)
    parser.add_argument("--version", action="version", version=f"halab {_version()}")
    settings.add_verbosity(parser)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, handler, help: str) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        settings.add_verbosity(sub)
        return sub

    command("list", _list, "the labs halab ships, the faults it injects, and the labs up on this machine")
    config = command("config", _config, "show each setting's effective value and where it came from "
                     "(a flag, a HALAB_* variable, ./halab.toml, the user's config.toml, or built-in)")
    for key in settings.SETTINGS:
        if settings.SETTINGS[key].flags:
            settings.add_flag(config, key)
    run = command("run", _run, "bring a lab up, run its fault matrix, print the table, write the record")
    _lab_options(run)
    run.add_argument("--faults", help=f"comma-separated, default: those the plan expects ({','.join(FAULTS)})")
    run.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    settings.add_flag(run, "reports")

    up = command("up", _up, "bring a lab up and run its document")
    _lab_options(up)
    up.add_argument("--no-provision", action="store_true", help="boot the machines only")

    connect = command("connect", _connect, "record a student's own cluster, reached over SSH, as a lab: status, "
                      "check, grade and fault then work on it (preflight first; nothing on the nodes is changed)")
    connect.add_argument("--inventory", type=Path, help="the nodes, VIP, user and key in YAML "
                         "(see README: Grading a student's own cluster); the flags below override it")
    connect.add_argument("--name", help="name of this lab (default: the variant's name)")
    connect.add_argument("--lab", dest="variant", help="lab variant it follows: a folder under labs/ (e.g. pcs)")
    connect.add_argument("--node", action="append", metavar="NAME=ADDRESS", help="a node, in the variant's order (twice)")
    connect.add_argument("--vip", help="the cluster's floating address")
    connect.add_argument("--user", help="who logs in (default root)")
    connect.add_argument("--key", help="private key file")
    connect.add_argument("--port", type=int, help="SSH port of every node (default 22)")
    connect.add_argument("--sudo", action=argparse.BooleanOptionalAction, default=None,
                         help="run commands through sudo -n (default: when the user is not root)")
    connect.add_argument("--netns", help="reach the nodes from inside this network namespace, e.g. a halab lab's")

    for name, handler, help in (
        ("status", _status, "show the labs that are up, their machines and their cluster"),
        ("heal", _heal, "heal every fault a harness left applied"),
        ("down", _down, "stop a lab and remove everything it made"),
    ):
        sub = command(name, handler, help)
        sub.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
        if name == "status":
            sub.add_argument("--json", action="store_true", help="print the labs as JSON (for scripts)")

    fault = command("fault", _fault, "inject one fault on the active node while probing, then heal it")
    fault.add_argument("fault", choices=list(FAULTS))
    fault.add_argument("--yes", action="store_true", help="on a student's own machines (SSH), do not ask first")
    fault.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")

    scenario = command("scenario", _scenario, "run the lab's failure-policy scenarios (scenarios.toml): each step "
                       "judged against the lab's expectation and Pacemaker's own prediction; write the record")
    scenario.add_argument("ids", nargs="*", help="which scenarios (default: all of the file)")
    scenario.add_argument("--file", type=Path, help="a scenarios file of your own (default: the lab's scenarios.toml)")
    scenario.add_argument("--yes", action="store_true", help="on a student's own machines (SSH), do not ask first")
    scenario.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
    settings.add_flag(scenario, "reports", "--output")

    execute = command("exec", _exec, "run one command on a node of a lab and show its output; "
                      "exits with the command's status")
    execute.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
    execute.add_argument("--timeout", type=float, default=600.0, help="seconds (default 600)")
    execute.add_argument("node", help="a node of the lab, e.g. node1")
    execute.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND...", help="the command and its arguments")

    shell = command("shell", _shell, "open a root shell on a node of a local lab (exit leaves it)")
    shell.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
    shell.add_argument("node", help="a node of the lab, e.g. node1")

    probe = command("probe", _probe, "probe the VIP and summarize what a client saw")
    probe.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
    probe.add_argument("--duration", type=float, default=10.0, help="seconds (default 10, at most 3600)")
    probe.add_argument("--period", type=float, default=0.02, help="seconds between requests (default 0.02)")

    doc = command("doc", _doc, "run lab documents: `doc run FILE` brings a lab up from it; "
                  "`doc test FILE...` also runs the fault matrix and writes JUnit XML")
    doc.add_argument("action", choices=["run", "test"])
    doc.add_argument("files", nargs="+", type=Path, help="lab documents (a plan.toml must sit beside each)")
    doc.add_argument("--name", help="the lab's name, used as given (test: each document in turn); default: doc")
    doc.add_argument("--keep", action="store_true", help="run: leave the lab up afterwards")
    doc.add_argument("--junit", type=Path, help="test: where to write JUnit XML (default REPORTS/halab-doc-test.xml)")
    settings.add_flag(doc, "reports")

    check = command("check", _check, "students: run the lab's checks (hidden ones left out), with the fix for each")
    check.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
    check.add_argument("--rubric", type=Path, help="default: the lab's labs/<variant>/rubric.yaml")
    check.add_argument("--yes", action="store_true", help="on a student's own machines (SSH), do not ask first")
    check.add_argument("--list", action="store_true", help="list every check (id, title, kind, points, hidden) and run none")
    check.add_argument("--json", action="store_true", help="print the result as JSON (the record a report holds)")

    grade = command("grade", _grade, "teachers: grade a running lab with its rubric, or a folder of submissions "
                    "(each rebuilt on fresh nodes); write JSON, JUnit, HTML and CSV")
    grade.add_argument("submissions", nargs="*", type=Path,
                       help="a folder of archives written by `halab collect` (or one archive): grade them all; "
                       "`merge DIR...`: one gradebook and class summary from the -o folders of --shard jobs")
    grade.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
    grade.add_argument("--yes", action="store_true", help="on a student's own machines (SSH), do not ask first")
    grade.add_argument("--rubric", type=Path, action="append",
                       help="default: labs/<variant>/rubric.yaml; for submissions, once per variant (its lab: says which)")
    grade.add_argument("--student", help="a running lab: whose lab this is (required): names the reports and the "
                       "gradebook row, e.g. alice.martin or a.martin@school.fr")
    settings.add_flag(grade, "id-column")
    settings.add_flag(grade, "parallel")
    grade.add_argument("--name-prefix", default="sub", help="submissions: names of the rebuilt labs (default sub1, sub2...)")
    grade.add_argument("--json", action="store_true", help="print the result as JSON on stdout (progress stays on "
                       "stderr): a lab's record as its .json report holds it, or one entry per submission")
    grade.add_argument("--resume", action="store_true",
                       help="submissions: keep what an earlier run of the same folder graded with the same archive and rubric")
    grade.add_argument("--shard", metavar="I/N", help="submissions: grade only share I of N (a CI matrix job); "
                       "then `halab grade merge` the N output folders")
    settings.add_flag(grade, "reports")

    collect = command("collect", _collect, "gather a student's cluster (configuration, CIB, units, packages, page, "
                      "network; secrets as hashes) into one archive for `halab grade`")
    where = collect.add_mutually_exclusive_group(required=True)
    where.add_argument("--name", help="collect both nodes of this running lab")
    where.add_argument("--here", action="store_true",
                       help="collect this machine as one node; run it on each node with the same -o FILE to add the other")
    collect.add_argument("--student", required=True, help="whose cluster this is (names the reports)")
    collect.add_argument("-o", "--output", type=Path, required=True, help="the archive to write (.tar.gz)")
    collect.add_argument("--variant", help="--here: the lab variant (a folder under labs/, e.g. pcs)")
    collect.add_argument("--node", help="--here: this node's name in the lab (default: its host name)")

    completion = command("completion", _completion, "print a shell completion script: "
                         "eval \"$(halab completion bash)\" in ~/.bashrc, or halab completion zsh > ~/.zfunc/_halab")
    completion.add_argument("shell", choices=["bash", "zsh"])

    image = command("image", _image, "build the base image of the local backend (cached)")
    image.add_argument("action", choices=["build"])
    image.add_argument("--rebuild", action="store_true", help="build again even if cached")

    box = command("box", _box, "build the offline libvirt box of the Vagrant backend from Debian's packages (cached)")
    box.add_argument("action", choices=["build"])
    box.add_argument("--rebuild", action="store_true", help="build again even if cached")
    return parser


def _lab_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lab", required=True, help="lab variant: a folder under labs/ (e.g. pcs)")
    parser.add_argument("--name", help="name of this running lab (default: the variant's name)")
    settings.add_flag(parser, "backend")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting of the backend, kept with the lab (vagrant: provider=libvirt|virtualbox, box=NAME)")


def _backend_options(args: argparse.Namespace) -> dict[str, str]:
    options = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise HalabError(f"--option {item!r} is not KEY=VALUE", fix="e.g. --option provider=libvirt")
        options[key] = value
    return options


def _completion(args: argparse.Namespace) -> None:
    import shtab

    print(shtab.complete(_parser(), shell=args.shell), end="")


def _config(args: argparse.Namespace) -> None:
    print(settings.table(args.settings))


def _run(args: argparse.Namespace) -> int:
    from halab.plan import load_plan
    from halab.run import checked_faults, expected_faults, run_lab

    plan = load_plan(args.lab)
    faults = checked_faults(args.faults) if args.faults else expected_faults(plan)  # before the bring-up
    result = run_lab(plan, args.name or plan.name, faults, keep=args.keep, backend_kind=args.settings.backend,
                     options=_backend_options(args))
    print(result.table)
    print(f"\nfull record: {result.record}")
    return PASSED if result.passed else FAILED


def _up(args: argparse.Namespace) -> None:
    from halab.plan import load_plan
    from halab.run import bring_up

    plan = load_plan(args.lab)
    up = bring_up(plan, args.name or plan.name, args.settings.backend, provision=not args.no_provision,
                  options=_backend_options(args))
    make_current(up.backend.lab)
    print(f"lab {up.backend.lab} is up (and current in this folder) ({', '.join(f'{k} {v:.1f}' for k, v in up.phases.items())}); "
          f"the VIP is {plan.vip_url} (reachable from the lab namespace {up.backend.client_netns()})")


def _connect(args: argparse.Namespace) -> None:
    from halab.backends.ssh.inventory import dump_inventory, load_inventory, parse_inventory
    from halab.paths import state_root
    from halab.plan import load_plan
    from halab.run import tear_down

    nodes = None
    if args.node:
        pairs = [item.partition("=") for item in args.node]
        if any(not sep or not name for name, sep, _ in pairs):
            raise HalabError("--node takes NAME=ADDRESS", fix="e.g. --node node1=192.168.56.10 --node node2=192.168.56.20")
        nodes = [{"name": name, "address": address} for name, _, address in pairs]
    flags = {"variant": args.variant, "vip": args.vip, "user": args.user, "key": args.key, "port": args.port,
             "sudo": args.sudo, "netns": args.netns, "nodes": nodes}
    given = {key: value for key, value in flags.items() if value is not None}
    if args.inventory is None and not given:
        raise HalabError("say how to reach the nodes", fix="--inventory FILE, or --lab, --node NAME=ADDRESS (twice), --vip, --key")
    inventory = (load_inventory(args.inventory, given) if args.inventory
                 else parse_inventory(given, "the command line", {key: f"--{key}" for key in given}))
    name = labs.check_lab_name(args.name or inventory.variant)
    # The lab keeps its own copy: it reopens from any process, whatever becomes of the file given.
    path = state_root() / "labs" / name / "inventory.yaml"
    record = labs.create(load_plan(inventory.variant), name, "ssh", {"inventory": str(path)})
    try:
        path.touch(mode=0o600)  # it may hold a password
        path.write_text(dump_inventory(inventory))
        backend = record.open()
        backend.preflight()
        labs.mark_up(record)
    except BaseException:
        tear_down(name)
        raise
    make_current(name)
    print(f"lab {name} (current in this folder): {inventory.variant} on {', '.join(f'{n.name} ({n.address})' for n in inventory.nodes)}, "
          f"reached over SSH as {inventory.user}{' with sudo' if inventory.sudo else ''}; "
          f"now: halab status / check / grade --name {name} (halab down --name {name} forgets it)")


def _status(args: argparse.Namespace) -> None:
    from halab.stacks import stack_for

    records = [labs.find_lab(args.name)] if args.name else labs.running_labs()
    shown = []
    for record in records:
        faults = [entry.describe() for entry in labs.journal_for(record.name).entries()]
        try:
            backend = record.open()
        except HalabError as error:  # one unreadable lab does not hide the others
            shown.append({"name": record.name, "variant": "?", "backend": record.backend, "machines": [],
                          "cluster": f"cannot be read: {error.what}", "faults_applied": faults,
                          "half_made": record.half_made})
            continue
        try:
            cluster = stack_for(backend.plan.stack).view(backend).summary
        except HalabError as error:
            cluster = f"no answer ({error.what})"
        if record.half_made:
            cluster = f"HALF-MADE: its bring-up was interrupted (halab down --name {record.name} removes it)"
        elif record.maker:
            cluster = f"being brought up (by process {record.maker})"
        shown.append({"name": record.name, "variant": backend.plan.name, "backend": record.backend,
                      "machines": [asdict(machine) for machine in backend.status()], "cluster": cluster,
                      "faults_applied": faults, "half_made": record.half_made})
    if args.json:
        print(json.dumps(shown, indent=1))
        return
    if not shown:
        print("no lab is up")
    for lab in shown:
        print(f"lab {lab['name']} ({lab['variant']}, {lab['backend']} backend)")
        for machine in lab["machines"]:
            state = "up" if machine["running"] else "down"
            print(f"  {machine['name']:<10} {state:<5} {machine['address']:<18} "
                  f"{'LINK CUT ' if machine['link_cut'] else ''}{machine['detail']}")
        print(f"  cluster: {lab['cluster']}")
        for fault in lab["faults_applied"]:
            print(f"  FAULT STILL APPLIED: {fault} (halab heal)")


def _confirmed(record: labs.LabRecord, args: argparse.Namespace, doing: str) -> labs.LabRecord:
    """A student's own machines (SSH) are broken on purpose only when someone says so."""
    if record.backend != "ssh" or args.yes:
        return record
    if sys.stdin is None or not sys.stdin.isatty():
        raise HalabError(f"lab {record.name} is a student's own machines: halab does not {doing} on them unasked",
                         fix="add --yes")
    # On stderr, as progress is: stdout may be a --json result going to a file.
    print(f"lab {record.name} is a student's own machines, reached over SSH: {doing} on them? [y/N] ",
          end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise HalabError("stopped: nothing was done", fix="add --yes to skip the question")
    return record


def _fault(args: argparse.Namespace) -> int:
    from halab.report import fault_table
    from halab.run import run_faults

    backend = _confirmed(labs.find_lab(args.name), args, f"inject {args.fault}").open()
    runs, _ = run_faults(backend, [args.fault])
    print(fault_table(runs))
    return PASSED if runs[0].verdict == "pass" else FAILED


def _scenario(args: argparse.Namespace) -> int:
    from halab.report.scenarios import scenario_table, write_scenario_record
    from halab.scenarios import load_scenarios, run_scenarios

    record = labs.find_lab(args.name)
    plan = record.open().plan
    scenarios = load_scenarios(plan, args.file)
    unknown = [i for i in args.ids if i not in {s.id for s in scenarios}]
    if not scenarios or unknown:
        raise HalabError(f"no scenario called {unknown[0]!r}" if unknown else f"lab {record.name} has no scenarios",
                         fix=f"choose among: {', '.join(s.id for s in scenarios)}" if scenarios
                         else f"write {plan.folder / 'scenarios.toml'} (README: Scenarios), or pass --file")
    backend = _confirmed(record, args, "run failure scenarios").open()
    runs, samples = run_scenarios(backend, [s for s in scenarios if not args.ids or s.id in args.ids])
    print(scenario_table(runs))
    path = write_scenario_record(args.settings.reports, lab=record.name, plan_name=plan.name, runs=runs, samples=samples)
    print(f"record: {path}")
    return PASSED if all(run.verdict == "pass" for run in runs) else FAILED


def _exec(args: argparse.Namespace) -> int:
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
    if not argv:
        raise HalabError("no command given", fix=f"halab exec {args.node} -- COMMAND ARGS...")
    if not 0 < args.timeout <= 86400:
        raise HalabError(f"--timeout {args.timeout} is not a number of seconds between 0 and 86400", fix="e.g. --timeout 60")
    backend = labs.find_lab(args.name).open()
    backend.plan.require_machine(args.node)
    result = backend.run(args.node, argv, timeout=args.timeout, stdin=_given_stdin())
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.exit_status


def _given_stdin(wait_s: float = 1.0) -> str | None:
    """What `halab exec node1 -- sh < script` or `cmd | halab exec ...` gives: a file is read
    whole; a pipe only if it has something to read within `wait_s`, so that a script, a CI job
    or cron whose standard input is an idle pipe left open does not hang; a terminal gives nothing."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        readable, _, _ = select.select([sys.stdin], [], [], wait_s)
        if not readable:
            return None
    return sys.stdin.read()


def _shell(args: argparse.Namespace) -> int:
    record = labs.find_lab(args.name)
    backend = record.open()
    backend.plan.require_machine(args.node)
    interactive = getattr(backend, "interactive", None)
    if interactive is None:
        raise HalabError(f"lab {record.name} runs on {record.backend}: halab opens shells on local labs only",
                         fix=f"use `halab exec --name {record.name} {args.node} -- COMMAND`, or ssh to the node")
    return int(interactive(args.node, ["/bin/bash", "-l"]))


def _probe(args: argparse.Namespace) -> None:
    from halab.probe.analysis import summarize
    from halab.run import prober_for

    backend = labs.find_lab(args.name).open()
    duration = min(max(args.duration, 0.1), 3600.0)
    with prober_for(backend, period_s=args.period, max_duration_s=duration + 5) as prober:
        time.sleep(duration)
        samples = prober.stop()
    print(summarize(samples))


def _heal(args: argparse.Namespace) -> None:
    from halab.run import heal

    healed = heal(labs.find_lab(args.name).name)
    print("\n".join(f"healed {item}" for item in healed) or "nothing to heal")


def _down(args: argparse.Namespace) -> None:
    from halab.run import tear_down

    record = labs.find_lab(args.name)
    tear_down(record.name)
    print(f"lab {record.name} is down")


def _doc(args: argparse.Namespace) -> int:
    from halab.plan import load_plan
    from halab.run import bring_up, tear_down, test_documents

    if args.action == "run":
        if len(args.files) != 1:
            raise HalabError("doc run takes one document", fix="use doc test for several")
        path = args.files[0]
        plan = load_plan(path.parent)
        up = bring_up(plan, args.name or "doc", document=path, wait_for_vip=False)
        steps = len({result.step.number for result in up.steps})
        print(f"{path}: all {steps} steps passed, {up.phases['provision_s']:.1f} s after the nodes were up")
        if not args.keep:
            tear_down(up.backend.lab)
        return 0
    outcomes, junit = test_documents(args.files, args.junit or args.settings.reports / "halab-doc-test.xml",
                                     name=args.name or "doc")
    passed = True
    for outcome in outcomes:
        faults_ok = sum(run.verdict == "pass" for run in outcome.runs)
        ok = not (outcome.error or outcome.failed_step) and faults_ok == len(outcome.runs)
        passed &= ok
        status = "PASS" if ok else "FAIL"
        detail = outcome.error or outcome.failure or f"{len(outcome.steps)} steps, {faults_ok}/{len(outcome.runs)} faults as expected"
        first, *rest = detail.splitlines()
        print(f"{status}  {outcome.document}: {first}" + "".join(f"\n      {line}" for line in rest))
    print(f"JUnit XML: {junit}")
    return PASSED if passed else FAILED


def _graded(args: argparse.Namespace, *, include_hidden: bool):  # type: ignore[no-untyped-def]
    from halab.grading.session import grade_lab

    record = _confirmed(labs.find_lab(args.name), args, "run the checks (faults included)")
    rubric = args.rubric or record.open().plan.folder / "rubric.yaml"
    return grade_lab(record.name, rubric, include_hidden=include_hidden)


def _list_checks(args: argparse.Namespace) -> int:
    from halab.grading.rubric import load_rubric
    from halab.grading.session import list_checks

    record = labs.find_lab(args.name)
    rubric = load_rubric(args.rubric or record.open().plan.folder / "rubric.yaml")
    print(f"{'check':<36} {'kind':<14} {'points':>6}  title")
    for check in list_checks(record.name):
        item = rubric.item(check.id)
        points = "-" if item is None else f"{item.points:g}" + (" hidden" if item.hidden else "")
        print(f"{check.id:<36} {check.kind:<14} {points:>6}  {check.title}")
    print(f"\n{rubric.source}: {rubric.total:g} points; '-' marks a check this rubric does not grade")
    return 0


def _check(args: argparse.Namespace) -> int:
    if args.list:
        return _list_checks(args)
    run = _graded(args, include_hidden=False)
    if args.json:
        from halab.report.grade_reports import json_record

        print(json_record("you", run))
        return grade_exit(run.grade)
    symbols = {"passed": "ok  ", "failed": "FAIL", "not-observed": "??  ", "not-applicable": "n/a "}
    for scored in run.grade.items:
        result = scored.result
        print(f"{symbols[scored.state]} {result.title if result else scored.item.id}")
        if scored.state in ("failed", "not-observed"):
            for line in (scored.note, result.evidence if result else "", f"fix: {result.fix}" if result and result.fix else ""):
                if line:
                    print("       " + line.replace("\n", "\n       "))
    print(f"\n{run.grade.summary} (checks the teacher keeps hidden are not included)")
    return grade_exit(run.grade)


def _grade(args: argparse.Namespace) -> int:
    from halab.report.grade_reports import Occasion, write_grade_reports
    from halab.report.gradebook import checked_id, update_gradebook
    from halab.report.terminal import print_grade
    from halab.report.view import student_view
    from halab.submissions.submission import checked_student

    if args.submissions[:1] == [Path("merge")]:
        return _grade_merge(args)
    if len(args.submissions) > 1:
        raise HalabError(f"one folder of submissions at a time ({len(args.submissions)} given)",
                         fix="put the archives in one folder, or merge shard outputs with `halab grade merge DIR...`")
    if args.submissions:
        args.submissions = args.submissions[0]
        return _grade_submissions(args)
    if args.shard:
        raise HalabError("--shard splits a folder of submissions", fix="halab grade FOLDER --shard I/N")
    if not args.student:
        raise HalabError("whose lab is this? grading a running lab needs --student (it names the reports and the gradebook row)",
                         fix="halab grade --name LAB --student alice.martin (or a.martin@school.fr with --id-column email)")
    checked_id(checked_student(args.student), args.settings.id_column)
    if len(args.rubric or []) > 1:
        raise HalabError("a running lab is graded with one rubric", fix="give --rubric once")
    args.rubric = args.rubric[0] if args.rubric else None
    started = time.time()
    run = _graded(args, include_hidden=True)
    backend = labs.find_lab(run.lab).backend
    out = args.settings.reports
    paths = write_grade_reports(out, args.student, run, backend=backend, started_at=started,
                                duration_s=time.time() - started)
    gradebook = update_gradebook(out / "gradebook.csv", args.student, run, args.settings.id_column)
    if args.json:
        reports = {**{kind: str(path) for kind, path in paths.items()}, "gradebook": str(gradebook)}
        print(json.dumps({**json.loads(paths["json"].read_text()), "reports": reports}, indent=1))
    else:
        print_grade(student_view(Occasion(args.student, backend, started), run))
        print("reports: " + ", ".join(str(p) for p in paths.values()) + f", {gradebook}")
    return grade_exit(run.grade)


def _grade_submissions(args: argparse.Namespace) -> int:
    from halab.backends.local.backend import require_privileges
    from halab.grading.rubric import load_rubric
    from halab.submissions import find_archives, grade_batch
    from halab.submissions.shard import parse_shard, share, write_manifest

    archives = find_archives(args.submissions)  # an empty folder is bad input: said before anything runs
    require_privileges()
    rubrics = {}
    for path in args.rubric or []:
        variant = load_rubric(path).lab
        if not variant:
            raise HalabError(f"{path} does not say which lab it grades", fix="add `lab: <variant>` at its top")
        rubrics[variant] = path
    out = args.settings.reports  # -o is the class's folder; otherwise one named after the submissions' in it
    if args.reports is None:
        out = out / (args.submissions.name.split(".")[0] or "submissions")
    shard = parse_shard(args.shard) if args.shard else None
    mine = share(archives, *shard) if shard else archives
    outcomes = grade_batch(mine, out, rubrics=rubrics, parallel=args.settings.parallel,
                           name_prefix=args.name_prefix, resume=args.resume, id_column=args.settings.id_column)
    if shard:
        write_manifest(out, *shard, archives, [(o.archive.name, o.student, o.reason) for o in outcomes if o.state == "refused"])
    files = {"class_summary_html": out / "class-summary.html", "class_summary_csv": out / "class-summary.csv",
             "gradebook": out / "gradebook.csv"}
    if args.json:
        print(json.dumps({**{k: str(v) for k, v in files.items()}, "shard": args.shard,
                          "submissions": [_outcome_record(o) for o in outcomes]}, indent=1))
    else:
        if shard:
            print(f"shard {shard[0]}/{shard[1]}: {len(mine)} of {len(archives)} archives")
        for outcome in outcomes:
            result = outcome.run.grade.summary if outcome.run else outcome.reason.splitlines()[0]
            print(f"{outcome.state:<8} {outcome.student:<20} {outcome.variant:<10} {result}")
        print(f"class summary: {files['class_summary_html']}, {files['class_summary_csv']}; gradebook: {files['gradebook']}")
    codes = [grade_exit(o.run.grade) if o.run else NOT_OBSERVED if o.state == "failed" else FAILED for o in outcomes]
    return max(codes, default=STOPPED)  # refused: the student's; failed to grade: not observed


def _outcome_record(outcome: "Outcome") -> dict[str, object]:
    """One submission of a batch, for `grade --json`: its state, reason, grade and reports."""
    grade = outcome.run.grade if outcome.run else None
    return {"archive": str(outcome.archive), "student": outcome.student, "variant": outcome.variant,
            "state": outcome.state, "reason": outcome.reason, "grade": grade.summary if grade else None,
            "awarded": grade.awarded if grade else None, "total": grade.total if grade else None,
            "provisional": grade.provisional if grade else None, "duration_s": round(outcome.duration_s, 1),
            "reports": {kind: str(path) for kind, path in outcome.reports.items()}}


def _grade_merge(args: argparse.Namespace) -> int:
    from halab.submissions.shard import merge

    folders = args.submissions[1:]
    if not folders or args.reports is None:
        raise HalabError("merge needs the shards' output folders and where to write", fix="halab grade merge out/1 out/2 ... -o class")
    paths = merge(folders, args.settings.reports, args.settings.id_column)
    if args.json:
        print(json.dumps({kind: str(path) for kind, path in paths.items()}, indent=1))
        return PASSED
    print(f"merged {len(folders)} shards: class summary {paths['summary_html']}, {paths['summary_csv']}; gradebook {paths['gradebook']}")
    return PASSED


def _collect(args: argparse.Namespace) -> None:
    from halab.submissions.collect import add_node, collect_here, collect_lab, write_submission

    if args.here:
        if not args.variant:
            raise HalabError("--here needs the lab variant", fix="add --variant pcs (or crmsh, heartbeat)")
        submission = add_node(args.output, collect_here(args.student, args.variant, args.node))
    else:
        submission = collect_lab(labs.find_lab(args.name).open(), args.student)
    write_submission(args.output, submission)
    nodes = ", ".join(node.name for node in submission.nodes)
    more = "" if len(submission.nodes) == 2 else "; run the same command on the other node to add it"
    print(f"{args.output}: {submission.student}'s {submission.variant} lab, nodes {nodes}{more}")


def _image(args: argparse.Namespace) -> None:
    from halab.image import ensure_image

    image = ensure_image(rebuild=args.rebuild)
    print(f"base image {image.name}: {image.rootfs}")


def _box(args: argparse.Namespace) -> None:
    from halab.backends.vagrant.box import ensure_box, vagrant_home

    box = ensure_box(rebuild=args.rebuild)
    print(f"Vagrant box {box.name} (VAGRANT_HOME={vagrant_home()}): halab up --backend vagrant --lab pcs uses it")


if __name__ == "__main__":
    sys.exit(main())
