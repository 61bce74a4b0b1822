"""Names that read as sentences: no function of the program shadows a builtin or hides its verb behind an adjective.

Static checks of harvesters/ and backends/ (their syntax trees), so that a `def list(`, a `def public(` or a
fourth unrelated `describe` is caught where it is added.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator

from tests.shared import ROOT

#: Builtin names a function may take, because a protocol asks for that name.
PROTOCOL_NAMES = {
    "filter": "logging.Filter.filter",
    "format": "logging.Formatter.format",
    "map": "Backend.map, what a backend author writes (docs/backends.md)",
    "open": "UdataPortal.open, a constructor",
}
#: Names that say what a value is, not what the function does to it (`mask_secrets`, not `public`), or say
#: nothing of what is described.
VAGUE_NAMES = {"describe", "public", "shown", "checked", "show", "shown_url"}


def functions() -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    for path in sorted([*(ROOT / "harvesters").rglob("*.py"), *(ROOT / "backends").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield f"{path.relative_to(ROOT).as_posix()}:{node.lineno}", node


def test_no_function_shadows_a_builtin_but_those_a_protocol_names() -> None:
    builtin_names = {name for name in dir(builtins) if not name.startswith("_")}
    found = {f"{where} {node.name}" for where, node in functions()
             if node.name in builtin_names and node.name not in PROTOCOL_NAMES}
    assert found == set()


def test_no_function_hides_its_verb() -> None:
    found = {f"{where} {node.name}" for where, node in functions() if node.name in VAGUE_NAMES}
    assert found == set()
