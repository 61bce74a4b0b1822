"""The form that registers or edits a source, built from what its backend declares (filters, features, extra
configs with their labels, descriptions and types) and checked as the API checks a body: each value through the
same function (the body's schema, `check_api_url`, `check_schedule`, the backend's `validate_config` for each
entry), so that each refusal is shown beside its field, then the whole through `register_source` or
`change_source` with `SourceCreate`/`SourceChange.values()`, exactly what POST and PUT do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from backends import get_backend
from backends.base import Backend, ConfigError
from harvesters.api import SourceChange, SourceCreate
from harvesters.errors import DuplicateSource
from harvesters.models import HarvestSource
from harvesters.sources import check_api_url, check_schedule

BLANK_FILTER_ROWS = 2  # empty filter rows offered after the source's own
TEXT_FIELDS = ("name", "url", "description", "schedule", "organization", "owner")
OPTIONAL_FIELDS = ("description", "schedule", "organization", "owner")
FLAGS = ("active", "autoarchive")


@dataclass(frozen=True)
class FilterRow:
    key: str = ""
    type: str = "include"
    value: str = ""


@dataclass
class SourceForm:
    """What the form shows (`values` by field name, `filters`) and what it sends (`body`, the API's)."""

    backend: type[Backend]
    values: dict[str, Any]
    filters: list[FilterRow]

    @classmethod
    def of_source(cls, source: HarvestSource | None, backend: str | None = None) -> SourceForm:
        """The form of a source as stored (its secrets masked), or an empty one for `backend`."""
        if source is None:
            return cls(get_backend(backend or "dcat"), {"active": True, "autoarchive": True}, [])
        config = source.config
        values: dict[str, Any] = {name: getattr(source, name) or "" for name in TEXT_FIELDS if name not in
                                  ("organization", "owner")}
        values |= {"organization": source.organization.id if source.organization else "",
                   "owner": source.owner.id if source.owner else "", "active": source.active,
                   "autoarchive": source.autoarchive}
        values |= {f"feature:{key}": bool(value) for key, value in config.get("features", {}).items()}
        values |= {f"extra:{extra['key']}": str(extra["value"]) for extra in config.get("extra_configs", [])}
        rows = [FilterRow(str(f["key"]), f.get("type", "include"), str(f["value"])) for f in config.get("filters", [])]
        chosen = get_backend(backend) if backend else get_backend(source.backend)
        return cls(chosen, values, rows)

    @classmethod
    def posted(cls, form: FormData) -> SourceForm:
        backend = get_backend(str(form.get("backend") or ""))
        values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in TEXT_FIELDS}
        values |= {name: form.get(name) == "1" for name in FLAGS}
        values |= {f"feature:{option.key}": form.get(f"feature:{option.key}") == "1" for option in backend.features}
        values |= {f"extra:{option.key}": str(form.get(f"extra:{option.key}") or "").strip()
                   for option in backend.accepted_extra_configs()}
        columns = (form.getlist("filter_key"), form.getlist("filter_type"), form.getlist("filter_value"))
        rows = [FilterRow(str(key).strip(), str(kind), str(value).strip())
                for key, kind, value in zip(*columns, strict=False)]
        return cls(backend, values, [row for row in rows if row.key or row.value])

    def rows(self) -> list[FilterRow]:
        """The filter rows shown: the source's, then blank ones to add more."""
        return [*self.filters, *[FilterRow()] * BLANK_FILTER_ROWS]

    def config(self) -> dict[str, Any]:
        return {
            "filters": [{"key": row.key, "type": row.type, "value": row.value} for row in self.filters],
            "features": {option.key: bool(self.values.get(f"feature:{option.key}"))
                         for option in self.backend.features},
            "extra_configs": [{"key": option.key, "value": self.values[f"extra:{option.key}"]}
                              for option in self.backend.accepted_extra_configs()
                              if self.values.get(f"extra:{option.key}")],
        }

    def body(self, editing: bool) -> dict[str, Any]:
        """The API's body: on an edit, an empty optional field is sent as null (it empties it), on a
        registration it is left out."""
        body: dict[str, Any] = {name: self.values[name] for name in TEXT_FIELDS if self.values[name]}
        if editing:
            body |= {name: None for name in OPTIONAL_FIELDS if not self.values[name]}
        return body | {name: self.values[name] for name in FLAGS} | {"backend": self.backend.name,
                                                                     "config": self.config()}

    def problems(self, editing: bool, allow_private: bool) -> dict[str, str]:
        """Each field's refusal, by field name (`filter:0`, `feature:KEY`, `extra:KEY` for the config's)."""
        found: dict[str, str] = {}
        try:
            (SourceChange if editing else SourceCreate).model_validate(self.body(editing))
        except ValidationError as error:
            for problem in error.errors():
                found.setdefault(str(problem["loc"][0]) if problem["loc"] else "form", problem["msg"])
        checks: list[tuple[str, Callable[[], object]]] = [
            ("url", lambda: self.values["url"] and check_api_url(self.values["url"], allow_private)),
            ("schedule", lambda: check_schedule(self.values["schedule"])),
        ]
        validate = self.backend.validate_config
        checks += [(f"filter:{index}", partial(validate, {"filters": [entry]}))
                   for index, entry in enumerate(self.config()["filters"])]
        checks += [(f"feature:{key}", partial(validate, {"features": {key: value}}))
                   for key, value in self.config()["features"].items()]
        checks += [(f"extra:{entry['key']}", partial(validate, {"extra_configs": [entry]}))
                   for entry in self.config()["extra_configs"]]
        for field, check in checks:
            if field not in found:
                try:
                    check()
                except ConfigError as error:
                    found[field] = str(error)
        return found


def refusal_field(error: Exception) -> str:
    """Where a refusal of the whole source is shown: a duplicate beside the URL, anything else above the buttons."""
    return "url" if isinstance(error, DuplicateSource) else "form"
