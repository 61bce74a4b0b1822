"""The console's words, in English and French: the browser's Accept-Language picks, the switch (a cookie)
overrides. Messages from the framework itself (a refused config, a job's errors) are shown as the API gives
them, in English."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from harvesters.console.messages import MESSAGES

LANGUAGES = ("en", "fr")  # the order of each message's translations
DEFAULT = "en"
COOKIE = "harvest_lang"

Translate = Callable[..., str]


def negotiated(accept_language: str | None) -> str:
    """The language of ours the browser prefers (`fr-FR,fr;q=0.9,en;q=0.8` -> fr), else English."""
    best, best_weight = DEFAULT, 0.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        weight -= position * 1e-6  # equal weights: the first listed wins
        if code in LANGUAGES and weight > best_weight:
            best, best_weight = code, weight
    return best


def language(request: Request) -> str:
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else negotiated(request.headers.get("accept-language"))


def translator(lang: str) -> Translate:
    """`t(key, **values)`: the message in `lang`, its {placeholders} filled."""
    index = LANGUAGES.index(lang)

    def t(key: str, **values: Any) -> str:
        return MESSAGES[key][index].format(**values)

    return t
