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
