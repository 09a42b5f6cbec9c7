"""Object detection on single images: ``vasdk.Detector(model)(frame)``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._paths import PathArg, native_path

__all__ = ["Detections", "Detector"]


@dataclass(frozen=True)
class Detections:
    """Detections of one image, as parallel numpy arrays in source-image pixels.

    ``boxes`` is (N, 4) float32 x1, y1, x2, y2; ``scores`` (N,) float32; ``class_ids`` (N,)
    int32; ``landmarks`` (N, 5, 2) float32, NaN for models without landmarks.
    """

    boxes: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int32]
    landmarks: npt.NDArray[np.float32]
    class_names: Sequence[str]

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    @property
    def names(self) -> list[str]:
        """Class name of each detection."""
        return [self.class_names[i] for i in self.class_ids.tolist()]

    def records(self) -> Iterator[dict[str, Any]]:
        """One JSON-ready dict per detection."""
        has_lm = not np.isnan(self.landmarks).all() if len(self) else False
        for i in range(len(self)):
            rec: dict[str, Any] = {
                "class": self.class_names[int(self.class_ids[i])],
                "class_id": int(self.class_ids[i]),
                "score": round(float(self.scores[i]), 5),
                "box": [round(float(v), 2) for v in self.boxes[i]],
            }
            if has_lm:
                rec["landmarks"] = [[round(float(v), 2) for v in p] for p in self.landmarks[i]]
            yield rec


class Detector:
    """A model (ONNX file plus its JSON model card, or a model pack) ready to detect on images.

    Keyword options are the detector's JSON options: ``threads``, ``classes`` (names to keep),
    ``score_threshold``, ``nms_iou``, ``input_width``, ``input_height``, ``backend``,
    ``ort_library``, ``optimization``, ``spinning``, ``providers`` (e.g. ["cuda", "cpu"]),
    ``warmup_runs``, ``card``, ``class_agnostic_nms``, ``max_detections``; for an encrypted
    pack (``vasdk model pack``) ``key_file`` or ``key_env`` (else ``VASDK_MODEL_KEY``). Unknown
    options raise :class:`vasdk.InvalidConfigError`.

    Not thread-safe: use one Detector per thread. Detection releases the GIL.
    """

    def __init__(self, model: PathArg, **options: Any) -> None:
        opts = {k: v for k, v in options.items() if v is not None}
        self._impl = _core.Detector(native_path(model, "model"), json.dumps(opts) if opts else "")
        self.classes: list[str] = list(self._impl.classes)

    @property
    def name(self) -> str:
        return str(self._impl.name)

    @property
    def backend(self) -> str:
        return str(self._impl.backend)

    @property
    def precision(self) -> str:
        """Precision read from the model graph: fp32, fp16, int8 or w8a16."""
        return str(self._impl.engine_precision)

    @property
    def providers(self) -> list[str]:
        """Execution providers in use, most preferred first."""
        return list(self._impl.providers)

    @property
    def input_size(self) -> tuple[int, int]:
        """Network input (width, height)."""
        w, h = self._impl.input_size
        return int(w), int(h)

    def detect(self, image: npt.NDArray[np.uint8], format: str = "BGR") -> Detections:  # noqa: A002
        """Detects objects in ``image``: (H, W, 3) for BGR/RGB, (H * 3 / 2, W) for NV12/NV21/I420."""
        boxes, scores, class_ids, landmarks = self._impl.detect(image, format)
        return Detections(boxes, scores, class_ids, landmarks, self.classes)

    def detect_batch(self, images: Sequence[npt.NDArray[np.uint8]], format: str = "BGR") -> list[Detections]:  # noqa: A002
        """Detects on several images in one engine run (padded to the model's batch size)."""
        return [Detections(*r, self.classes) for r in self._impl.detect_batch(list(images), format)]

    __call__ = detect
