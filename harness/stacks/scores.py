"""Pacemaker's scores: integers that saturate at ±INFINITY (1,000,000), written as numbers or
as the words INFINITY, +INFINITY and -INFINITY."""

from __future__ import annotations

INFINITY = 1_000_000


def parse_score(text: str | None) -> int:
    """0 for an absent or unreadable score, as Pacemaker treats it.

    >>> parse_score("-INFINITY"), parse_score("+inf"), parse_score("200"), parse_score(None)
    (-1000000, 1000000, 200, 0)
    """
    word = (text or "").strip().lower()
    sign = -1 if word.startswith("-") else 1
    if word.lstrip("+-") in ("infinity", "inf"):
        return sign * INFINITY
    try:
        return max(-INFINITY, min(INFINITY, int(word)))
    except ValueError:
        return 0


def add_scores(*scores: int) -> int:
    """Pacemaker's sum: -INFINITY wins over everything, then +INFINITY; otherwise capped."""
    if -INFINITY in scores:
        return -INFINITY
    if INFINITY in scores:
        return INFINITY
    return max(-INFINITY, min(INFINITY, sum(scores)))


def show_score(score: int) -> str:
    return {INFINITY: "INFINITY", -INFINITY: "-INFINITY"}.get(score, str(score))
