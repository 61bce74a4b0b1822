"""The udata target's pure parts: the payload it sends, Retry-After, the circuit breaker, what `attach` adopts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from harvesters.http import retry_after
from harvesters.licenses import LicenseIndex
from harvesters.models import Dataset, HarvestSource, OrganizationRef, Resource
from harvesters.targets import Provenance, TargetUnavailable, Write
from harvesters.targets.udata import adoptable
from harvesters.targets.udata.breaker import Breaker
from harvesters.targets.udata.payloads import dataset_body

LICENSES = LicenseIndex([{"id": "lov2", "title": "Licence Ouverte / Open Licence version 2.0"},
                         {"id": "notspecified", "title": "License Not Specified"}])
FREQUENCIES = {"unknown", "daily", "monthly"}
SOURCE_URL = "https://data.example.org/catalog.xml"


def write(**dataset: Any) -> Write[Dataset]:
    provenance = Provenance(source_id="src1", source_url=SOURCE_URL, remote_id="r1", backend="dcat",
                            last_update=datetime(2024, 5, 1, tzinfo=UTC))
    return Write.of(Dataset(**{"title": "T", "description": "D", **dataset}), provenance, organization="org1")


def body(previous: list[dict[str, Any]] | None = None, contacts: list[str] | None = None,
         **dataset: Any) -> dict[str, Any]:
    return dataset_body(write(**dataset), LICENSES, FREQUENCIES, previous or [], contacts or [])


def test_known_license_and_frequency_are_sent_unknown_ones_kept_in_extras() -> None:
    known = body(license="lov2", frequency="daily")
    assert (known["license"], known["frequency"]) == ("lov2", "daily")
    assert "harvest:license" not in known["extras"] and "harvest:frequency" not in known["extras"]
    unknown = body(license="my-own-license", frequency="every-full-moon")
    assert (unknown["license"], unknown["frequency"]) == (None, None)
    assert unknown["extras"]["harvest:license"] == "my-own-license"
    assert unknown["extras"]["harvest:frequency"] == "every-full-moon"


def test_every_field_is_sent_so_a_put_clears_what_upstream_dropped() -> None:
    sent = body()
    for key in ("acronym", "license", "frequency", "temporal_coverage", "spatial", "archived"):
        assert key in sent and sent[key] is None
    assert sent["tags"] == [] and sent["resources"] == [] and sent["organization"] == "org1"
    assert sent["contact_points"] == [] and body(contacts=["c1", "c2"])["contact_points"] == ["c1", "c2"]


def test_provenance_goes_in_extras_without_nulls() -> None:
    extras = body(extras={"theirs": "kept", "empty": None})["extras"]
    assert extras == {
        "theirs": "kept", "harvest:source_id": "src1", "harvest:remote_id": "r1", "harvest:domain": "data.example.org",
        "harvest:backend": "dcat", "harvest:last_update": "2024-05-01T00:00:00+00:00",
        "harvest:source_url": SOURCE_URL,
    }


def test_resources_keep_their_portal_ids_by_upstream_identity_then_url() -> None:
    previous = [
        {"id": "id-a", "url": "https://old.example.org/a.csv", "title": "A", "extras": {"harvest:uri": "urn:a"}},
        {"id": "id-b", "url": "https://example.org/b.csv", "title": "B", "extras": {}},
    ]
    resources = [
        Resource(title="A moved", url="https://new.example.org/a.csv", harvest={"uri": "urn:a"}),
        Resource(title="B", url="https://example.org/b.csv"),
        Resource(title="C", url="https://example.org/c.csv"),
    ]
    sent = body(previous, resources=resources)["resources"]
    assert [resource.get("id") for resource in sent] == ["id-a", "id-b", None]
    assert "id" not in sent[2]  # a new resource: the portal gives it an id
    assert sent[0]["extras"] == {"harvest:uri": "urn:a"} and "harvest" not in sent[0]


def test_portal_constraints_are_met_rather_than_failing_the_dataset() -> None:
    sent = body(description="", temporal_coverage={"start": "2016-01-01T10:00:00Z", "end": None},
                spatial={"zones": [], "granularity": None, "geom": {"type": "Point", "coordinates": [1, 2]}})
    assert sent["description"] == "T"
    assert sent["temporal_coverage"] == {"start": "2016-01-01"}
    assert sent["spatial"] == {"geom": {"type": "Point", "coordinates": [1, 2]}}


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after("7") == 7.0
    assert retry_after(None) is None and retry_after("soon") is None
    later = retry_after(format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True))
    assert later is not None and 100 < later <= 120
    assert retry_after(format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)) == 0.0


def test_breaker_opens_after_failures_in_a_row_and_lets_a_trial_through_after_cooldown() -> None:
    breaker = Breaker(threshold=3, cooldown=3600)
    assert not breaker.failure("HTTP 500") and not breaker.failure("HTTP 500")
    breaker.success()
    assert not breaker.failure("HTTP 500") and not breaker.failure("HTTP 500")
    assert breaker.failure("HTTP 500 again")
    with pytest.raises(TargetUnavailable, match="HTTP 500 again"):
        breaker.check()
    tripped = Breaker(threshold=3, cooldown=0)
    assert tripped.failure("HTTP 503", trip=True)
    tripped.check()  # cooldown over: one trial goes through...
    assert tripped.failure("HTTP 503 still")  # ...and its failure re-opens at once


def source(**values: Any) -> HarvestSource:
    return HarvestSource(id="new", name="n", slug="n", backend="dcat", url=SOURCE_URL,
                         created_at=datetime.now(UTC), organization=OrganizationRef(id="org1"), **values)


def portal_dataset(extras: dict[str, Any] | None = None, harvest: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": "d1", "extras": extras or {}, "harvest": harvest}


def test_attach_adopts_our_own_datasets_and_those_of_a_lost_source_of_the_same_catalog() -> None:
    ours = {"harvest:remote_id": "r1", "harvest:domain": "data.example.org"}
    assert adoptable(portal_dataset({**ours, "harvest:source_id": "new"}), source(), other_sources={"live"})
    lost = {**ours, "harvest:source_id": "gone", "harvest:source_url": SOURCE_URL}
    assert adoptable(portal_dataset(lost), source(), other_sources={"live"})
    assert not adoptable(portal_dataset({**lost, "harvest:source_url": "https://data.example.org/other.xml"}),
                         source(), other_sources={"live"})
    assert not adoptable(portal_dataset({**lost, "harvest:source_id": "live"}), source(), other_sources={"live"})
    assert not adoptable(portal_dataset({"harvest:source_id": "new"}), source(), other_sources=set())  # no remote id


def test_attach_adopts_datasets_harvested_by_udata_itself_from_the_same_domain() -> None:
    native = {"remote_id": "r1", "domain": "data.example.org", "source_id": "udata-source"}
    assert adoptable(portal_dataset(harvest=native), source(), other_sources=set())
    assert not adoptable(portal_dataset(harvest={**native, "domain": "elsewhere.org"}), source(), other_sources=set())
