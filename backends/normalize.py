"""Value clean-up shared by the mappings: text, tags, dates, URLs. Pure functions."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlparse

from markdownify import markdownify
from slugify import slugify

TAG_MIN_LENGTH = 3
TAG_MAX_LENGTH = 96
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")


def html_to_markdown(text: str | None) -> str:
    """Markdown for text that contains HTML; other text is returned stripped."""
    if not text:
        return ""
    text = text.strip()
    if not _HTML_TAG.search(text):
        return text
    markdown = markdownify(text, heading_style="ATX", bullets="-", strip=["script", "style"])
    return re.sub(r"\n{3,}", "\n\n", markdown).strip()


def normalize_tag(value: str) -> str | None:
    tag = slugify(value, max_length=TAG_MAX_LENGTH, word_boundary=False, lowercase=True)
    return tag if len(tag) >= TAG_MIN_LENGTH else None


def normalize_tags(values: list[str]) -> list[str]:
    """Slugified, lowercased, 3 to 96 characters (longer ones cut), unique, sorted."""
    return sorted({tag for value in values if value and (tag := normalize_tag(value))})


def parse_datetime(value: str | None) -> datetime | None:
    """An aware datetime from ISO 8601 text (a date alone is midnight UTC); None if unparseable."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(text[:10]), datetime.min.time())
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_http_url(value: str | None) -> bool:
    if not value:
        return False
    parsed = urlparse(value.strip())
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def url_filename(url: str) -> str | None:
    name = urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]
    return name or None
