"""Where the real models, clips and ground truth live (tests, demos, benchmarks).

Only locating ships with vasdk; fetching and checking the files is the development script
``scripts/assets.py`` (``scripts/setup.sh`` runs it once), which is not part of the package.
``vasdk assets path NAME`` prints a path from here.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "SETUP_HINT", "asset_dir", "asset_path"]

ENV_VAR = "VASDK_ASSETS"
SETUP_HINT = "run scripts/setup.sh (or `python scripts/assets.py fetch`) to install the assets"


def _find_cache_dir() -> Path | None:
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for d in (start, *start.parents):
            cand = d / ".cache" / "assets"
            if cand.is_dir():
                return cand
    return None


def asset_dir() -> Path:
    """Folder holding the assets.

    ``$VASDK_ASSETS`` if set; else the first ``.cache/assets`` found walking up from the
    current directory and then from this file (a source checkout or an in-repo venv);
    else ``~/.cache/vasdk/assets``. The folder may not exist yet.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return _find_cache_dir() or Path.home() / ".cache" / "vasdk" / "assets"


def asset_path(name: str) -> Path:
    """Path of asset ``name`` (e.g. ``"vtest.avi"``, ``"TUD-Campus/gt.txt"``).

    A bare file name that is unique in the asset folder also works (``"yolov3-tiny.cfg"``
    finds ``sources/yolov3-tiny.cfg``). Raises FileNotFoundError, with a hint to run the
    setup, when the file is missing.
    """
    root = asset_dir()
    path = root / name
    if not path.exists() and root.is_dir() and Path(name).name == name:
        matches = [p for p in root.rglob(name) if p.is_file()]
        if len(matches) == 1:
            path = matches[0]
    if not path.exists():
        raise FileNotFoundError(f"asset {name!r} not found in {root}; {SETUP_HINT}")
    return path
