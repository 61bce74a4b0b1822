"""CKAN and DKAN: full packages come in `package_search` pages (no per-dataset request).

`package_list` + one `package_show` per dataset is only the fallback for portals without `package_search`.
CKAN reports errors in the body (`success: false`, often with HTTP 200): they fail the job with their message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from backends.base import (
    Backend,
    ConfigError,
    ConfigFilter,
    ErrorAnswer,
    GatherError,
    HarvestConfig,
    HttpError,
    IncompleteGather,
    Mapped,
    Option,
    Record,
    field_problems,
    label_message,
    parse_json,
)
from backends.ckan.mapping import map_package, package_id, remote_url

#: Statuses by which a portal says it has no such action.
UNAVAILABLE_STATUSES = frozenset({404, 405, 410, 501})


class CkanError(GatherError):
    """A CKAN API error answer (`success: false`), with its HTTP status when it was not 200."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CkanBackend(Backend):
    name = "ckan"
    display_name = "CKAN"
    filters: ClassVar[tuple[Option, ...]] = (
        Option("organization", "Organization", str, "A CKAN organization name"),
        Option("tags", "Tag", str, "A CKAN tag name"),
        Option("groups", "Group", str, "A CKAN group name"),
    )
    extra_configs = (
        Option("fq", "Filter query", str, "A raw Solr filter query (fq) added to package_search"),
        Option("api_key", "API key", str, "Sent as the Authorization header; private datasets are then listed too",
               secret=True),
        Option("rows", "Page size", int, "Datasets per package_search page (portals usually cap it at 1000)",
               default=1000),
    )
    #: DKAN marks public datasets `private`: only CKAN's flag is trusted.
    honor_private = True

    @classmethod
    def validate_config(cls, raw: dict[str, Any] | None) -> HarvestConfig:
        config = super().validate_config(raw)
        if config.extra("rows", 1000) < 1:
            raise ConfigError("Extra config 'rows' must be at least 1")
        return config

    @property
    def base_url(self) -> str:
        """The portal's root, whether the source URL is the site, its `/api/3` or its `/api/3/action`."""
        url = self.url.rstrip("/")
        for suffix in ("/api/3/action", "/api/3", "/api/action", "/api"):
            url = url.removesuffix(suffix)
        return url

    # --- gather -------------------------------------------------------------------------------------------

    def gather(self) -> Iterator[Record]:
        try:
            page = self.search(start=0)
        except (HttpError, CkanError) as error:
            if not search_unavailable(error):
                raise
            if self.config.filters or self.extra("fq"):
                raise GatherError(f"Filters need package_search, which this portal does not offer: {error}") from None
            yield from self.listed_packages()
            return
        seen: set[str] = set()  # a dataset added upstream during the harvest shifts later pages by one
        start = 0
        while True:
            results = page.get("results") or []
            self.context.announce(int(page.get("count") or 0))
            for package in results:
                record = self.record(package)
                if record.remote_id not in seen:
                    seen.add(record.remote_id)
                    yield record
            start += len(results)
            count = int(page.get("count") or 0)
            if start >= count:
                return
            if not results:  # the last answer still counts more datasets than the pages gave
                raise IncompleteGather(f"package_search on {self.base_url} counts {count} datasets",
                                       f"its pages gave {start}")
            page = self.search(start)

    def search(self, start: int) -> dict[str, Any]:
        params: dict[str, Any] = {"rows": self.extra("rows"), "start": start, "sort": "id asc"}
        if query := search_query(self.config.filters):
            params["q"] = query
        if fq := self.extra("fq"):
            params["fq"] = fq
        if self.extra("api_key"):
            params["include_private"] = "true"
        result = self.action("package_search", **params)
        if not isinstance(result, dict) or not isinstance(result.get("results"), list):
            raise GatherError(f"package_search on {self.base_url} did not return a list of results")
        return result

    def listed_packages(self) -> Iterator[Record]:
        """The fallback: every name from package_list, then package_show for each."""
        names = self.action("package_list")
        if not isinstance(names, list):
            raise GatherError(f"package_list on {self.base_url} did not return a list of names")
        for name in names:
            try:
                result = self.action("package_show", id=name)
            except (HttpError, CkanError) as error:
                if isinstance(error, HttpError) and (error.status or 500) >= 500:
                    raise  # the portal is unreachable or broken, not this one package
                yield Record(remote_id=name, remote_url=f"{self.base_url}/dataset/{name}", error=str(error))
                continue
            yield self.record(result[0] if isinstance(result, list) and result else result)

    def record(self, package: Any) -> Record:
        if not isinstance(package, dict):
            return Record(remote_id=str(package)[:100], skip_reason="not a package object")
        remote_id = package_id(package)
        return Record(remote_id=remote_id, remote_url=remote_url(self.base_url, package), data=package,
                      skip_reason=None if remote_id else "package without id or name")

    def action(self, name: str, **params: Any) -> Any:
        """Call an action of the CKAN API; its error answers raise CkanError with CKAN's own message."""
        url = f"{self.base_url}/api/3/action/{name}"
        headers = {"Authorization": key} if (key := self.extra("api_key")) else {}
        try:
            response = self.http.get(url, params=params, headers=headers)
        except HttpError as error:
            answer = ErrorAnswer.of(error)
            body = answer.json if answer else None
            if answer is None or not isinstance(body, dict) or body.get("success") is not False:
                raise
            raise CkanError(answer.annotate(ckan_message(body.get("error")), url), status=error.status) from None
        body = parse_json(response)
        if not isinstance(body, dict) or "success" not in body:
            raise GatherError(f"{response.url} did not answer like a CKAN API (no 'success' key)")
        if body["success"] is not True:
            raise CkanError(f"{ckan_message(body.get('error'))} (from {url})")
        return body.get("result")

    # --- map ----------------------------------------------------------------------------------------------

    def map(self, record: Record) -> Mapped:
        return map_package(record.data, self.base_url, self.context.licenses, honor_private=self.honor_private)


class DkanBackend(CkanBackend):
    """DKAN's CKAN-like API: package_show answers a list; French fuzzy dates and sizes (handled by the mapping)."""

    name = "dkan"
    display_name = "DKAN"
    filters = ()
    honor_private = False


def search_query(filters: list[ConfigFilter]) -> str | None:
    """The filters as a Solr `q`: `organization:"x" AND -tags:"y"`."""
    clauses = [f"{'-' if flt.type == 'exclude' else ''}{flt.key}:{solr_quote(str(flt.value))}" for flt in filters]
    return " AND ".join(clauses) or None


def solr_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search_unavailable(error: HttpError | CkanError) -> bool:
    """Whether an error answer to package_search means the portal has no such action."""
    return error.status in UNAVAILABLE_STATUSES or "action name not known" in str(error).lower()


def ckan_message(error: Any) -> str:
    """CKAN's error as a sentence: `{"__type": "Authorization Error", "message": "Access denied"}` ->
    "Authorization Error: Access denied"; a validation error's fields are listed with their problems."""
    if isinstance(error, dict):
        fields = {key: value for key, value in error.items() if key not in ("__type", "message")}
        message = error.get("message") or field_problems(fields)
        return label_message(error.get("__type"), message) or "Unknown CKAN error"
    return str(error).strip() if error else "Unknown CKAN error"
