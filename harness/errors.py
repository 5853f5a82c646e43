"""The one error type halab shows to people: what failed, the evidence, and the fix."""

from __future__ import annotations


class HalabError(Exception):
    """An error a teacher or student can act on.

    >>> raise HalabError("lab 'pcz' does not exist", fix="choose one of: pcs")
    """

    def __init__(self, what: str, *, fix: str = "", evidence: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix
        self.evidence = evidence

    def __str__(self) -> str:
        parts = [self.what]
        if self.evidence:
            parts.append(self.evidence.rstrip())
        if self.fix:
            parts.append(f"fix: {self.fix}")
        return "\n".join(parts)


class NotObserved(HalabError):
    """halab ran but could not look: a node that stopped answering, a command that hung, checks
    that would not run. Neither the student's failure nor bad input: the CLI exits 3 for it."""
