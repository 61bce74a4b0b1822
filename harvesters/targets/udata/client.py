"""JSON over a udata portal's /api/1, resilient and polite.

Every request goes through the framework's HTTP client (`Http.send`: deadline, size cap, no redirect
followed, since one would carry the API key elsewhere). Writes take a token of the portal's write budget
first (`budget`), retries included. A 429 waits its Retry-After; 5xx and network errors are retried with
exponential backoff and jitter (tenacity). When the portal stays unavailable, the circuit breaker opens and
TargetUnavailable tells the pipeline to pause the job. Any other 4xx is the request's fault: TargetError
with the portal's message (a 401, a redirect or a non-JSON answer mean a wrong key or URL: the job pauses
too). The API key is sent as X-API-KEY and never written into a message.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from harvesters.answers import TEXT_LENGTH, ErrorAnswer, field_problems
from harvesters.http import Http, HttpError, HttpOptions, Unreachable, parse_json, retry_after
from harvesters.metrics import PORTAL_RETRIES, PORTAL_WRITE
from harvesters.settings import Settings
from harvesters.targets.base import TargetError, TargetUnavailable
from harvesters.targets.udata.breaker import Breaker
from harvesters.targets.udata.budget import WriteBudget, write_budget

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNAVAILABLE = frozenset({429, 502, 503, 504})  # the portal is overloaded or down: not the request's fault
NOT_PROCESSED = frozenset({429, 503})  # answers meaning the request was not carried out


class Retry(Exception):
    """An attempt that may pass later: what went wrong, the answer (None after a network failure), the wait
    the portal asked for, and whether the portal may have carried the request out."""

    def __init__(self, problem: str, response: requests.Response | None, processed_maybe: bool,
                 after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.response = response
        self.processed_maybe = processed_maybe
        self.after = after


class UdataClient:
    """JSON over udata's /api/1 within the portal's write budget, with retries, backoff and a circuit breaker;
    safe to share between threads."""

    def __init__(self, url: str, api_key: str | None, config: Settings, budget: WriteBudget | None = None) -> None:
        self.url = url.rstrip("/")
        self.config = config
        self.api_key = api_key
        self.http = Http(HttpOptions.from_settings(config))
        self.budget = budget or write_budget(config, self.url)
        self.breaker = Breaker(config.udata_breaker_threshold, config.udata_breaker_cooldown)
        self.writes: Counter[str] = Counter()  # "POST datasets 201", "PUT datasets 503"...: every write request sent
        self._writes_lock = threading.Lock()
        self._backoff = wait_exponential_jitter(multiplier=config.udata_backoff, max=config.udata_backoff_max,
                                                jitter=config.udata_backoff)
        self._retrying = Retrying(stop=stop_after_attempt(config.udata_max_retries + 1), wait=self._wait,
                                  retry=retry_if_exception_type(Retry), reraise=True)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        fields: str | None = None,
        recover: Callable[[], Any] | None = None,
    ) -> Any:
        """The JSON answer (None for 204). Retries what may pass later; before re-sending a request the
        portal may have carried out, `recover()` is asked for its effect (a found result is returned)."""
        url = f"{self.url}/api/1/{path.lstrip('/')}"
        headers = {"X-Fields": fields} if fields else {}
        if self.api_key:
            headers["X-API-KEY"] = self.api_key
        last: Retry | None = None
        try:
            for attempt in self._retrying.copy():  # its own state: `recover` sends requests of its own
                if attempt.retry_state.attempt_number > 1:
                    PORTAL_RETRIES.labels(method).inc()
                with attempt:
                    if recover is not None and last is not None and last.processed_maybe \
                            and (found := recover()) is not None:
                        self.breaker.success()
                        return found
                    try:
                        return self._attempt(method, url, headers, json, params)
                    except Retry as retry:
                        last = retry
                        raise
        except Retry as retry:
            raise self._gave_up(retry) from None
        raise AssertionError("tenacity ended without an outcome")

    def _attempt(self, method: str, url: str, headers: dict[str, str], json: Any,
                 params: dict[str, Any] | None) -> Any:
        """One attempt: the result, Retry for what may pass later, TargetUnavailable or TargetError otherwise."""
        self.breaker.check()
        if method in WRITE_METHODS:
            self.budget.take()
        started = time.monotonic()
        try:
            response = self.http.send(method, url, headers=headers, json=json, params=params)
        except HttpError as error:
            self._count(method, url, "error", time.monotonic() - started)
            raise Retry(f"{method} request failed: {error}", None,
                        processed_maybe=not isinstance(error, Unreachable)) from None
        status = response.status_code
        self._count(method, url, str(status), time.monotonic() - started)
        problem = f"{method} {url} answered HTTP {status} {response.reason or ''}".rstrip()
        if status == 401:
            message = f"{problem}: the portal refused the API key (check HARVEST_UDATA_API_KEY)"
            self.breaker.failure(message, trip=True)
            raise TargetUnavailable(message, status)
        if status == 429 or status >= 500:
            after = retry_after(response.headers.get("Retry-After"))
            if after is not None and after > self.config.udata_retry_after_max:
                message = f"{problem}, asking to wait {after:g}s (more than HARVEST_UDATA_RETRY_AFTER_MAX)"
                self.breaker.failure(message, trip=True)
                raise TargetUnavailable(message, status)
            raise Retry(problem, response, processed_maybe=status not in NOT_PROCESSED, after=after)
        self.breaker.success()
        return self._result(method, url, response)

    def _count(self, method: str, url: str, outcome: str, seconds: float) -> None:
        """Every write request sent, by method, collection and answer, and how long it took (the metrics)."""
        if method in WRITE_METHODS:
            PORTAL_WRITE.labels(method).observe(seconds)
            collection = url[len(self.url) + len("/api/1/"):].split("/", 1)[0]
            with self._writes_lock:
                self.writes[f"{method} {collection} {outcome}"] += 1

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: the portal's Retry-After, else exponential backoff with jitter."""
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, Retry) and error.after is not None:
            return error.after
        return self._backoff(state)

    def _result(self, method: str, url: str, response: requests.Response) -> Any:
        status = response.status_code
        if 300 <= status < 400:
            message = (f"{method} {url} redirects to {response.headers.get('Location', '?')}: "
                       "check HARVEST_UDATA_URL (e.g. https://, no path)")
            self.breaker.failure(message, trip=True)
            raise TargetUnavailable(message, status)
        if status >= 400:
            detail = portal_message(ErrorAnswer.read(response))
            raise TargetError(f"The portal refused {method} {url}: HTTP {status}: {detail}", status, detail)
        if status == 204:
            return None
        try:
            return parse_json(response)
        except HttpError as error:
            raise TargetUnavailable(f"{error} (is HARVEST_UDATA_URL a udata portal?)", status) from None

    def _gave_up(self, retry: Retry) -> TargetError:
        status = retry.response.status_code if retry.response is not None else None
        message = f"{retry.problem}{_detail(retry.response)} ({self.config.udata_max_retries + 1} attempts)"
        if status is None or status in UNAVAILABLE:
            self.breaker.failure(message, trip=True)
            return TargetUnavailable(message, status)
        if self.breaker.failure(message):
            return TargetUnavailable(f"{message}; {self.breaker.threshold} requests failed in a row", status)
        return TargetError(message, status)


def portal_message(answer: ErrorAnswer) -> str:
    """udata's explanation: its validation errors by field, else its message, else the start of the body."""
    body = answer.json
    if isinstance(body, dict) and isinstance(body.get("errors"), dict) and body["errors"]:
        return field_problems(body["errors"])
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return answer.text if body is None else str(body)[:TEXT_LENGTH]


def _detail(response: requests.Response | None) -> str:
    if response is None or response.status_code in UNAVAILABLE:
        return ""
    message = portal_message(ErrorAnswer.read(response))
    return f": {message}" if message else ""
