"""Milliseconds per HTML description: html_to_markdown now versus markdownify alone (how it was done before).

    .venv/bin/python -m benchmarks.markdown_benchmark [--rounds 50]

On every string holding HTML in fixtures/ and, when present, ../shared (the reference's fixtures and
the corpus), as tests/test_html_markdown.py finds them; CPU time of this process.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from backends.html import simple_markdown
from backends.normalize import html_to_markdown
from tests.shared import CORPUS, FIXTURES, UDATA_FIXTURES
from tests.test_html_markdown import before, descriptions


def per_call(convert: Callable[[str], object], texts: list[str], rounds: int) -> float:
    start = time.process_time()
    for _ in range(rounds):
        for text in texts:
            convert(text)
    return (time.process_time() - start) / rounds / len(texts) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    texts = [text for folder in (FIXTURES, UDATA_FIXTURES, CORPUS) if folder.exists() for text in descriptions(folder)]
    fast = sum(simple_markdown(text.strip()) is not None for text in texts)
    print(f"{len(texts)} HTML descriptions ({fast} simple), {sum(map(len, texts)) / len(texts):.0f} characters on "
          "average")
    ours, markdownify = per_call(html_to_markdown, texts, args.rounds), per_call(before, texts, args.rounds)
    print(f"html_to_markdown: {ours:.3f} ms per description; markdownify: {markdownify:.3f} ms "
          f"({markdownify / ours:.1f}x)")


if __name__ == "__main__":
    main()
