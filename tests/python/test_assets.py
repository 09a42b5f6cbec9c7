"""Installed assets: checksums, model interfaces and cards, clip properties."""

from __future__ import annotations

import io
import json
from pathlib import Path

import assets as va  # scripts/assets.py; conftest puts scripts/ on sys.path
import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import vasdk
from vasdk.tools.cards import decoder_types, load_card, validate_card

MEMBERS = [m for s in va.SOURCES for m in s.members]


@pytest.mark.parametrize("member", MEMBERS, ids=[m.dest for m in MEMBERS])
def test_source_checksum(assets: Path, member: va.Member) -> None:
    assert va.md5sum(assets / member.dest) == member.md5


def test_verify_reports_nothing(assets: Path) -> None:
    out = io.StringIO()
    assert va.verify(assets, out=out) == []
    assert "yolov3-tiny.onnx" in out.getvalue()


def test_asset_path(
    assets: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(va.ENV_VAR, str(assets))
    assert va.asset_dir() == assets
    assert va.asset_path("vtest.avi") == assets / "vtest.avi"
    assert va.asset_path("TUD-Campus/gt.txt").is_file()
    assert va.asset_path("yolov3-tiny.cfg") == assets / "sources" / "yolov3-tiny.cfg"
    monkeypatch.setenv(va.ENV_VAR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"scripts/setup\.sh"):
        va.asset_path("vtest.avi")


def test_bad_checksum_leaves_no_file(tmp_path: Path) -> None:
    dest = tmp_path / "x.bin"
    with pytest.raises(va.ChecksumError, match="expected 0+, got [0-9a-f]{32}"):
        va._store_verified(io.BytesIO(b"data"), dest, "0" * 32, "test")
    assert list(tmp_path.iterdir()) == []


def _session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    ("n", "h", "w"), [(1, 480, 640), (2, 544, 736)], ids=["1x480x640", "2x544x736"]
)
def test_centerface_dynamic_shapes(assets: Path, n: int, h: int, w: int) -> None:
    sess = _session(assets / "centerface.onnx")
    assert [i.name for i in sess.get_inputs()] == ["input.1"]
    assert sess.get_inputs()[0].shape == ["N", 3, "H", "W"]
    names = [o.name for o in sess.get_outputs()]
    assert names == ["537", "538", "539", "540"]
    outs = sess.run(None, {"input.1": np.zeros((n, 3, h, w), np.float32)})
    assert [o.shape for o in outs] == [(n, c, h // 4, w // 4) for c in (1, 2, 2, 10)]


def test_centerface_finds_a_face(assets: Path) -> None:
    img = cv2.imread(str(assets / "messi5.jpg"))
    assert img is not None
    x = cv2.dnn.blobFromImage(img, 1.0, (640, 480), swapRB=True, crop=False)
    heat = _session(assets / "centerface.onnx").run(["537"], {"input.1": x})[0]
    assert heat.max() > 0.5


def test_models_declare_supported_ir(assets: Path) -> None:
    for name in ("yolov3-tiny.onnx", "centerface.onnx"):
        model = onnx.load(str(assets / name), load_external_data=False)
        assert model.ir_version <= 8, name
        onnx.checker.check_model(model)


def test_centerface_card(assets: Path) -> None:
    card = json.loads((assets / "centerface.json").read_text())
    assert card == {
        "name": "centerface",
        "model": "centerface.onnx",
        "precision": "fp32",
        "input": {
            "name": "input.1",
            "width": 640,
            "height": 480,
            "layout": "NCHW",
            "color": "RGB",
            "resize": "stretch",
            "scale": 1.0,
            "mean": [0, 0, 0],
            "std": [1, 1, 1],
            "pad_value": 0,
        },
        "decoder": {
            "type": "centerface",
            "outputs": {
                "heatmap": "537",
                "scale": "538",
                "offset": "539",
                "landmarks": "540",
            },
            "stride": 4,
        },
        "classes": ["face"],
        "score_threshold": 0.5,
        "nms_iou": 0.3,
    }


@pytest.mark.parametrize("name", ["yolov3-tiny.json", "centerface.json"])
def test_card_schema(assets: Path, name: str) -> None:
    card = load_card(assets / name)
    assert (assets / card["model"]).is_file()
    sess = _session(assets / card["model"])
    assert sess.get_inputs()[0].name == card["input"]["name"]
    outputs = {o.name for o in sess.get_outputs()}
    dec = card["decoder"]
    declared = (
        {o["name"] for o in dec["outputs"]}
        if dec["type"] == "yolo_darknet"
        else set(dec["outputs"].values())
    )
    assert declared == outputs


def test_card_validation_names_the_field(assets: Path) -> None:
    card = json.loads((assets / "yolov3-tiny.json").read_text())
    card["decoder"]["outputs"][1]["stride"] = 0
    with pytest.raises(ValueError, match=r"decoder\.outputs\[1\]\.stride"):
        validate_card(card)


def test_card_validation_is_the_runtimes_reader(assets: Path) -> None:
    text = (assets / "yolov3-tiny.json").read_text()
    card = json.loads(text)
    card["decoder"]["strid"] = 8
    with pytest.raises(
        vasdk.InvalidConfigError, match=r"card\.decoder\.strid: unknown field for decoder type 'yolo_darknet'"
    ):
        validate_card(card)
    card = json.loads(text)
    card["input"]["mean"] = [0, "x", 0]
    with pytest.raises(vasdk.InvalidConfigError, match=r"card\.input\.mean\[1\]: expected a number"):
        validate_card(card, "mine.json")
    with pytest.raises(vasdk.InvalidConfigError, match="'x' is not valid JSON at line 1, column 2"):
        vasdk._core.validate_model_card("{x", "x")
    types = decoder_types()  # every registered type, sorted; a new decoder adds itself
    assert types == sorted(types)
    assert {"centerface", "yolo_darknet", "yolov5", "yolov8"} <= set(types)


@pytest.mark.parametrize(
    ("name", "size", "frames"),
    [("vtest.avi", (768, 576), 795), ("Megamind.avi", (720, 528), 270)],
)
def test_clips_decode(
    assets: Path, name: str, size: tuple[int, int], frames: int
) -> None:
    cap = cv2.VideoCapture(str(assets / name))
    try:
        assert cap.isOpened()
        got = (
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        assert got == size
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == frames
        ok, frame = cap.read()
        assert ok and frame.shape == (size[1], size[0], 3)
    finally:
        cap.release()


def test_tud_campus_ground_truth(assets: Path) -> None:
    gt = np.loadtxt(assets / "TUD-Campus" / "gt.txt", delimiter=",")
    assert len(np.unique(gt[:, 0])) == 71
    assert len(np.unique(gt[:, 1])) == 8
    test = np.loadtxt(assets / "TUD-Campus" / "test.txt", delimiter=",")
    assert test.shape[1] == gt.shape[1]
