"""Lab documents: Markdown a person can follow, whose marked blocks halab runs in order."""

from harness.labdoc.parser import LabDocument, Step, parse_document
from harness.labdoc.runner import StepFailed, StepResult, run_document

__all__ = ["LabDocument", "Step", "StepFailed", "StepResult", "parse_document", "run_document"]
