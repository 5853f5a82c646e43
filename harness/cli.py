"""`halab`: bring up a lab, break it, measure and report. Every error ends in one plain message
with the fix, and a non-zero exit."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from halab import lab as labs
from halab.current import make_current
from halab.errors import HalabError
from halab.faults import FAULTS

if TYPE_CHECKING:
    from halab.grading.score import Grade


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
    signal.signal(signal.SIGTERM, _interrupt)
    from halab.labdoc import StepFailed

    try:
        return int(args.handler(args) or 0)
    except StepFailed as failure:  # the document did not work as written: its author's failure, not bad input
        print(f"halab: error: {failure}", file=sys.stderr)
        return FAILED
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="halab", description=__doc__)
    parser.add_argument("--version", action="version", version=f"halab {_version()}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, handler, help: str) -> argparse.ArgumentParser:  # type: ignore[no-untyped-def]
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    command("list", _list, "the labs halab ships, the faults it injects, and the labs up on this machine")
    run = command("run", _run, "bring a lab up, run its fault matrix, print the table, write the record")
    _lab_options(run)
    run.add_argument("--faults", help=f"comma-separated, default: those the plan expects ({','.join(FAULTS)})")
    run.add_argument("--keep", action="store_true", help="leave the lab up afterwards")

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
        command(name, handler, help).add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")

    fault = command("fault", _fault, "inject one fault on the active node while probing, then heal it")
    fault.add_argument("fault", choices=list(FAULTS))
    fault.add_argument("--yes", action="store_true", help="on a student's own machines (SSH), do not ask first")
    fault.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")

    probe = command("probe", _probe, "probe the VIP and summarize what a client saw")
    probe.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
    probe.add_argument("--duration", type=float, default=10.0, help="seconds (default 10, at most 3600)")
    probe.add_argument("--period", type=float, default=0.02, help="seconds between requests (default 0.02)")

    doc = command("doc", _doc, "run lab documents: `doc run FILE` brings a lab up from it; "
                  "`doc test FILE...` also runs the fault matrix and writes JUnit XML")
    doc.add_argument("action", choices=["run", "test"])
    doc.add_argument("files", nargs="+", type=Path, help="lab documents (a plan.toml must sit beside each)")
    doc.add_argument("--name", help="lab name (run) or name prefix (test); default: doc")
    doc.add_argument("--keep", action="store_true", help="run: leave the lab up afterwards")
    doc.add_argument("--junit", type=Path, help="test: where to write JUnit XML (default reports/halab-doc-test.xml)")

    check = command("check", _check, "students: run the lab's checks (hidden ones left out), with the fix for each")
    check.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
    check.add_argument("--rubric", type=Path, help="default: the lab's labs/<variant>/rubric.yaml")
    check.add_argument("--yes", action="store_true", help="on a student's own machines (SSH), do not ask first")
    check.add_argument("--list", action="store_true", help="list every check (id, title, kind, points, hidden) and run none")

    grade = command("grade", _grade, "teachers: grade a running lab with its rubric, or a folder of submissions "
                    "(each rebuilt on fresh nodes); write JSON, JUnit, HTML and CSV")
    grade.add_argument("submissions", nargs="?", type=Path,
                       help="a folder of archives written by `halab collect` (or one archive): grade them all")
    grade.add_argument("--name", help="which lab (default: the one current in this folder: halab up makes it so)")
    grade.add_argument("--yes", action="store_true", help="on a student's own machines (SSH), do not ask first")
    grade.add_argument("--rubric", type=Path, action="append",
                       help="default: labs/<variant>/rubric.yaml; for submissions, once per variant (its lab: says which)")
    grade.add_argument("--student", help="a running lab: whose lab this is (required): names the reports and the "
                       "gradebook row, e.g. alice.martin or a.martin@school.fr")
    grade.add_argument("--id-column", choices=("email", "username", "idnumber"), default="username",
                       help="what identifies students in gradebook.csv, as Moodle's grade import maps it (default username)")
    grade.add_argument("--parallel", type=int, help="submissions: labs at once (default: from cores and memory)")
    grade.add_argument("--name-prefix", default="sub", help="submissions: names of the rebuilt labs (default sub1, sub2...)")
    grade.add_argument("--resume", action="store_true",
                       help="submissions: keep what an earlier run of the same folder graded with the same archive and rubric")
    grade.add_argument("-o", "--out", type=Path,
                       help="where the reports go (default ./reports, and ./reports/<folder> for submissions)")

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
    parser.add_argument("--backend", default="local", help="where the nodes run: local (default) or vagrant")
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


def _run(args: argparse.Namespace) -> int:
    from halab.plan import load_plan
    from halab.run import expected_faults, run_lab

    plan = load_plan(args.lab)
    faults = args.faults.split(",") if args.faults else expected_faults(plan)
    result = run_lab(plan, args.name or plan.name, faults, keep=args.keep, backend_kind=args.backend,
                     options=_backend_options(args))
    print(result.table)
    print(f"\nfull record: {result.record}")
    return PASSED if result.passed else FAILED


def _up(args: argparse.Namespace) -> None:
    from halab.plan import load_plan
    from halab.run import bring_up

    plan = load_plan(args.lab)
    up = bring_up(plan, args.name or plan.name, args.backend, provision=not args.no_provision,
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
    labs.create(load_plan(inventory.variant), name, "ssh", {"inventory": str(path)})
    try:
        path.touch(mode=0o600)  # it may hold a password
        path.write_text(dump_inventory(inventory))
        backend = labs.find_lab(name).open()
        backend.preflight()
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
    if not records:
        print("no lab is up")
    for record in records:
        backend = record.open()
        print(f"lab {record.name} ({backend.plan.name}, {record.backend} backend)")
        for machine in backend.status():
            state = "up" if machine.running else "down"
            print(f"  {machine.name:<10} {state:<5} {machine.address:<18} {'LINK CUT ' if machine.link_cut else ''}{machine.detail}")
        try:
            print(f"  cluster: {stack_for(backend.plan.stack).view(backend).summary}")
        except HalabError as error:
            print(f"  cluster: no answer ({error.what})")
        pending = labs.journal_for(record.name).entries()
        for entry in pending:
            print(f"  FAULT STILL APPLIED: {entry.describe()} (halab heal)")


def _confirmed(record: labs.LabRecord, args: argparse.Namespace, doing: str) -> labs.LabRecord:
    """A student's own machines (SSH) are broken on purpose only when someone says so."""
    if record.backend != "ssh" or args.yes:
        return record
    question = f"lab {record.name} is a student's own machines, reached over SSH: {doing} on them? [y/N] "
    if not sys.stdin.isatty():
        raise HalabError(f"lab {record.name} is a student's own machines: halab does not {doing} on them unasked",
                         fix="add --yes")
    if input(question).strip().lower() not in ("y", "yes"):
        raise HalabError("stopped: nothing was done", fix="add --yes to skip the question")
    return record


def _fault(args: argparse.Namespace) -> int:
    from halab.report import fault_table
    from halab.run import run_faults

    backend = _confirmed(labs.find_lab(args.name), args, f"inject {args.fault}").open()
    runs, _ = run_faults(backend, [args.fault])
    print(fault_table(runs))
    return PASSED if runs[0].verdict == "pass" else FAILED


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
    from halab.paths import reports_dir
    from halab.plan import load_plan
    from halab.run import bring_up, tear_down, test_documents

    if args.action == "run":
        if len(args.files) != 1:
            raise HalabError("doc run takes one document", fix="use doc test for several")
        path = args.files[0]
        plan = load_plan(path.parent)
        up = bring_up(plan, args.name or "doc", document=path)
        print(f"{path}: all {len(up.steps)} steps passed; the VIP answered {up.phases['up_to_vip_s']:.1f} s after start")
        if not args.keep:
            tear_down(up.backend.lab)
        return 0
    outcomes, junit = test_documents(args.files, args.junit or reports_dir() / "halab-doc-test.xml",
                                     name_prefix=args.name or "doc")
    passed = True
    for outcome in outcomes:
        faults_ok = sum(run.verdict == "pass" for run in outcome.runs)
        ok = not (outcome.error or outcome.failed_step) and faults_ok == len(outcome.runs)
        passed &= ok
        status = "PASS" if ok else "FAIL"
        detail = outcome.error or outcome.failure or f"{len(outcome.steps)} steps, {faults_ok}/{len(outcome.runs)} faults as expected"
        print(f"{status}  {outcome.document}: {detail.splitlines()[0]}")
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
    from halab.paths import reports_dir
    from halab.report.grade_reports import Occasion, write_grade_reports
    from halab.report.gradebook import checked_id, update_gradebook
    from halab.report.terminal import print_grade
    from halab.report.view import student_view
    from halab.submissions.submission import checked_student

    if args.submissions is not None:
        return _grade_submissions(args)
    if not args.student:
        raise HalabError("whose lab is this? grading a running lab needs --student (it names the reports and the gradebook row)",
                         fix="halab grade --name LAB --student alice.martin (or a.martin@school.fr with --id-column email)")
    checked_id(checked_student(args.student), args.id_column)
    if len(args.rubric or []) > 1:
        raise HalabError("a running lab is graded with one rubric", fix="give --rubric once")
    args.rubric = args.rubric[0] if args.rubric else None
    started = time.time()
    run = _graded(args, include_hidden=True)
    backend = labs.find_lab(run.lab).backend
    out = args.out or reports_dir()
    paths = write_grade_reports(out, args.student, run, backend=backend, started_at=started,
                                duration_s=time.time() - started)
    gradebook = update_gradebook(out / "gradebook.csv", args.student, run, args.id_column)
    print_grade(student_view(Occasion(args.student, backend, started), run))
    print("reports: " + ", ".join(str(p) for p in paths.values()) + f", {gradebook}")
    return grade_exit(run.grade)


def _grade_submissions(args: argparse.Namespace) -> int:
    from halab.backends.local.backend import require_privileges
    from halab.grading.rubric import load_rubric
    from halab.paths import reports_dir
    from halab.submissions import find_archives, grade_batch

    require_privileges()
    rubrics = {}
    for path in args.rubric or []:
        variant = load_rubric(path).lab
        if not variant:
            raise HalabError(f"{path} does not say which lab it grades", fix="add `lab: <variant>` at its top")
        rubrics[variant] = path
    out = args.out or reports_dir() / (args.submissions.name.split(".")[0] or "submissions")
    outcomes = grade_batch(find_archives(args.submissions), out, rubrics=rubrics, parallel=args.parallel,
                           name_prefix=args.name_prefix, resume=args.resume, id_column=args.id_column)
    for outcome in outcomes:
        result = outcome.run.grade.summary if outcome.run else outcome.reason.splitlines()[0]
        print(f"{outcome.state:<8} {outcome.student:<20} {outcome.variant:<10} {result}")
    print(f"class summary: {out / 'class-summary.html'}, {out / 'class-summary.csv'}; gradebook: {out / 'gradebook.csv'}")
    codes = [grade_exit(o.run.grade) if o.run else NOT_OBSERVED if o.state == "failed" else FAILED for o in outcomes]
    return max(codes, default=STOPPED)  # refused: the student's; failed to grade: not observed


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
