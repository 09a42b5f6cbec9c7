"""Shared fixtures for the Python tests."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

if importlib.util.find_spec("vasdk") is None:
    # Not installed (fresh checkout): the pure-Python tools still work from the tree.
    sys.path.insert(0, str(ROOT / "python"))
# scripts/assets.py (fetching and checksums) is a development script, not part of the package.
sys.path.insert(0, str(ROOT / "scripts"))


@pytest.fixture(scope="session")
def assets() -> Path:
    """The asset folder. Missing assets are a broken setup, so this fails, never skips."""
    from assets import MANIFEST, SETUP_HINT, asset_dir

    d = asset_dir()
    if not (d / MANIFEST).is_file():
        pytest.fail(f"no assets in {d}: {SETUP_HINT}", pytrace=False)
    return d


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """vasdk's caches (distillation's compiled steps) live in the session's temp folder, so that
    tests neither read nor fill the user's ~/.cache."""
    os.environ["VASDK_CACHE_DIR"] = str(tmp_path_factory.mktemp("vasdk-cache"))
