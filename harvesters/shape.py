"""What a written dataset holds, counted, so that a record read with doubts never silently makes it poorer.

A record from a page that could only be read leniently (its `Record.warnings`) may lack triples the catalog
meant to give: a distribution's format, a whole resource. The shape of each write (how many resources, how
many of them fill each field, which dataset fields are filled) is kept with its link (`links.summary`); such
a record whose mapping holds less than the last write is not written (`losses` says what it would lose).
"""

from __future__ import annotations

from typing import Any

Shape = dict[str, Any]  # {"resources": int, "fields": {path: count}}, as kept in links.summary["shape"]


def shape_of(document: dict[str, Any]) -> Shape:
    """The shape of a payload as written (its JSON document): its filled top-level fields (count 1 each), and
    for each resource field the number of resources filling it (`resources.format`: 3). A JSON value is not
    filled when it is false: null, "", [], {}, false, 0."""
    fields = {name: 1 for name, value in document.items() if value and name != "resources"}
    resources = document.get("resources") or []
    filling: dict[str, int] = {}
    for resource in resources:
        for name, value in resource.items():
            if value and name != "id":
                filling[name] = filling.get(name, 0) + 1
    fields |= {f"resources.{name}": count for name, count in filling.items()}
    return {"resources": len(resources), "fields": fields}


def losses(previous: Shape | None, current: Shape) -> list[str]:
    """What `current` lacks that `previous` had: fewer resources, or fewer values of a field (none when the
    previous shape is unknown: a link written before shapes were kept)."""
    if not previous:
        return []
    lost = []
    if current["resources"] < previous.get("resources", 0):
        lost.append(f"resources: {previous['resources']} -> {current['resources']}")
    for name, count in sorted((previous.get("fields") or {}).items()):
        if current["fields"].get(name, 0) < count:
            lost.append(f"{name}: {count} -> {current['fields'].get(name, 0)}")
    return lost
