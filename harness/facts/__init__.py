"""Facts about a lab, gathered once per node and kept as evidence: checks judge these, never
the live cluster, so the same facts serve every check and the report shows what was seen."""

from halab.facts.gather import gather_facts
from halab.facts.model import CommandFact, FileFact, LabFacts, NodeFacts, UnitFact

__all__ = ["CommandFact", "FileFact", "LabFacts", "NodeFacts", "UnitFact", "gather_facts"]
