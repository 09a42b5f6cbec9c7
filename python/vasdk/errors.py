"""Exceptions raised by vasdk, one class per C status code."""

from __future__ import annotations

__all__ = [
    "BackendUnavailableError",
    "InvalidArgumentError",
    "InvalidConfigError",
    "InvalidModelError",
    "IoError",
    "NotFoundError",
    "OutOfMemoryError",
    "PoolExhaustedError",
    "RuntimeFailureError",
    "TimeoutError",
    "UnsupportedError",
    "VasError",
    "from_status",
]


class VasError(Exception):
    """Base of every vasdk error. ``code`` is the C status (``vas_status_t``)."""

    code: int = -12
    status: str = "VAS_ERR_INTERNAL"

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgumentError(VasError, ValueError):
    code, status = -1, "VAS_ERR_INVALID_ARGUMENT"


class NotFoundError(VasError, FileNotFoundError):
    code, status = -2, "VAS_ERR_NOT_FOUND"


class IoError(VasError, OSError):
    code, status = -3, "VAS_ERR_IO"


class UnsupportedError(VasError):
    code, status = -4, "VAS_ERR_UNSUPPORTED"


class InvalidModelError(VasError):
    code, status = -5, "VAS_ERR_INVALID_MODEL"


class BackendUnavailableError(VasError):
    code, status = -6, "VAS_ERR_BACKEND_UNAVAILABLE"


class RuntimeFailureError(VasError, RuntimeError):
    code, status = -7, "VAS_ERR_RUNTIME"


class OutOfMemoryError(VasError, MemoryError):
    code, status = -8, "VAS_ERR_OUT_OF_MEMORY"


class InvalidConfigError(VasError, ValueError):
    code, status = -9, "VAS_ERR_INVALID_CONFIG"


class TimeoutError(VasError, OSError):  # noqa: A001 - mirrors VAS_ERR_TIMEOUT
    code, status = -10, "VAS_ERR_TIMEOUT"


class PoolExhaustedError(VasError):
    code, status = -11, "VAS_ERR_POOL_EXHAUSTED"


_BY_CODE: dict[int, type[VasError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        NotFoundError,
        IoError,
        UnsupportedError,
        InvalidModelError,
        BackendUnavailableError,
        RuntimeFailureError,
        OutOfMemoryError,
        InvalidConfigError,
        TimeoutError,
        PoolExhaustedError,
    )
}


def from_status(code: int, message: str) -> VasError:
    """The exception for a failed status code (used by both the bindings and ``vasdk.capi``)."""
    cls = _BY_CODE.get(code, VasError)
    return cls(message, code)
