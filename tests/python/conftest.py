"""Shared fixtures for the Python tests."""

from __future__ import annotations

import importlib.util
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
