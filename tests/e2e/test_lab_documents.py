"""Lab documents run as written: a broken step stops the run there, with the evidence and the
likely cause, and `halab doc test` reports it as JUnit for CI servers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from halab.paths import labs_dir

pytestmark = pytest.mark.e2e
HALAB = [sys.executable, "-m", "halab.cli"]
PCS_09_SETUP = "pcs cluster setup --name webcluster node1 node2"


@pytest.fixture
def broken_document(tmp_path: Path) -> Path:
    """The pcs lab with its `pcs cluster setup` written the pcs 0.9 way, as old sheets do."""
    folder = tmp_path / "pcs-old-sheet"
    shutil.copytree(labs_dir() / "pcs", folder)
    document = folder / "lab.md"
    text = document.read_text()
    good = "pcs cluster setup webcluster node1 addr=192.168.56.10 node2 addr=192.168.56.20"
    assert good in text
    document.write_text(text.replace(good, PCS_09_SETUP))
    return document


def test_a_broken_step_stops_the_run_with_its_evidence(broken_document: Path) -> None:
    done = subprocess.run([*HALAB, "doc", "run", str(broken_document), "--name", "e2ebroken"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1
    report = done.stderr
    assert "step 7 (line" in report and "4. Create the cluster" in report and "failed on node1" in report
    assert PCS_09_SETUP in report and "exit status" in report
    assert "likely cause: This is pcs 0.9 syntax" in report, report
    assert "e2ebroken" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_doc_test_writes_junit_with_the_failed_step(broken_document: Path, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    done = subprocess.run([*HALAB, "doc", "test", str(broken_document), "--name", "e2ejunit", "--junit", str(junit)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 1 and "FAIL" in done.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    failed = [case for case in cases if case.find("failure") is not None]
    assert [case.get("name") for case in failed] == ["step 07 on node1: 4. Create the cluster (write-up steps 4.4.1 to 4.4.13)"]
    skipped = [case.get("name") for case in cases if case.find("skipped") is not None]
    assert "fault power-off" in skipped
    passed_steps = [c for c in cases if c.get("classname") == "pcs-old-sheet.document" and c.find("failure") is None]
    assert len(passed_steps) >= 8
