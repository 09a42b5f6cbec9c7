#!/usr/bin/env bash
# The main job on a fresh machine: set up, then detect people and vehicles on vtest.avi,
# writing an annotated video and a JSONL file of detections, and print a summary.
#   bash scripts/demo.sh [OUT_DIR]      (default: out/)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$ROOT/out}
"$ROOT/scripts/setup.sh"
mkdir -p "$OUT"
"$ROOT/.venv/bin/vasdk" detect "$("$ROOT/.venv/bin/vasdk" assets path vtest.avi)" \
  --model "$("$ROOT/.venv/bin/vasdk" assets path yolov3-tiny.onnx)" \
  --classes person,car,truck --threads 2 \
  --out "$OUT/vtest_annotated.mp4" --jsonl "$OUT/vtest_detections.jsonl"
