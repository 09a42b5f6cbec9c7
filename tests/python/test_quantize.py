"""Static PTQ (vasdk.tools.quantize / calibrate) on a small synthetic detector-shaped model.

The model is a real YOLO-darknet-shaped graph (conv -> leaky -> conv head with 3 x (5 + 1)
channels at stride 4) with a valid card, so the SDK can also run it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from vasdk.cli import main as cli_main
from vasdk.tools.calibrate import FrameDataReader, compute_ranges, preprocess, read_frames
from vasdk.tools.cards import write_card, yolo_darknet_card
from vasdk.tools.onnxutil import ModelToolError
from vasdk.tools.quantize import QuantizeConfig, head_nodes, quantize_model

W, H = 64, 48


def _tiny_model(path: Path, *, input_dims: list[int | str] | None = None, opset: int = 13,
                extra_node: onnx.NodeProto | None = None) -> Path:
    rng = np.random.default_rng(1)
    w1 = (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)
    b1 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((8, 8, 3, 3)) * 0.2).astype(np.float32)
    w3 = (rng.standard_normal((18, 8, 1, 1)) * 0.3).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["images", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1],
                         strides=[2, 2]),
        helper.make_node("LeakyRelu", ["c1"], ["a1"], name="leaky1", alpha=0.1),
        helper.make_node("Conv", ["a1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("LeakyRelu", ["c2"], ["a2"], name="leaky2", alpha=0.1),
        helper.make_node("Conv", ["a2", "w3"], ["head"], name="head"),
    ]
    if extra_node is not None:
        nodes.insert(2, extra_node)
    dims = input_dims or ["N", 3, "H", "W"]
    g = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("head", TensorProto.FLOAT, ["N", 18, None, None])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
         numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(w3, "w3")])
    opsets = [helper.make_opsetid("", opset)]
    if extra_node is not None and extra_node.domain:
        opsets.append(helper.make_opsetid(extra_node.domain, 1))
    m = helper.make_model(g, opset_imports=opsets)
    m.ir_version = 8
    onnx.save(m, str(path))
    card = yolo_darknet_card("tiny", path.name, input_name="images", width=W, height=H,
                             heads=[{"name": "head", "stride": 4, "anchors": [[4, 4], [8, 8], [12, 12]]}],
                             classes=["thing"])
    write_card(path.with_suffix(".json"), card)
    return path


def _frames(n: int = 6) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out = []
    for _ in range(n):
        img = np.full((96, 128, 3), rng.integers(40, 200), np.uint8)
        for _ in range(4):  # a few solid blocks, like objects on a background
            x, y = rng.integers(0, 100), rng.integers(0, 70)
            img[y:y + 20, x:x + 24] = rng.integers(0, 256, 3)
        out.append(img)
    return out


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return _tiny_model(tmp_path / "tiny.onnx")


def _run(model: Path, blob: np.ndarray) -> np.ndarray:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    s = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    return s.run(None, {"images": blob})[0]


def _no_leftovers(folder: Path, *names: str) -> None:
    for n in names:
        assert not (folder / n).exists(), f"partial output {n} left behind"
    assert not list(folder.glob(".vasdk-tool-*")), "staging folder left behind"
    assert not list(folder.glob(".*.tmp*")), "temp file left behind"


def test_preprocess_follows_the_card() -> None:
    frame = np.zeros((20, 40, 3), np.uint8)
    frame[..., 0] = 10   # B
    frame[..., 2] = 200  # R
    spec = {"name": "x", "width": 8, "height": 8, "color": "RGB", "resize": "letterbox", "scale": 0.5,
            "mean": [1, 2, 3], "std": [2, 2, 2], "pad_value": 114}
    blob = preprocess(frame, spec, kernel="opencv")
    assert blob.shape == (1, 3, 8, 8) and blob.dtype == np.float32
    # 40x20 -> 8x4 content centred in rows 2..5; RGB order; (p * scale - mean) / std.
    assert blob[0, 0, 3, 3] == pytest.approx((200 * 0.5 - 1) / 2)
    assert blob[0, 2, 3, 3] == pytest.approx((10 * 0.5 - 3) / 2)
    assert blob[0, 0, 0, 0] == pytest.approx((114 * 0.5 - 1) / 2)  # letterbox border
    stretch = preprocess(frame, {**spec, "resize": "stretch", "color": "BGR"}, kernel="opencv")
    assert stretch[0, 0, 0, 0] == pytest.approx((10 * 0.5 - 1) / 2)  # BGR kept, no border


@pytest.mark.parametrize("resize", ["stretch", "letterbox"])
def test_opencv_preprocessing_matches_the_sdk_kernel(resize: str) -> None:
    from vasdk.tools.calibrate import _sdk_preprocessor

    spec = {"name": "x", "width": 160, "height": 96, "color": "RGB", "resize": resize, "scale": 1 / 255,
            "mean": [0, 0, 0], "std": [1, 1, 1], "pad_value": 114}
    if _sdk_preprocessor(spec) is None:
        pytest.skip("this build of the extension has no preprocessing kernel")
    frame = _frames(1)[0]
    frame = cv2.GaussianBlur(frame, (0, 0), 3)  # gradients, not only flat blocks
    sdk = preprocess(frame, spec, kernel="sdk")
    ocv = preprocess(frame, spec, kernel="opencv")
    assert sdk.shape == ocv.shape == (1, 3, 96, 160)
    # OpenCV rounds the resized pixel to 8 bits, the SDK does not: within one 8-bit step.
    assert np.abs(sdk - ocv).max() <= 1.0 / 255 + 1e-6


def test_quantize_w8a8_keeps_heads_float_and_tracks_float(tiny: Path, tmp_path: Path) -> None:
    dst = tmp_path / "tiny.int8.onnx"
    res = quantize_model(tiny, dst, _frames(), QuantizeConfig(method="minmax"), sensitivity_frames=2)
    assert dst.is_file() and res.card == dst.with_suffix(".json")
    card = res.card.read_text()
    assert '"precision": "int8"' in card and '"model": "tiny.int8.onnx"' in card
    assert res.float_nodes == ["head"]
    q = onnx.load(str(dst))
    ops = {n.op_type for n in q.graph.node}
    assert "QLinearConv" in ops  # saved at extended: QDQ pairs fused
    head = next(n for n in q.graph.node if "head" in n.output)
    assert head.op_type in ("Conv", "FusedConv"), "the head must stay in float"
    blob = preprocess(_frames(1)[0], {"width": W, "height": H, "scale": 1 / 255})
    f, i8 = _run(tiny, blob), _run(dst, blob)
    rel = np.linalg.norm(f - i8) / np.linalg.norm(f)
    assert rel < 0.05, rel
    # Sensitivity table: one row per quantized tensor, in graph order, with sane values.
    names = [r["tensor"] for r in res.sensitivity]
    assert names[:2] == ["c1", "a1"] and names[-1] == "head"  # the float head's output, last
    assert all(0.9 < r["cosine"] <= 1.0 and r["sqnr_db"] > 10 for r in res.sensitivity)
    _no_leftovers(tmp_path, ".tiny.int8.onnx.tmp")


def test_quantize_per_channel_per_tensor_and_int16(tiny: Path, tmp_path: Path) -> None:
    def weight_scale(model: Path) -> tuple[int, ...]:
        m = onnx.load(str(model))
        inits = {t.name: t for t in m.graph.initializer}
        dq = next(n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0].startswith("w2"))
        return tuple(inits[dq.input[1]].dims)

    frames = _frames(4)
    pc = quantize_model(tiny, tmp_path / "pc.onnx", frames, QuantizeConfig(optimize=False)).model
    pt = quantize_model(tiny, tmp_path / "pt.onnx", frames,
                        QuantizeConfig(per_channel=False, optimize=False)).model
    assert weight_scale(pc) == (8,)  # one scale per output channel
    assert weight_scale(pt) == ()    # one scale for the tensor
    a16 = quantize_model(tiny, tmp_path / "a16.onnx", frames,
                         QuantizeConfig(activation_type="int16", optimize=False)).model
    m = onnx.load(str(a16))
    inits = {t.name: t for t in m.graph.initializer}
    q = next(n for n in m.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "images")
    assert inits[q.input[2]].data_type == TensorProto.INT16
    a8 = onnx.load(str(pc))
    inits8 = {t.name: t for t in a8.graph.initializer}
    q8 = next(n for n in a8.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "images")
    assert inits8[q8.input[2]].data_type == TensorProto.UINT8


def test_float_first_and_explicit_exclusions(tiny: Path, tmp_path: Path) -> None:
    res = quantize_model(tiny, tmp_path / "ff.onnx", _frames(3),
                         QuantizeConfig(float_first=True, exclude_nodes=["conv2"], optimize=False))
    assert res.float_nodes == ["conv2", "head", "conv1"]  # explicit, heads, first
    m = onnx.load(str(res.model))
    convs = {n.name: n for n in m.graph.node if n.op_type == "Conv"}
    assert "conv1" in convs and convs["conv1"].input[1] == "w1", "conv1 must keep its float weight"
    with pytest.raises(ModelToolError, match="no node named 'nope'"):
        quantize_model(tiny, tmp_path / "x.onnx", _frames(2), QuantizeConfig(exclude_nodes=["nope"]))
    _no_leftovers(tmp_path, "x.onnx", "x.json")


def test_presets_pick_the_float_layers_and_options_override_them(tiny: Path, tmp_path: Path) -> None:
    assert (QuantizeConfig().float_heads, QuantizeConfig().float_first) == (True, False)
    frames = _frames(3)
    mob = quantize_model(tiny, tmp_path / "mob.onnx", frames, QuantizeConfig(preset="mobile"))
    assert mob.config.preset == "mobile" and mob.float_nodes == ["conv1"]  # stem float, head quantized
    m = onnx.load(str(mob.model))
    by_out = {o: n for n in m.graph.node for o in n.output}
    assert by_out["c1"].op_type == "Conv" and by_out["c1"].input[1] == "w1", "the stem must stay float"
    assert not any(n.op_type == "Conv" and n.input[1] == "w3" for n in m.graph.node), "head must be quantized"
    assert "QLinearConv" in {n.op_type for n in m.graph.node}
    # Explicit choices win over the preset's.
    both = quantize_model(tiny, tmp_path / "both.onnx", frames,
                          QuantizeConfig(preset="mobile", float_heads=True, optimize=False))
    assert both.float_nodes == ["head", "conv1"]
    with pytest.raises(ModelToolError, match="preset must be one of default, mobile, got 'tiny'"):
        quantize_model(tiny, tmp_path / "x.onnx", frames, QuantizeConfig(preset="tiny"))
    _no_leftovers(tmp_path, "x.onnx", "x.json")


def test_entropy_really_uses_2048_bins(tiny: Path, tmp_path: Path) -> None:
    card_spec = {"width": W, "height": H, "scale": 1 / 255}
    blobs = [preprocess(f, card_spec) for f in _frames(4)]
    ent = compute_ranges(tiny, FrameDataReader("images", blobs), "entropy", work_dir=tmp_path)
    mm = compute_ranges(tiny, FrameDataReader("images", blobs), "minmax", work_dir=tmp_path)
    pct = compute_ranges(tiny, FrameDataReader("images", blobs), "percentile", work_dir=tmp_path,
                         percentile=99.0)
    assert len(ent["c1"].hist) >= 2048  # quantize_static's own path would give 128 bins
    for name in ("c1", "a1", "c2"):
        lo, hi = (np.asarray(v).item() for v in mm[name].range_value)
        elo, ehi = (np.asarray(v).item() for v in ent[name].range_value)
        plo, phi = (np.asarray(v).item() for v in pct[name].range_value)
        # Entropy and percentile clip outliers: inside the min/max range, never wider.
        assert lo - 1e-6 <= elo < ehi <= hi + 1e-6
        assert lo - 1e-6 <= plo < phi <= hi + 1e-6
    assert any(np.asarray(pct[n].range_value[1]).item() < np.asarray(mm[n].range_value[1]).item() - 1e-6
               for n in ("c1", "a1", "c2"))
    with pytest.raises(ModelToolError, match="calibration method"):
        compute_ranges(tiny, FrameDataReader("images", blobs), "kl", work_dir=tmp_path)


def test_bad_inputs_leave_nothing_behind(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    frames = _frames(2)
    # Corrupt ONNX file.
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(b"\x08\x07garbage" * 50)
    with pytest.raises(ModelToolError, match="not a valid ONNX file"):
        quantize_model(bad, out / "q.onnx", frames, card=tiny.with_suffix(".json"))
    # An op no runtime knows.
    odd = _tiny_model(tmp_path / "odd.onnx", extra_node=helper.make_node(
        "FancyWarp", ["a1"], ["a1w"], name="warp", domain="vendor.ops"))
    with pytest.raises(ModelToolError, match="unsupported op 'vendor.ops::FancyWarp'"):
        quantize_model(odd, out / "q.onnx", frames)
    # Empty calibration folder.
    empty = tmp_path / "calib"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    with pytest.raises(ModelToolError, match="holds no images"):
        read_frames(empty)
    with pytest.raises(ModelToolError, match="no calibration frames"):
        quantize_model(tiny, out / "q.onnx", [])
    # Fixed input shape that disagrees with the card's size.
    fixed = _tiny_model(tmp_path / "fixed.onnx", input_dims=[1, 3, 32, 32])
    with pytest.raises(ModelToolError, match="mismatched input size.*1x3x32x32.*3x48x64"):
        quantize_model(fixed, out / "q.onnx", frames)
    _no_leftovers(out, "q.onnx", "q.json")


def test_cli_quantize_from_image_folder(tiny: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    calib = tmp_path / "calib"
    calib.mkdir()
    for k, f in enumerate(_frames(3)):
        cv2.imwrite(str(calib / f"{k}.png"), f)
    dst = tmp_path / "cli.int8.onnx"
    rc = cli_main(["model", "quantize", str(tiny), str(dst), "--calib", str(calib), "--method", "percentile",
                   "--quiet", "--json", str(tmp_path / "q.json")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "percentile" in out and "kept in float: head" in out and "QLinearConv" in out
    assert dst.is_file() and (tmp_path / "q.json").is_file()
    rc = cli_main(["model", "quantize", str(tiny), str(tmp_path / "bad.onnx"), "--calib",
                   str(tmp_path / "nowhere"), "--quiet"])
    assert rc == 1
    assert "calibration" in capsys.readouterr().err or not (tmp_path / "bad.onnx").exists()
    assert not (tmp_path / "bad.onnx").exists()


def test_cli_quantize_presets(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calib = tmp_path / "calib"
    calib.mkdir()
    for k, f in enumerate(_frames(2)):
        cv2.imwrite(str(calib / f"{k}.png"), f)
    base = ["model", "quantize", str(tiny), "--calib", str(calib), "--quiet"]
    assert cli_main([*base[:3], str(tmp_path / "a.onnx"), *base[3:], "--preset", "mobile"]) == 0
    out = capsys.readouterr().out
    assert "preset mobile" in out and "kept in float: conv1\n" in out
    assert cli_main([*base[:3], str(tmp_path / "b.onnx"), *base[3:], "--preset", "mobile",
                     "--float-heads", "--quantize-first"]) == 0
    assert "kept in float: head\n" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # argparse: not one of the choices
        cli_main([*base[:3], str(tmp_path / "c.onnx"), *base[3:], "--preset", "fastest"])
    assert "invalid choice: 'fastest'" in capsys.readouterr().err
    assert not (tmp_path / "c.onnx").exists()


def test_head_nodes_walks_back_to_the_conv() -> None:
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"], name="c"),
         helper.make_node("Sigmoid", ["c"], ["s"], name="sig"),
         helper.make_node("Conv", ["x", "w"], ["o2"], name="c2")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("o2", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.ones((1, 1, 1, 1), np.float32), "w")])
    assert head_nodes(helper.make_model(g)) == ["sig", "c", "c2"]


def _int8_weights(model: Path) -> list[np.ndarray]:
    m = onnx.load(str(model))
    return [numpy_helper.to_array(t) for t in m.graph.initializer
            if t.data_type == TensorProto.INT8 and len(t.dims) == 4]


def test_portable_target_keeps_weights_where_avx2_sums_cannot_saturate(tiny: Path, tmp_path: Path) -> None:
    # Without VNNI, x86 int8 kernels add two uint8 x int8 products into a saturating int16:
    # 2 * 255 * |w| must stay <= 32767, so |w| <= 64. This holds for the portable model on every
    # CPU, whatever CPU made it; the vnni model uses the full range and overflows there.
    res = quantize_model(tiny, tmp_path / "p.onnx", _frames(), QuantizeConfig(method="minmax"))
    assert res.config.target == "portable" and res.config.weight_bits == 7
    weights = _int8_weights(res.model)
    assert len(weights) == 2  # conv1 and conv2 (the head stays in float)
    assert max(int(np.abs(w.astype(np.int32)).max()) for w in weights) <= 64
    assert np.iinfo(np.int16).max >= 2 * 255 * 64

    full = quantize_model(tiny, tmp_path / "v.onnx", _frames(),
                          QuantizeConfig(method="minmax", target="vnni"))
    assert max(int(np.abs(w.astype(np.int32)).max()) for w in _int8_weights(full.model)) == 127


@pytest.mark.parametrize("target", ["portable", "vnni", "arm64"])
def test_target_is_recorded_in_the_card_and_the_model(tiny: Path, tmp_path: Path, target: str) -> None:
    import json

    from vasdk import Detector

    res = quantize_model(tiny, tmp_path / f"{target}.onnx", _frames(3), QuantizeConfig(target=target))
    card = json.loads(res.card.read_text())
    assert card["quantization"] == {"target": target, "weight_bits": 7 if target == "portable" else 8,
                                    "activations": "uint8", "method": "minmax"}
    meta = {p.key: p.value for p in onnx.load(str(res.model)).metadata_props}
    assert meta == {"vasdk.quant_target": target}
    Detector(str(res.model), threads=1)  # the SDK's card reader accepts the field


def test_engine_warns_when_a_full_8bit_model_meets_a_cpu_without_vnni(tiny: Path, tmp_path: Path) -> None:
    from vasdk import _core
    from vasdk.tools.cpuinfo import cpu_info, int8_saturates

    info = cpu_info()
    saturates = int8_saturates(info["arch"], set(info["features"]))
    for target in ("vnni", "portable"):
        res = quantize_model(tiny, tmp_path / f"{target}.onnx", _frames(3), QuantizeConfig(target=target))
        notes = _core.Engine(str(res.model), '{"threads": 1}').notes
        risky = [n for n in notes if "no VNNI" in n]
        if target == "vnni" and saturates:
            assert len(risky) == 1 and "--target portable" in risky[0], notes
        else:
            assert not risky, notes


def test_unknown_target_and_card_target_are_rejected(tiny: Path, tmp_path: Path) -> None:
    import json

    from vasdk import Detector, InvalidConfigError

    with pytest.raises(ModelToolError, match="target must be one of portable, vnni, arm64"):
        quantize_model(tiny, tmp_path / "x.onnx", _frames(2), QuantizeConfig(target="avx2"))
    res = quantize_model(tiny, tmp_path / "q.onnx", _frames(2), QuantizeConfig())
    card = json.loads(res.card.read_text())
    card["quantization"]["target"] = "gpu"
    res.card.write_text(json.dumps(card))
    want = r"quantization\.target: .*'portable', 'vnni', 'arm64'.*'gpu'"
    with pytest.raises(InvalidConfigError, match=want):
        Detector(str(res.model), threads=1)
    card["quantization"] = {"target": "vnni", "bits": 8}
    res.card.write_text(json.dumps(card))
    with pytest.raises(InvalidConfigError, match=r"quantization\.bits"):
        Detector(str(res.model), threads=1)
