"""HTML descriptions to Markdown, fast for the HTML catalogs actually send.

Most HTML descriptions are a few paragraphs, line breaks, emphasis, links, flat lists and headings.
`simple_markdown` converts exactly that (a tokenizer and a small tree, no HTML parser) and gives up,
returning None, on anything else: other tags, comments, nested lists, blocks inside inline markup,
tags left open. `markdown` then falls back to markdownify, which handles any HTML. Both render the
same: tests/test_html_markdown.py renders each description of the fixtures and the corpus both ways.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

INLINE = frozenset({"span", "strong", "b", "em", "i", "a"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
PARAGRAPHS = frozenset({"p", "div"})
LISTS = frozenset({"ul", "ol"})
BLOCKS = PARAGRAPHS | HEADINGS | LISTS | {"li"}
EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*"}

_TOKENS = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s[^<>]*?)?)\s*(/?)>|([^<]+)|(<)")
_ATTRIBUTE = re.compile(r"""\s*([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+)""")
_LINE_BREAK_SPACE = re.compile(r"[\t \r\n]*[\r\n][\t \r\n]*")
_SPACES = re.compile(r"[\t ]+")
_ALL_SPACE = re.compile(r"[\t \r\n]+")
_LINE_START = re.compile(r"^(.+)$", re.MULTILINE)
_EDGE_NEWLINES = re.compile(r"^(\n*)(.*?)(\n*)$", re.DOTALL)


class NotSimple(Exception):
    """The HTML needs the general converter."""


@dataclass
class Element:
    tag: str
    attributes: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)
    number: int | None = None  # of an item of an ordered list


def markdown(text: str) -> str:
    """Markdown for an HTML fragment (the fast converter when it can, markdownify otherwise)."""
    found = simple_markdown(text)
    return found if found is not None else general_converter().convert(text)


@cache
def general_converter() -> Any:
    """markdownify's converter, built once (and imported only when some HTML needs it)."""
    from markdownify import MarkdownConverter

    return MarkdownConverter(heading_style="ATX", bullets="-", strip=["script", "style"])


def simple_markdown(text: str) -> str | None:
    """Markdown for simple HTML (see the module's docstring), None for anything else."""
    try:
        return _render(_parse(text), inline=False).strip("\n")
    except NotSimple:
        return None


def _parse(text: str) -> Element:
    root = Element("")
    stack = [root]
    for match in _TOKENS.finditer(text):
        closing, tag, attributes, void, content, stray = match.groups()
        if stray:
            raise NotSimple
        if content is not None:
            stack[-1].children.append(html.unescape(content))
            continue
        tag = tag.lower()
        if tag == "br":
            if closing:
                raise NotSimple
            stack[-1].children.append(Element("br"))
        elif tag not in INLINE and tag not in BLOCKS or void:
            raise NotSimple
        elif closing:
            if attributes or len(stack) == 1 or stack[-1].tag != tag:
                raise NotSimple
            stack.pop()
        else:
            element = Element(tag, _attributes(attributes))
            _check_nesting(stack, element)
            parent = stack[-1]
            if tag == "li" and parent.tag == "ol":
                start = parent.attributes.get("start", "")
                element.number = (int(start) if start.isnumeric() else 1) + sum(
                    isinstance(child, Element) and child.tag == "li" for child in parent.children)
            parent.children.append(element)
            stack.append(element)
    if len(stack) != 1:
        raise NotSimple
    return root


def _attributes(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    position = 0
    for match in _ATTRIBUTE.finditer(text):
        if match.start() != position:
            raise NotSimple
        name, value = match.group(1).lower(), match.group(2)
        found[name] = html.unescape(value[1:-1] if value[:1] in "\"'" else value)
        position = match.end()
    if text[position:].strip():
        raise NotSimple
    return found


def _check_nesting(stack: list[Element], element: Element) -> None:
    """Blocks only in blocks, list items only in lists (and lists not in list items), nothing in headings
    but inline markup."""
    parent = stack[-1].tag
    inside = {entry.tag for entry in stack}
    tag = element.tag
    if tag in BLOCKS and (inside & INLINE or inside & HEADINGS):
        raise NotSimple
    if (tag == "li") != (parent in LISTS) or (tag in LISTS and "li" in inside) or (tag in LISTS and inside & LISTS):
        raise NotSimple
    if parent in LISTS and tag != "li":
        raise NotSimple


def _is_block(node: Element | str | None) -> bool:
    return isinstance(node, Element) and node.tag in BLOCKS


def _followed(siblings: list[Element | str]) -> bool:
    """Whether content other than a list comes next (a list then ends with a blank line)."""
    following = next((node for node in siblings if isinstance(node, Element) or node.strip()), None)
    return following is not None and not (isinstance(following, Element) and following.tag in LISTS)


def _render(element: Element, inline: bool, followed: bool = False) -> str:
    """The Markdown of an element: its children's, joined, then its own markup."""
    block = element.tag in BLOCKS
    inline = inline or element.tag in HEADINGS
    children = element.children
    parts: list[str] = []
    for index, child in enumerate(children):
        before = children[index - 1] if index else None
        after = children[index + 1] if index + 1 < len(children) else None
        if isinstance(child, Element):
            parts.append(_render(child, inline, followed=_followed(children[index + 1:])))
        elif child.strip():
            parts.append(_text(child, before, after, block))
        elif not ((block and (before is None or after is None)) or _is_block(before) or _is_block(after)):
            parts.append(_text(child, before, after, block))
    return _markup(element, _join(parts), inline, followed)


def _text(text: str, before: Element | str | None, after: Element | str | None, block: bool) -> str:
    text = _SPACES.sub(" ", _LINE_BREAK_SPACE.sub("\n", text)).replace("*", r"\*").replace("_", r"\_")
    if _is_block(before) or (block and before is None):
        text = text.lstrip(" \t\r\n")
    if _is_block(after) or (block and after is None):
        text = text.rstrip()
    return text


def _join(parts: list[str]) -> str:
    """Children's Markdown joined; where one ends and the next starts with line breaks, the longer run
    (at most two) separates them."""
    joined: list[str] = []
    trailing = ""
    for part in parts:
        if not part:
            continue
        leading, content, end = _EDGE_NEWLINES.match(part).groups()  # type: ignore[union-attr]
        if joined and trailing and leading:
            joined[-1] = "\n" * min(2, max(len(trailing), len(leading)))
            leading = ""
        joined += [leading, content, end]
        trailing = end
    return "".join(joined)


def _markup(element: Element, text: str, inline: bool, followed: bool) -> str:
    tag = element.tag
    if tag in EMPHASIS or tag == "a":
        stripped = text.strip()
        if not stripped:
            return ""
        before = " " if text[:1] == " " else ""
        after = " " if text[-1:] == " " else ""
        if tag in EMPHASIS:
            return f"{before}{EMPHASIS[tag]}{stripped}{EMPHASIS[tag]}{after}"
        href, title = element.attributes.get("href"), element.attributes.get("title")
        if not href:
            return stripped
        if stripped.replace(r"\_", "_") == href and not title:
            return f"<{href}>"
        title_part = ' "{}"'.format(title.replace('"', r"\"")) if title else ""
        return f"{before}[{stripped}]({href}{title_part}){after}"
    if tag == "br":
        return " " if inline else "  \n"
    if tag in HEADINGS:
        return f"\n\n{'#' * int(tag[1])} {_ALL_SPACE.sub(' ', text.strip())}\n\n"
    if tag == "p":
        text = text.strip(" \t\r\n")
        return f"\n\n{text}\n\n" if text else ""
    if tag == "div":
        text = text.strip()
        return f"\n\n{text}\n\n" if text else ""
    if tag in LISTS:
        return "\n\n" + text + ("\n" if followed else "")
    if tag == "li":
        return _list_item(element, text.strip())
    return text


def _list_item(element: Element, text: str) -> str:
    if not text:
        return "\n"
    bullet = f"{element.number}. " if element.number is not None else "- "
    indent = " " * len(bullet)
    text = _LINE_START.sub(lambda line: indent + line.group(1), text)
    return bullet + text[len(bullet):] + "\n"
