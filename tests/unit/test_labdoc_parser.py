from pathlib import Path

import pytest

from halab.errors import HalabError
from halab.labdoc.parser import parse_document, parse_text
from halab.plan import load_plan

NODES = ("node1", "node2")


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_text(text, Path("lab.md"), NODES)


def test_the_pcs_document_parses_into_ordered_steps() -> None:
    plan = load_plan("pcs")
    document = parse_document(plan.document, plan.node_names)
    assert document.title.startswith("Apache behind a floating IP")
    kinds = [(s.kind, s.nodes) for s in document.steps]
    assert kinds[0] == ("shell", NODES)
    assert ("file", ("node1",)) in kinds
    page = next(s for s in document.steps if s.kind == "file" and s.nodes == ("node2",))
    assert page.path == "/var/www/html/index.html" and "node2" in page.body
    assert [s.number for s in document.steps] == list(range(1, len(document.steps) + 1))


def test_blocks_without_on_or_file_are_prose() -> None:
    document = parse("# T\n```\noutput shown to the reader\n```\n## Do\n```sh on=node2 timeout=30\necho hi\n```\n")
    (step,) = document.steps
    assert step.nodes == ("node2",) and step.timeout_s == 30 and step.heading == "Do" and step.line == 6


def test_tilde_fences_and_longer_fences_hold_backticks() -> None:
    document = parse("````sh on=all\necho ```\n````\n")
    assert document.steps[0].body == "echo ```\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("intro\n```sh on=node1\necho hi\n", r"lab.md:2: the block opened here with ``` is never closed"),
        ("```sh on=node3\necho hi\n```\n", r"lab.md:1: on=node3 names no node of this lab: node3"),
        ("```ini file=/etc/x\nx\n```\n", r"lab.md:1: a file block must say where it goes"),
        ("```ini file=etc/x on=all\nx\n```\n", r"not an absolute path"),
        ("```ini file=/etc/x on=all mode=rw\nx\n```\n", r"not an octal file mode"),
        ("```sh on=all user=bob\nx\n```\n", r"unknown attribute user"),
        ("```sh on=all timeout=soon\nx\n```\n", r"timeout=soon is not a number"),
        ("just prose\n", r"no steps found"),
        ("```expect\nthe VIP is up\n```\n", r"lab.md:2: cannot understand the expectation 'the VIP is up'"),
        ("```expect\nnodes online: node1 node9\n```\n", r"lab.md:2: node9 is no node of this lab"),
        ("```expect\n\n```\n", r"lab.md:1: this expect block is empty"),
    ],
)
def test_malformed_documents_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(HalabError, match=message):
        parse(text)


def test_expect_blocks_and_steps_that_must_fail() -> None:
    document = parse('```sh on=node1 fails="config not valid"\ncrm_verify -L -V\n```\n'
                     '```expect timeout=30\nthe VIP serves a page containing "Serveur Master"\nnodes online: node1, node2\n```\n')
    shell, expect = document.steps
    assert shell.fails == "config not valid"
    assert expect.kind == "expect" and expect.timeout_s == 30
    assert [(e.kind, e.text, e.nodes) for e in expect.expectations] == [
        ("vip-serves", "Serveur Master", ()), ("online", "", ("node1", "node2"))]


def test_answers_on_standard_input_from_the_key_or_the_block_below() -> None:
    document = parse('```sh on=node1 stdin="halab-lab"\npcs host auth node1 node2 -u hacluster\n```\n'
                     '```sh on=all\npasswd hacluster\n```\n\n```stdin\nsecret\nsecret\n```\n'
                     '```sh on=node1 stdin="a\\nb\\n"\nread x; read y\n```\n')
    first, second, third = document.steps
    assert first.stdin == "halab-lab\n" and second.stdin == "secret\nsecret\n" and third.stdin == "a\nb\n"


def test_interrupt_paste_and_reboot_keys() -> None:
    document = parse("```sh on=node1 interrupt=5\ncrm_mon\n```\n```sh on=all paste\nfalse\necho on\n```\n"
                     "```sh on=node2 reboot timeout=90\nsystemctl reboot\n```\n")
    interrupted, pasted, rebooted = document.steps
    assert interrupted.interrupt_s == 5 and not interrupted.paste
    assert pasted.paste and pasted.nodes == NODES
    assert rebooted.reboot and rebooted.timeout_s == 90


@pytest.mark.parametrize("last_line", ["reboot", "sudo reboot", "systemctl reboot", "shutdown -r now"])
def test_a_block_ending_in_a_reboot_is_a_reboot_step(last_line: str) -> None:
    (step,) = parse(f"```sh on=node2\nsystemctl enable pacemaker\n{last_line}\n# back soon\n```\n").steps
    assert step.reboot


@pytest.mark.parametrize(
    ("sentence", "kind", "nodes", "resources", "state"),
    [
        ("resource virtual_ip runs on node1", "runs-on", ("node1",), ("virtual_ip",), ""),
        ("resources virtual_ip and WebService run on the same node", "together", (), ("virtual_ip", "WebService"), "same"),
        ("Resources a and b run on different nodes", "together", (), ("a", "b"), "different"),
        ("node node2 is offline", "node-state", ("node2",), (), "offline"),
        ("node node1 is in standby", "node-state", ("node1",), (), "standby"),
        ("node node1 is Online", "node-state", ("node1",), (), "online"),
        ("the VIP does not answer", "vip-silent", (), (), ""),
    ],
)
def test_expect_sentences(sentence: str, kind: str, nodes: tuple[str, ...], resources: tuple[str, ...], state: str) -> None:
    (expectation,) = parse(f"```expect\n{sentence}\n```\n").steps[0].expectations
    assert (expectation.kind, expectation.nodes, expectation.resources, expectation.state) == (kind, nodes, resources, state)


def test_the_output_of_a_command_contains_or_not() -> None:
    step = parse('```expect\nthe output of `pcs status` on node1 contains "Online: [ node1 node2 ]"\n'
                 'the output of `crm_mon -1` on node2 does not contain "Stopped"\n```\n').steps[0]
    contains, lacks = step.expectations
    assert (contains.command, contains.nodes, contains.state, contains.text) == (
        "pcs status", ("node1",), "contains", "Online: [ node1 node2 ]")
    assert (lacks.command, lacks.nodes, lacks.state, lacks.text) == ("crm_mon -1", ("node2",), "does not contain", "Stopped")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```sh on=node1 interrupt=soon\ncrm_mon\n```\n", r"lab.md:1: interrupt=soon is not a number of seconds"),
        ("```sh on=node1 interrupt=0\ncrm_mon\n```\n", r"lab.md:1: interrupt=0 is not a number of seconds"),
        ("```sh on=node1 timeout=-3\nx\n```\n", r"lab.md:1: timeout=-3 is not a number of seconds"),
        ("```sh on=node1 paste=yes\nx\n```\n", r"lab.md:1: paste takes no value"),
        ("```sh on=node1 pasted\nx\n```\n", r"lab.md:1: unknown attribute pasted"),
        ("```sh on=node1 paste interrupt=3\nx\n```\n", r"lab.md:1: interrupt and paste cannot go together"),
        ('```sh on=node1 fails="x"\nreboot\n```\n', r"lab.md:1: fails and reboot cannot go together"),
        ("```ini file=/etc/x on=all paste\nx\n```\n", r"lab.md:1: paste belongs to shell blocks"),
        ("intro\n\n```stdin\nsecret\n```\n", r"lab.md:3: a ```stdin block must come right after the shell block"),
        ("```sh on=node1\nx\n```\nprose\n```stdin\nsecret\n```\n", r"lab.md:5: a ```stdin block must come right after"),
        ('```sh on=node1 stdin="a"\nx\n```\n```stdin\nb\n```\n', r"lab.md:4: this shell block already has its standard input"),
        ("```expect\nnode node3 is online\n```\n", r"lab.md:2: node3 is no node of this lab"),
        ("```expect\nresource ip runs on node7\n```\n", r"lab.md:2: node7 is no node of this lab"),
        ("```expect\nthe output of pcs status on node1 contains \"x\"\n```\n", r"lab.md:2: cannot understand the expectation"),
    ],
)
def test_bad_values_are_refused_in_one_line_with_the_line(text: str, message: str) -> None:
    with pytest.raises(HalabError, match=message) as refused:
        parse(text)
    assert "\n" not in refused.value.what and refused.value.fix
