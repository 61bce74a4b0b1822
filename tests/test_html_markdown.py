"""HTML descriptions render the same through our converter as through markdownify (what we used before).

Every string holding HTML in our fixtures, in the reference's fixtures and in the corpus (../shared) is
converted both ways; the two Markdown texts are rendered to HTML (CommonMark, markdown-it) and compared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph
import pytest
from lxml import etree
from markdown_it import MarkdownIt
from markdownify import markdownify

from backends.html import simple_markdown
from backends.normalize import html_to_markdown
from tests.shared import CORPUS, FIXTURES, UDATA_FIXTURES, shared

HTML = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>")
RENDERER = MarkdownIt("commonmark")
RDF_SUFFIXES = {".ttl": pyoxigraph.RdfFormat.TURTLE, ".nt": pyoxigraph.RdfFormat.N_TRIPLES}
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, recover=True)


def before(text: str) -> str:
    """What html_to_markdown answered before: markdownify, blank lines collapsed."""
    markdown = markdownify(text.strip(), heading_style="ATX", bullets="-", strip=["script", "style"])
    return re.sub(r"\n{3,}", "\n\n", markdown).strip()


def strings(path: Path) -> Iterator[str]:
    """Every string of a document: JSON values, XML texts and attribute values, RDF literals."""
    content = path.read_bytes()
    if path.suffix in RDF_SUFFIXES:
        for quad in pyoxigraph.parse(content, format=RDF_SUFFIXES[path.suffix], base_iri="http://x.test/"):
            if isinstance(quad.object, pyoxigraph.Literal):
                yield quad.object.value
        return
    try:
        document = json.loads(content)
    except ValueError:
        root = etree.fromstring(content, XML_PARSER)
        for element in root.iter() if root is not None else ():
            yield from (text for text in (element.text, element.tail, *element.attrib.values()) if text)
        return
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def descriptions(folder: Path) -> list[str]:
    """The strings holding HTML in the documents of a folder."""
    return [text for path in sorted(folder.rglob("*")) if path.is_file() and path.suffix != ".md"
            for text in strings(path) if HTML.search(text)]


def assert_same_rendering(texts: list[str]) -> None:
    assert texts, "no HTML description found"
    for text in texts:
        assert RENDERER.render(html_to_markdown(text)) == RENDERER.render(before(text)), text


def test_our_fixtures_render_the_same() -> None:
    assert_same_rendering(descriptions(FIXTURES))


@pytest.mark.parametrize("folder", ["reference", "corpus"])
def test_shared_documents_render_the_same(folder: str) -> None:
    assert_same_rendering(descriptions(shared(UDATA_FIXTURES if folder == "reference" else CORPUS)))


def test_simple_html_takes_the_fast_path_and_the_rest_the_general_converter() -> None:
    cases = json.loads((FIXTURES / "descriptions" / "html.json").read_text(encoding="utf-8"))
    for case in cases:
        assert (simple_markdown(case["html"]) is not None) == case["simple"], case["html"]
    assert sum(case["simple"] for case in cases) >= 20 and not all(case["simple"] for case in cases)


def test_text_without_markup_is_only_stripped() -> None:
    assert html_to_markdown("  Mesures *brutes* de la_station \n") == "Mesures *brutes* de la_station"
    assert html_to_markdown(None) == html_to_markdown("") == ""
