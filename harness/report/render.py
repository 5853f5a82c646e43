"""Jinja2 for every HTML page halab writes: templates in harness/report/templates, autoescaped
(a student's evidence never becomes markup), a few filters for numbers people read.

    html = render("report.html.j2", view=view)
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from halab.report.plots import timeline_svg


def points(value: float) -> str:
    """2.0 -> '2', 0.5 -> '0.5'."""
    return f"{value:g}"


def duration(seconds: float) -> str:
    """Seconds for people: '0.4 s', '2 min 05 s', '1 h 02 min'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _timeline(timeline: dict[str, Any] | None) -> Markup:
    """matplotlib's own SVG (it escapes the text it draws), inlined as is."""
    return Markup(timeline_svg(timeline) if timeline else "<p>no probe samples were recorded</p>")


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("halab.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(points=points, duration=duration, timeline_svg=_timeline)
    env.globals["zip"] = zip
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
