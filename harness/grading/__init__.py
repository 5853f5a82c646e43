"""Grading: checks judge gathered facts and measured faults; a rubric turns results into points."""

from halab.grading.results import CheckFailed, CheckResult, fail

__all__ = ["CheckFailed", "CheckResult", "fail"]
