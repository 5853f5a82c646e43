"""Grading: checks judge gathered facts and measured faults; a rubric turns results into points."""

from harness.grading.results import CheckFailed, CheckResult, fail

__all__ = ["CheckFailed", "CheckResult", "fail"]
