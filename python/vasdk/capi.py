"""The C ABI (libvasdk.so) from Python through cffi in ABI mode.

This is the same library C integrators link, so Python tests use it to check the C API
itself. ``lib`` exposes every ``vas_*`` function; :func:`check` turns a status into an
exception with the thread's last error message.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from cffi import FFI

from .errors import from_status

__all__ = ["check", "ffi", "header_path", "library_path", "load"]

ffi = FFI()


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def _native_dirs() -> list[Path]:
    """Where the compiled files live: beside vasdk._core (editable installs keep .py files
    in the tree and the .so files in site-packages), then this package folder."""
    dirs: list[Path] = []
    try:
        from . import _core

        dirs.append(Path(_core.__file__).resolve().parent)
    except ImportError:
        pass
    dirs.append(_package_dir())
    return dirs


def library_path() -> Path:
    env = os.environ.get("VASDK_LIBRARY")
    if env:
        return Path(env)
    for d in _native_dirs():
        if (d / "libvasdk.so").is_file():
            return d / "libvasdk.so"
    raise FileNotFoundError("libvasdk.so not found beside vasdk._core; is vasdk built (pip install .)?")


def header_path() -> Path:
    candidates = [d / "include" / "vasdk" / "vasdk.h" for d in _native_dirs()]
    candidates.append(_package_dir().parents[1] / "include" / "vasdk" / "vasdk.h")  # source tree
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError("vasdk.h not found in the package or the source tree")


def _declarations(header: str) -> str:
    m = re.search(r"/\* VAS_CDEF_BEGIN \*/(.*?)/\* VAS_CDEF_END \*/", header, re.S)
    if not m:
        raise RuntimeError("vasdk.h has no VAS_CDEF_BEGIN/END block")
    text = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return text.replace("VAS_API ", "")


@lru_cache(maxsize=1)
def load() -> Any:
    """Loads libvasdk.so once and returns the cffi library object."""
    ffi.cdef(_declarations(header_path().read_text()))
    return ffi.dlopen(str(library_path()))


def check(status: int) -> int:
    """Returns non-negative statuses (VAS_OK, VAS_END_OF_STREAM); raises for errors."""
    if status < 0:
        lib = load()
        # Messages echo caller strings (paths) that need not be UTF-8.
        message = ffi.string(lib.vas_last_error_message())
        raise from_status(status, message.decode("utf-8", "backslashreplace"))
    return status
