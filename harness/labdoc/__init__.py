"""Lab documents: Markdown a person can follow, whose marked blocks halab runs in order."""

from halab.labdoc.parser import LabDocument, Step, parse_document, parse_lab_document
from halab.labdoc.runner import StepFailed, StepResult, run_document

__all__ = ["LabDocument", "Step", "StepFailed", "StepResult", "parse_document", "parse_lab_document", "run_document"]
