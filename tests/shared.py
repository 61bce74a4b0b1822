"""Where the tests find their documents: ours in `fixtures/`, third-party ones in `../shared`.

The reference harvester's catalogs, the real-world corpus and udata's documented JSON shapes are
not copied into the repository: they are read from `../shared` beside it (CI always has it), or from
HARVEST_SHARED_DIR (a checkout elsewhere, a git worktree). A test that needs one is skipped, saying where
it looked, on a machine without it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"  # catalogs we wrote ourselves (the demo, generated samples)
SHARED = Path(os.environ.get("HARVEST_SHARED_DIR") or ROOT.parent / "shared")
UDATA_FIXTURES = SHARED / "fixtures" / "udata"  # the reference harvester's own test catalogs
CORPUS = SHARED / "corpus"  # real catalog documents from other projects and portals
UDATA_API = SHARED / "udata-api"  # udata's API reference and documented JSON shapes


def shared(path: Path) -> Path:
    """A document of ../shared; skip the calling test when it is absent."""
    if not path.exists():
        pytest.skip(f"{path} is absent: third-party documents are read from ../shared beside the repository")
    return path


def fixture_path(name: str) -> Path:
    """A catalog by its path under fixtures/ (ours), else under ../shared/fixtures/udata/ (the reference's)."""
    ours = FIXTURES / name
    return ours if ours.exists() else shared(UDATA_FIXTURES / name)


def documented_path(name: str) -> Path:
    """One of udata's documented JSON shapes (../shared/udata-api/)."""
    return shared(UDATA_API / name)
