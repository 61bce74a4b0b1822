"""Contact points on a udata portal: separate objects (/api/1/contacts/) that datasets and data services name by
id, each owned by a publisher (an organization, else the API key's user).

Like udata's own harvester, a contact point is reused when its publisher already has one with the same name,
email, contact form and role, else created (udata's POST is a get-or-create). A publisher's contact points
are listed once per job; one the portal refuses (udata refuses a name holding a domain, "GreatSchools.org")
is left out of the dataset, with a warning on the item, and not asked for again in the job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from harvesters.models import ContactPoint
from harvesters.targets.base import TargetError
from harvesters.targets.udata.client import UdataClient
from harvesters.targets.udata.memo import Memo

Key = tuple[str | None, str | None, str | None, str]  # name, email, contact form, role
LISTING_FIELDS = "data{id,name,email,contact_form,role},next_page"


@dataclass(frozen=True, slots=True)
class Refused:
    """A contact point the portal would not take, and why."""

    reason: str


def contact_key(contact: ContactPoint | dict[str, Any]) -> Key:
    """What makes two contact points of a publisher the same one (empty values are none)."""
    values = contact if isinstance(contact, dict) else contact.model_dump()
    return (values.get("name") or None, values.get("email") or None, values.get("contact_form") or None,
            values.get("role") or "contact")


class ContactBook:
    """The portal's contact points of each publisher, for one job: listed once, completed as writes need."""

    def __init__(self, client: UdataClient) -> None:
        self.client = client
        self._listed: Memo[str | None, dict[Key, str]] = Memo()
        self._found: Memo[tuple[str | None, Key], str | Refused] = Memo()
        self._me: Memo[None, str] = Memo()

    def ids(self, contacts: Sequence[ContactPoint], organization: str | None) -> tuple[list[str], list[str]]:
        """The portal ids of these contact points of a publisher (its organization id, None for the API key's
        user), created where missing; and a warning for each one the portal refused."""
        ids: list[str] = []
        warnings: list[str] = []
        for contact in contacts:
            key = contact_key(contact)
            listed = self._listed.get(organization, lambda: self._list(organization)).get(key)
            found = listed if listed is not None else \
                self._found.get((organization, key), partial(self._create, key, organization))
            if isinstance(found, Refused):
                label = key[0] or key[1] or key[2]
                warnings.append(f"Contact point '{label}' ({key[3]}) left out: the portal refused it ({found.reason})")
            elif found not in ids:
                ids.append(found)
        return ids, warnings

    def _list(self, organization: str | None) -> dict[Key, str]:
        """The publisher's contact points on the portal, read page by page."""
        path = f"organizations/{organization}/contacts/" if organization else f"users/{self._user()}/contacts/"
        params: dict[str, Any] = {"page": 1, "page_size": self.client.config.udata_page_size}
        listed: dict[Key, str] = {}
        while True:
            page = self.client.request("GET", path, params=params, fields=LISTING_FIELDS)
            for contact in page["data"]:
                listed.setdefault(contact_key(contact), contact["id"])
            if not page.get("next_page"):
                return listed
            params["page"] += 1

    def _create(self, key: Key, organization: str | None) -> str | Refused:
        """Create the contact point (or find it: udata's POST gets the same one if it exists)."""
        name, email, contact_form, role = key
        body = {"name": name, "email": email, "contact_form": contact_form, "role": role}
        if organization:
            body["organization"] = organization
        try:
            return str(self.client.request("POST", "contacts/", json=body)["id"])
        except TargetError as error:
            if error.status == 400:
                return Refused(error.detail or str(error))
            raise

    def _user(self) -> str:
        return self._me.get(None, lambda: str(self.client.request("GET", "me/", fields="id")["id"]))
