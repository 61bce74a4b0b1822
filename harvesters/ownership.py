"""One dataset per remote id and domain: the sources of a domain never make two datasets of one remote id.

udata recognises a harvested dataset by its remote id and its domain (the host of its source's URL), and
refuses to let a second source take it ("Item has another owner"). Here too: an item that would create a
dataset (or data service) for a remote id that another live source of the same domain already harvests fails,
naming that source, whatever the target. The sources of a job's domain are read once per job; a batch costs
one query, and none when the domain has a single source.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from harvesters.models import HarvestError, HarvestSource
from harvesters.store import SettledItem, Store

if TYPE_CHECKING:
    from harvesters.pipeline import Plan


def domain_of(url: str) -> str:
    """The domain udata files a source's datasets under (`harvest.domain`): its URL's host."""
    return urlparse(url).hostname or ""


class OtherOwners:
    """The other live sources of a source's domain."""

    def __init__(self, store: Store, source: HarvestSource) -> None:
        self.domain = domain_of(source.url)
        self.others = {other.id: other for other in store.list_sources()
                       if other.id != source.id and self.domain and domain_of(other.url) == self.domain}

    def refuse_taken(self, store: Store, plans: Sequence[Plan]) -> None:
        """Fail the plans that would create what another source of the domain already harvests."""
        creating = [plan for plan in plans if plan.link is None and plan.settled is None and plan.write is not None]
        if not self.others or not creating:
            return
        taken = store.links_of_sources(self.others, [plan.item.remote_id for plan in creating])
        for plan in creating:
            if (link := taken.get(plan.item.remote_id)) is not None:
                owner = self.others[link.source_id]
                message = (f"Item has another owner: source '{owner.name}' ({owner.slug}, {owner.id}) already harvests "
                           f"remote id '{plan.item.remote_id}' from {self.domain} (as {link.kind} {link.dataset_id})")
                plan.settled = SettledItem(plan.item.id, "failed", errors=[HarvestError(message=message).to_json()])
