"""A scenario's `on-fail` step: what Pacemaker does when Apache's monitor fails is set on the
monitor operations of the student's own CIB, and their exact XML is put back at the end."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from halab.errors import HalabError


def operations_xpath(service: str) -> str:
    return f"//primitive[@id='{service}']/operations"


def query_operations(service: str) -> list[str]:
    return ["cibadmin", "--query", "--xpath", operations_xpath(service)]


def replace_operations(service: str, operations_xml: str) -> list[str]:
    """The command that puts `operations_xml` in place of the service's <operations>."""
    return ["cibadmin", "--replace", "--xpath", operations_xpath(service), "--xml-text", operations_xml]


def with_on_fail(operations_xml: str, value: str) -> str:
    """The same operations, every recurring monitor with on-fail=`value`."""
    try:
        operations = ET.fromstring(operations_xml)
    except ET.ParseError as error:
        raise HalabError(f"the CIB's operations are not valid XML ({error})", evidence=operations_xml[:400]) from None
    monitors = [op for op in operations.iterfind("op") if op.get("name") == "monitor"
                and op.get("interval", "0").strip() not in ("", "0", "0s", "0ms")]
    if operations.tag != "operations" or not monitors:
        raise HalabError("Apache's resource has no recurring monitor operation, so on-fail has nothing to act on",
                         evidence=operations_xml[:400], fix="give Apache a monitor operation (op monitor interval=30s)")
    for op in monitors:
        op.set("on-fail", value)
    return ET.tostring(operations, encoding="unicode")
