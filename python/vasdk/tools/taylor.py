"""First-order Taylor importance of convolution filters, measured on unlabelled frames.

Removing filter c of a convolution removes channel c of the tensor its consumers read: the output
of the convolution's BatchNormalization and activation, which map the lost channel to nothing
downstream (pooling, resizing and concatenation pass a zero channel on as zero). Put a gate g_c = 1
on that channel: the first-order change of an objective F when the filter goes is -dF/dg_c, which
equals -sum(a_c * dF/da_c) over the channel's activations. A filter's importance is |dF/dg_c|
averaged over the frames (per frame, then the mean: signs that cancel between frames do not make
a filter look unimportant).

F is what the model itself outputs, since no labels are at hand: for a YOLO card (decoder
``yolo_darknet``) the detection mass, the sum over anchors and cells of sigmoid(objectness); for
other models half the squared norm of every output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from .onnxutil import ModelToolError

__all__ = ["gated_tensor", "taylor_importance"]

_FOLLOW = {"BatchNormalization", "Relu", "LeakyRelu"}


def gated_tensor(model: onnx.ModelProto, conv: onnx.NodeProto) -> str:
    """The tensor whose channels the consumers of ``conv``'s filters read: its output, through a
    BatchNormalization and an activation that only it feeds."""
    readers: dict[str, list[onnx.NodeProto]] = {}
    for n in model.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    t = conv.output[0]
    while len(readers.get(t, [])) == 1 and readers[t][0].op_type in _FOLLOW and readers[t][0].input[0] == t:
        t = readers[t][0].output[0]
    return t


def _objective(card: dict[str, Any] | None, outputs: Sequence[str]) -> Any:
    import jax
    import jax.numpy as jnp

    dec = (card or {}).get("decoder")
    heads: dict[str, int] = {}
    if isinstance(dec, dict) and dec.get("type") == "yolo_darknet":
        heads = {h["name"]: len(h["anchors"]) for h in dec.get("outputs", [])}
    if heads and all(o in heads for o in outputs):

        def mass(ys: list[Any]) -> Any:
            total = 0.0
            for name, y in zip(outputs, ys, strict=True):  # (N, anchors * (5 + classes), H, W)
                n, c, h, w = y.shape
                na = heads[name]
                obj = y.reshape(n, na, c // na, h, w)[:, :, 4]
                total = total + jnp.sum(jax.nn.sigmoid(obj))
            return total

        return mass
    return lambda ys: 0.5 * sum(jnp.sum(y * y) for y in ys)


def taylor_importance(model: onnx.ModelProto, convs: Sequence[onnx.NodeProto], frames: np.ndarray,
                      card: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """|dF/dg| per filter of each of ``convs`` (by conv name), over preprocessed ``frames`` (N, C, H, W)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:  # pragma: no cover - setup installs it
        raise ModelToolError("importance 'taylor' needs JAX: pip install 'vasdk[train]'") from e
    from .distill import OnnxFunction, _use_compile_cache

    _use_compile_cache(jax)  # the gradient takes seconds to compile: distillation's cache keeps it
    fn = OnnxFunction(model)
    init = {t.name: t for t in model.graph.initializer}
    gated = {c.name or c.output[0]: gated_tensor(model, c) for c in convs}
    gates = {t: jnp.ones(int(init[c.input[1]].dims[0]), jnp.float32)
             for c, t in zip(convs, gated.values(), strict=True)}
    objective = _objective(card, fn.outputs)
    grad = jax.jit(jax.grad(lambda g, x: objective(fn(fn.params, x, g))))
    total = {t: np.zeros(g.shape, np.float64) for t, g in gates.items()}
    for i in range(len(frames)):
        for t, v in grad(gates, frames[i:i + 1]).items():
            total[t] += np.abs(np.asarray(v, np.float64))
    return {name: total[t] / len(frames) for name, t in gated.items()}


def frames_for(sources: Sequence[str | Path], count: int, spec: dict[str, Any]) -> np.ndarray:
    """``count`` frames from videos, image folders or images, preprocessed as the card says."""
    from .distill import _frames

    return _frames(sources, count, spec)
