"""What an API says in the body of an error answer, read one way by every client (the backends, the udata target).

`ErrorAnswer.of(error)` (an HttpError's answer) or `ErrorAnswer.read(response)` holds an error answer's status
and body; its body is offered as JSON (`json`), as XML (`xml`, parsed safely) or as text, each None or empty
when the body is not that, so reading it never raises. An API's own reader picks its message out of that
(CKAN's `error`, OpenDataSoft's `message`, an OWS ExceptionReport, udata's `errors` by field) with the pieces
most APIs share: `label_message` (`kind: message`) and `field_problems` (what is wrong with each field).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import requests
from lxml import etree

from harvesters.http import parse_xml
from harvesters.transport import HttpError

TEXT_LENGTH = 300  # characters of a body shown when it says nothing an API reader understands


@dataclass(frozen=True)
class ErrorAnswer:
    """An answer with an error status: its status, the server's reason phrase and its body."""

    status: int
    reason: str
    content: bytes

    @classmethod
    def of(cls, error: HttpError) -> ErrorAnswer | None:
        """The error answer an HttpError carries; None when the request got none (a network failure)."""
        return cls.read(error.response) if error.response is not None else None

    @classmethod
    def read(cls, response: requests.Response) -> ErrorAnswer:
        """An error answer as `Http.send` returns it."""
        return cls(response.status_code, response.reason or "", response.content)

    @cached_property
    def json(self) -> Any:
        """The body decoded as JSON; None when it is not JSON."""
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    @cached_property
    def xml(self) -> etree._Element | None:
        """The body parsed as XML (no document type, entity or network); None when it is not XML."""
        try:
            return parse_xml(self.content, "error answer")
        except HttpError:
            return None

    @property
    def text(self) -> str:
        """The start of the body on one line, else the reason phrase."""
        body = " ".join(self.content.decode("utf-8", "replace").split())
        return body[:TEXT_LENGTH] or self.reason

    def annotate(self, message: str, url: str) -> str:
        """An API's message, saying which answer gave it: `message (HTTP 403 from url)`."""
        return f"{message} (HTTP {self.status} from {url})"


def label_message(kind: Any, message: Any) -> str:
    """`kind: message` for an error's type or code and its message, either one alone when the other is empty."""
    return ": ".join(str(part).strip() for part in (kind, message) if part and str(part).strip())


def field_problems(fields: Mapping[str, Any]) -> str:
    """What is wrong with each field, in one line: `name: Missing value; url: Not a URL, Too long` (nested
    fields as `resources: url: Not a URL`)."""
    return "; ".join(f"{key}: {_problem(value)}" for key, value in fields.items())


def _problem(value: Any) -> str:
    if isinstance(value, Mapping):
        return field_problems(value)
    if isinstance(value, list):
        return ", ".join(_problem(inner) for inner in value)
    return str(value)
