"""Paths handed to the native layer as the bytes the operating system uses."""

from __future__ import annotations

import os
from typing import Union

from .errors import InvalidArgumentError

__all__ = ["PathArg", "native_path"]

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def native_path(path: PathArg, what: str = "path") -> bytes:
    """``path`` as file-system bytes (``os.fsencode``), so that names that are not UTF-8
    (undecodable bytes, surrogate-escaped str) reach the C layer unchanged.

    Raises InvalidArgumentError for an embedded NUL, at which C would silently cut the path,
    and for a value that is not a path at all.
    """
    try:
        raw = os.fsencode(path)
    except TypeError as e:
        kind = type(path).__name__
        raise InvalidArgumentError(f"{what} must be str, bytes or os.PathLike, got {kind}") from e
    if b"\0" in raw:
        raise InvalidArgumentError(f"{what} contains a NUL byte: {raw!r}")
    if not raw:
        raise InvalidArgumentError(f"{what} is empty")
    return raw
