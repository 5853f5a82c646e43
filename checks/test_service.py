"""What a client of the VIP sees, before anything is broken."""

from __future__ import annotations

from halab.backends import Backend
from halab.errors import HalabError
from halab.grading import fail
from halab.probe.fetch import fetch
from halab.stacks.admin import Admin


def test_vip_serves(lab: Backend, admin: Admin) -> None:
    """The VIP serves a node's page"""
    plan = lab.plan
    try:
        page = fetch(plan.vip_url, lab.client_netns())
    except HalabError as error:  # nothing answering is the student's outage, not an observation error
        fail(f"nothing answers on {plan.vip_url}", evidence=str(error),
             fix=f"check where the cluster placed the VIP ({admin.status}) and that Apache started there")
    markers = [n.page_marker for n in plan.nodes if n.page_marker in page]
    if not markers:
        fail(f"{plan.vip_url} answers, but with a page that names no node", evidence=page[:300],
             fix="give each node its own page naming it (/var/www/html/index.html)")
