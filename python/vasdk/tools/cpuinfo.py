"""The CPU a measurement ran on, and whether its int8 kernels can saturate.

ONNX Runtime's x86 int8 kernels multiply uint8 activations by int8 weights. With VNNI
(``vpdpbusd``) the products accumulate in 32 bits; without it (AVX2-only CPUs such as Zen 3)
``vpmaddubsw`` adds each pair of products into a saturating int16, which full 8-bit weights can
overflow. ARM64 accumulates in 32 bits. Reports carry this so that an agreement figure is never
read apart from the CPU that produced it.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

__all__ = ["cpu_info", "int8_saturates"]

# /proc/cpuinfo flag names worth reporting for int8 and preprocessing kernels.
_X86_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512vbmi", "avx512_vnni",
              "avx_vnni", "amx_int8")
_ARM_FLAGS = ("asimd", "asimddp", "i8mm", "sve")


def _cpuinfo() -> tuple[str, set[str]]:
    model, flags = "", set()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware") and not model:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return model or platform.machine(), flags


def int8_saturates(arch: str, flags: set[str]) -> bool:
    """True where ONNX Runtime's u8s8 kernels sum products into saturating 16-bit lanes."""
    if arch not in ("x86_64", "AMD64", "i686", "i386"):
        return False
    return not ({"avx512_vnni", "avx_vnni"} & flags)


def cpu_info() -> dict[str, Any]:
    """Model name, architecture, cores, load and the int8-relevant feature flags of this CPU."""
    model, flags = _cpuinfo()
    arch = platform.machine()
    wanted = _ARM_FLAGS if arch in ("aarch64", "arm64") else _X86_FLAGS
    try:
        load: list[float] | None = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load = None
    saturates = int8_saturates(arch, flags)
    return {
        "model": model,
        "arch": arch,
        "cores": os.cpu_count(),
        "load_avg": load,
        "features": [f for f in wanted if f in flags],
        "int8_kernels": ("u8s8 with 16-bit pair sums that saturate (needs target portable)"
                         if saturates else "32-bit accumulation (no saturation)"),
    }
