"""Model tools: darknet -> ONNX converter and ONNX fix-up passes, checked on the real models.

OpenCV's own darknet importer is the reference: both must give the same raw YOLO heads.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from vasdk.tools import darknet, fixup
from vasdk.tools.cards import validate_card
from vasdk.tools.darknet import convert_darknet, parse_cfg

FRAME = 300  # vtest.avi frame with 6 walkers in view


def _session(model: onnx.ModelProto | Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 2
    src = (
        model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    )
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def yolo_src(assets: Path) -> tuple[Path, Path, Path]:
    src = assets / "sources"
    return src / "yolov3-tiny.cfg", src / "yolov3-tiny.weights", src / "coco.names"


@pytest.fixture(scope="module")
def converted(
    tmp_path_factory: pytest.TempPathFactory, yolo_src: tuple[Path, Path, Path]
) -> Path:
    cfg, weights, names = yolo_src
    return convert_darknet(
        cfg, weights, tmp_path_factory.mktemp("yolo") / "yolov3-tiny.onnx", names
    )


@pytest.fixture(scope="module")
def blob(assets: Path) -> np.ndarray:
    cap = cv2.VideoCapture(str(assets / "vtest.avi"))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, FRAME)
        ok, frame = cap.read()
    finally:
        cap.release()
    assert ok, "cannot decode vtest.avi"
    # What the runtime does for this card: stretch to 768x576, BGR -> RGB, /255, NCHW.
    return cv2.dnn.blobFromImage(frame, 1 / 255.0, (768, 576), swapRB=True, crop=False)


def test_heads_match_opencv(
    converted: Path, yolo_src: tuple[Path, Path, Path], blob: np.ndarray
) -> None:
    cfg, weights, _ = yolo_src
    ours = _session(converted).run(None, {"images": blob})

    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    if hasattr(net, "enableWinograd"):
        net.enableWinograd(False)  # Winograd convs alone add ~1e-4 of float noise
    # OpenCV's yolo layers emit decoded boxes; compare the convolutions that feed them.
    yolo_idx = [s.index for s in parse_cfg(cfg)[1:] if s.kind == "yolo"]
    names = [f"conv_{i - 1}" for i in yolo_idx]
    assert set(names) <= set(net.getLayerNames())
    net.setInput(blob)
    ref = net.forward(names)

    assert [o.shape for o in ours] == [(1, 255, 18, 24), (1, 255, 36, 48)]
    for o, r in zip(ours, ref, strict=True):
        assert o.shape == r.shape
        diff = float(np.abs(o - r).max())
        scale = max(1.0, float(np.abs(r).max()))
        print(f"max abs diff {diff:.3g} (max |ref| {scale:.3g})")
        assert diff <= 1e-5 * scale


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def test_decoded_frame_finds_walkers(converted: Path, blob: np.ndarray) -> None:
    card = json.loads(converted.with_suffix(".json").read_text())
    outs = _session(converted).run(None, {"images": blob})
    n_cls = len(card["classes"])
    boxes: list[list[float]] = []
    scores: list[float] = []
    labels: list[int] = []
    # Decoder exactly as the card describes it (the C++ decoder implements the same).
    for out, head in zip(outs, card["decoder"]["outputs"], strict=True):
        _, _, h, w = out.shape
        stride = head["stride"]
        gy, gx = np.mgrid[0:h, 0:w]
        t = out[0].reshape(len(head["anchors"]), 5 + n_cls, h, w)
        for a, (aw, ah) in enumerate(head["anchors"]):
            cx = (_sigmoid(t[a, 0]) + gx) * stride
            cy = (_sigmoid(t[a, 1]) + gy) * stride
            bw, bh = np.exp(t[a, 2]) * aw, np.exp(t[a, 3]) * ah
            cls = _sigmoid(t[a, 4])[None] * _sigmoid(t[a, 5:])
            best, label = cls.max(0), cls.argmax(0)
            keep = best > card["score_threshold"]
            for x, y, ww, hh, s, k in zip(
                cx[keep],
                cy[keep],
                bw[keep],
                bh[keep],
                best[keep],
                label[keep],
                strict=True,
            ):
                boxes.append(
                    [float(x - ww / 2), float(y - hh / 2), float(ww), float(hh)]
                )
                scores.append(float(s))
                labels.append(int(k))
    kept = cv2.dnn.NMSBoxes(boxes, scores, card["score_threshold"], card["nms_iou"])
    people = [scores[i] for i in kept if card["classes"][labels[i]] == "person"]
    assert len(people) == 6, people
    assert min(people) > 0.7


def test_graph_interface(converted: Path) -> None:
    model = onnx.load(str(converted))
    assert model.ir_version == 8
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 13)]
    (inp,) = model.graph.input
    assert inp.name == "images"
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["N", 3, "H", "W"]
    assert [o.name for o in model.graph.output] == ["yolo_0", "yolo_1"]
    # Dynamic graph: another size and batch run without re-export.
    x = np.zeros((2, 3, 416, 416), np.float32)
    outs = _session(model).run(None, {"images": x})
    assert [o.shape for o in outs] == [(2, 255, 13, 13), (2, 255, 26, 26)]


def test_card(converted: Path) -> None:
    card = json.loads(converted.with_suffix(".json").read_text())
    validate_card(card)
    assert card["name"] == "yolov3-tiny"
    assert card["model"] == "yolov3-tiny.onnx"
    assert card["precision"] == "fp32"
    assert card["input"] == {
        "name": "images",
        "width": 768,
        "height": 576,
        "layout": "NCHW",
        "color": "RGB",
        "resize": "stretch",
        "scale": 1 / 255,
        "mean": [0, 0, 0],
        "std": [1, 1, 1],
        "pad_value": 0,
    }
    assert card["decoder"] == {
        "type": "yolo_darknet",
        "outputs": [
            {
                "name": "yolo_0",
                "stride": 32,
                "anchors": [[81, 82], [135, 169], [344, 319]],
            },
            {"name": "yolo_1", "stride": 16, "anchors": [[10, 14], [23, 27], [37, 58]]},
        ],
    }
    assert len(card["classes"]) == 80
    assert card["classes"][:3] == ["person", "bicycle", "car"]
    assert card["classes"][-1] == "toothbrush"
    assert card["score_threshold"] == 0.25
    assert card["nms_iou"] == 0.45


def test_conversion_is_deterministic(
    tmp_path: Path, converted: Path, yolo_src: tuple[Path, Path, Path]
) -> None:
    cfg, weights, names = yolo_src
    again = convert_darknet(cfg, weights, tmp_path / "yolov3-tiny.onnx", names)
    assert again.read_bytes() == converted.read_bytes()
    assert (
        again.with_suffix(".json").read_bytes()
        == converted.with_suffix(".json").read_bytes()
    )


def test_truncated_weights(tmp_path: Path, yolo_src: tuple[Path, Path, Path]) -> None:
    cfg, weights, names = yolo_src
    short = tmp_path / "short.weights"
    short.write_bytes(weights.read_bytes()[:-4096])
    out = tmp_path / "out" / "model.onnx"
    with pytest.raises(
        ValueError, match=r"short\.weights: weights file is truncated: layer 22"
    ):
        convert_darknet(cfg, short, out, names)
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_weights_with_extra_data(
    tmp_path: Path, yolo_src: tuple[Path, Path, Path]
) -> None:
    cfg, weights, _ = yolo_src
    long = tmp_path / "long.weights"
    long.write_bytes(weights.read_bytes() + b"\0" * 64)
    with pytest.raises(ValueError, match="64 bytes left over"):
        convert_darknet(cfg, long, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == [long]


def test_unknown_layer(tmp_path: Path, yolo_src: tuple[Path, Path, Path]) -> None:
    cfg, weights, _ = yolo_src
    bad = tmp_path / "bad.cfg"
    bad.write_text(cfg.read_text().replace("[upsample]", "[reorg]", 1))
    with pytest.raises(
        ValueError,
        match=r"bad\.cfg: layer 19 \[reorg\] \(cfg line \d+\).*not supported",
    ):
        convert_darknet(bad, weights, tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_names_must_match_classes(
    tmp_path: Path, yolo_src: tuple[Path, Path, Path]
) -> None:
    cfg, weights, _ = yolo_src
    names = tmp_path / "two.names"
    names.write_text("a\nb\n")
    with pytest.raises(ValueError, match="2 names for 80 classes"):
        convert_darknet(cfg, weights, tmp_path / "model.onnx", names)


def test_cli(
    tmp_path: Path,
    yolo_src: tuple[Path, Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg, weights, names = yolo_src
    out = tmp_path / "cli.onnx"
    assert (
        darknet.main(
            [
                str(cfg),
                str(weights),
                str(out),
                "--names",
                str(names),
                "--size",
                "416x416",
            ]
        )
        == 0
    )
    card = json.loads(out.with_suffix(".json").read_text())
    assert (card["input"]["width"], card["input"]["height"], card["name"]) == (
        416,
        416,
        "cli",
    )
    assert (
        darknet.main(
            [str(cfg), str(weights), str(tmp_path / "x.onnx"), "--size", "400x400"]
        )
        == 1
    )
    assert "multiple of 32" in capsys.readouterr().err


# A small cfg that exercises what yolov3-tiny does not: strided conv, shortcut,
# grouped route, mish, and a stride-1 maxpool that is not followed by a route.
_SYNTH_CFG = """[net]
width=64
height=64
channels=3

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky

[maxpool]
size=2
stride=1

[convolutional]
batch_normalize=1
filters=16
size=1
stride=1
pad=1
activation=leaky

[shortcut]
from=-2
activation=linear

[route]
layers=-1
groups=2
group_id=1

[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=mish

[upsample]
stride=2

[route]
layers=-1,1

[convolutional]
size=1
stride=1
pad=1
filters=21
activation=linear

[yolo]
mask=0,1,2
anchors=4,5, 8,9, 12,14
classes=2
num=3
"""


def _random_weights(
    cfg: Path, path: Path, version: tuple[int, int], seed: int = 0
) -> None:
    """Write a weights file matching ``cfg`` with random parameters and the given header."""
    rng = np.random.default_rng(seed)
    chunks: list[np.ndarray] = []
    channels: list[int] = []
    prev = 3
    for s in parse_cfg(cfg)[1:]:
        if s.kind == "convolutional":
            f, k = s.get_int("filters", 1), s.get_int("size", 1)
            if s.get_int("batch_normalize", 0):
                chunks += [
                    rng.normal(0, 0.1, f),
                    rng.uniform(0.5, 1.5, f),
                    rng.normal(0, 0.1, f),
                    rng.uniform(0.5, 2.0, f),
                ]
            else:
                chunks.append(rng.normal(0, 0.1, f))
            chunks.append(rng.normal(0, 0.2, f * prev * k * k))
            prev = f
        elif s.kind == "route":
            refs = s.get_ints("layers") or []
            total = sum(channels[s.index + r if r < 0 else r] for r in refs)
            prev = total // s.get_int("groups", 1)
        channels.append(prev)
    major, minor = version
    seen = np.zeros(1, np.int64 if major * 10 + minor >= 2 else np.int32).tobytes()
    header = np.array([major, minor, 0], np.int32).tobytes() + seen
    path.write_bytes(header + np.concatenate(chunks).astype("<f4").tobytes())


@pytest.mark.parametrize("version", [(0, 2), (0, 1)], ids=["seen64", "seen32"])
def test_synthetic_layers_match_opencv(
    tmp_path: Path, version: tuple[int, int]
) -> None:
    cfg, weights = tmp_path / "synth.cfg", tmp_path / "synth.weights"
    cfg.write_text(_SYNTH_CFG)
    _random_weights(cfg, weights, version)
    model = darknet.build_model(cfg, weights).model
    x = np.random.default_rng(1).uniform(0, 1, (1, 3, 64, 96)).astype(np.float32)
    (ours,) = _session(model).run(None, {"images": x})
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.setInput(x)
    ref = net.forward("conv_10")
    assert ours.shape == ref.shape == (1, 21, 32, 48)
    assert float(np.abs(ours - ref).max()) <= 1e-5 * max(1.0, float(np.abs(ref).max()))


# --------------------------------------------------------------------------- fix-up passes


@pytest.fixture(scope="module")
def centerface_raw(assets: Path) -> onnx.ModelProto:
    return onnx.load(str(assets / "sources" / "centerface.onnx"))


def _dims(v: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]


def test_make_dynamic(centerface_raw: onnx.ModelProto) -> None:
    assert _dims(centerface_raw.graph.input[0]) == [10, 3, 32, 32]
    model = fixup.make_dynamic(centerface_raw, {"input.1": ["N", 3, "H", "W"]})
    assert _dims(centerface_raw.graph.input[0]) == [10, 3, 32, 32], (
        "input model was modified"
    )
    assert _dims(model.graph.input[0]) == ["N", 3, "H", "W"]
    assert [_dims(o)[:2] for o in model.graph.output] == [
        ["N", 1],
        ["N", 2],
        ["N", 2],
        ["N", 10],
    ]
    assert model.ir_version <= 8
    outs = _session(model).run(
        None, {"input.1": np.zeros((1, 3, 480, 640), np.float32)}
    )
    assert [o.shape for o in outs] == [(1, c, 120, 160) for c in (1, 2, 2, 10)]


def test_rename_io_and_set_batch(centerface_raw: onnx.ModelProto) -> None:
    model = fixup.make_dynamic(centerface_raw, {"input.1": ["N", 3, "H", "W"]})
    model = fixup.rename_io(model, {"input.1": "image", "537": "heatmap"})
    model = fixup.set_batch(model, 1)
    assert _dims(model.graph.input[0]) == [1, 3, "H", "W"]
    assert model.graph.output[0].name == "heatmap"
    sess = _session(model)
    assert [i.name for i in sess.get_inputs()] == ["image"]
    heat = sess.run(["heatmap"], {"image": np.zeros((1, 3, 256, 320), np.float32)})[0]
    assert heat.shape == (1, 1, 64, 80)
    with pytest.raises(ValueError, match="no graph input/output named nope"):
        fixup.rename_io(model, {"nope": "x"})
    with pytest.raises(ValueError, match="already used"):
        fixup.rename_io(model, {"image": "heatmap"})


def test_fix_centerface_matches_original(
    tmp_path: Path, centerface_raw: onnx.ModelProto
) -> None:
    src = tmp_path / "raw.onnx"
    onnx.save(centerface_raw, str(src))
    dst = fixup.fix_centerface(src, tmp_path / "out" / "centerface.onnx")
    validate_card(json.loads(dst.with_suffix(".json").read_text()))
    # Same numbers as the untouched model at the shape it was exported with.
    x = np.random.default_rng(0).uniform(0, 255, (10, 3, 32, 32)).astype(np.float32)
    want = _session(centerface_raw).run(None, {"input.1": x})
    got = _session(dst).run(None, {"input.1": x})
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-5)
    # The fixed model no longer lists weights as inputs (ORT can constant-fold them).
    assert [i.name for i in onnx.load(str(dst)).graph.input] == ["input.1"]


def test_fix_centerface_rejects_other_models(tmp_path: Path, converted: Path) -> None:
    shutil.copy(converted, tmp_path / "yolo.onnx")
    with pytest.raises(ValueError, match="not the expected CenterFace graph"):
        fixup.fix_centerface(tmp_path / "yolo.onnx", tmp_path / "cf.onnx")
    assert not (tmp_path / "cf.onnx").exists()
