#!/usr/bin/env bash
# The main job on a fresh machine: set up, then run the multi-channel RTSP demo.
#   1. a local GStreamer RTSP server on 127.0.0.1 serves vtest.avi on N mounts (default 4);
#   2. a local mosquitto broker on 127.0.0.1, and a subscriber that records what arrives;
#   3. yolov3-tiny quantized to INT8 (once, cached), then `vasdk run` on the demo config: the
#      person pipeline with a line-crossing count, an intrusion zone, loitering, best shots,
#      JSON-lines and MQTT sinks and annotated videos;
#      while it runs, the live view: a web page with a live tile per channel, stats, events and
#      controls (its address, with the token, is printed at start) and RTSP out of every
#      channel's annotated picture (URLs printed at start; encoded only while played);
#   4. a summary: per channel fps, p99, drops, counts per rule, best shots written and MQTT
#      messages received.
# Every server it starts is stopped by PID on exit, Ctrl-C included.
#   bash scripts/demo.sh [OUT_DIR] [--channels N] [--seconds S] [--http HOST:PORT] [--no-live]
#     [--model MODEL.onnx]   (another detector with yolov3-tiny's card, e.g. a pruned INT8 one)
#   (defaults out/demo, 4, 60, 127.0.0.1 on a free port; another address than 127.0.0.1 makes the
#   page ask for the printed token on every call)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/out/demo
CHANNELS=4
SECONDS_RUN=60
HTTP=""
LIVE=1
MODEL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --channels) CHANNELS=$2; shift 2 ;;
    --seconds) SECONDS_RUN=$2; shift 2 ;;
    --http) HTTP=$2; shift 2 ;;
    --no-live) LIVE=0; shift ;;
    --model) [ -f "$2" ] || { echo "demo: no model file $2" >&2; exit 2; }
      MODEL=$(realpath "$2"); shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) OUT=$1; shift ;;
  esac
done
"$ROOT/scripts/setup.sh"
PY=$ROOT/.venv/bin/python
export VASDK_ASSETS=$ROOT/.cache/assets
rm -rf "$OUT"
mkdir -p "$OUT"
chmod 700 "$OUT"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# 1. RTSP server (Debian's python3 has the GObject bindings).
/usr/bin/python3 "$ROOT/scripts/rtsp_server.py" --port 0 --channels "$CHANNELS" >"$OUT/rtsp.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -q '^rtsp_server ready' "$OUT/rtsp.log" && break; sleep 0.1; done
RTSP_PORT=$(awk '/^rtsp_server ready/ {print $3}' "$OUT/rtsp.log")
[ -n "$RTSP_PORT" ] || { echo "demo: the RTSP server did not start:" >&2; cat "$OUT/rtsp.log" >&2; exit 1; }

# 2. mosquitto and a subscriber that timestamps every message on arrival.
MQTT_PORT=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" >"$OUT/mosquitto.conf"
mosquitto -c "$OUT/mosquitto.conf" >"$OUT/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $MQTT_PORT), 0.2)" 2>/dev/null && break; sleep 0.1; done
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t 'vasdk/#' -v -q 1 -F '%U %t %p' >"$OUT/mqtt_received.txt" 2>"$OUT/mosquitto_sub.log" &
pids+=($!)

# 3. The model: yolov3-tiny quantized to INT8 once (portable target: exact on any x86 or ARM64
#    CPU), calibrated on vtest.avi and kept in .cache/demo for the next run.
if [ -z "$MODEL" ]; then
  MODEL=$ROOT/.cache/demo/yolov3-tiny-int8.onnx
fi
if [ ! -f "$MODEL" ]; then
  mkdir -p "$(dirname "$MODEL")"
  "$ROOT/.venv/bin/vasdk" model quantize "$VASDK_ASSETS/yolov3-tiny.onnx" "$MODEL.tmp.onnx" \
    --calib "$VASDK_ASSETS/vtest.avi" --target portable
  mv "$MODEL.tmp.onnx" "$MODEL"
  mv "$MODEL.tmp.json" "${MODEL%.onnx}.json"
fi

# 4. The demo config and the run.
"$PY" - "$OUT" "$RTSP_PORT" "$MQTT_PORT" "$CHANNELS" "$MODEL" <<'PY'
import json, sys
from pathlib import Path
out, rtsp, mqtt, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
model = sys.argv[5]
rules = [
    {"id": "walkway", "type": "line_crossing", "line": [[384, 100], [384, 450]], "hysteresis": 8},
    {"id": "lawn", "type": "intrusion", "polygon": [[0, 60], [300, 60], [300, 300], [0, 300]]},
    {"id": "linger", "type": "loitering", "polygon": [[300, 200], [768, 200], [768, 576], [300, 576]],
     "dwell_s": 8},
]
config = {
    # 512x384 input: vtest's walkers stay well above the detector's smallest scale, and 4
    # channels of 10 fps hold real time on 2 cores (at 768x576 they held about 4 fps).
    # "auto": the faster of ONNX Runtime and OpenVINO for this model on this CPU, measured once
    # and cached (OpenVINO cannot read the quantizer's QOperator INT8 model, so ORT runs it).
    "models": {"detector": {"model": model, "options": {"backend": "auto", "classes": ["person"],
                                                        "input_width": 512, "input_height": 384}}},
    "inference": {"max_batch": 4, "max_wait_ms": 20},
    "sinks": [
        {"type": "best_shot", "dir": str(out / "best_shots"), "max_count": 500},
        {"type": "jsonl", "path": str(out / "events.jsonl"), "kinds": ["rule", "best_shot", "track_start",
                                                                     "track_end", "source"]},
        {"type": "mqtt", "host": "127.0.0.1", "port": mqtt, "qos": 1,
         "kinds": ["result", "rule", "best_shot", "source"]},
    ],
    "channels": [{
        "id": f"cam{i}",
        "source": {"url": f"rtsp://127.0.0.1:{rtsp}/ch{i}", "transport": "tcp", "read_timeout_ms": 3000},
        # Detect every 3rd frame; the tracker predicts in between (people move a few pixels).
        "detect_interval": 3,
        # A track must be seen 3 times before it counts: flicker makes no tracks, no best shots.
        # Score thresholds as supervision's ByteTrack uses them (yolov3-tiny's walkers: 0.3-0.9).
        # With detection every 3rd frame a walker moves ~3x as far between matches; the centre
        # distance cost keeps those matches (first 400 frames of vtest at 512x384: 4.3 tracked
        # walkers per frame with it, 1.5 without; 5.2 when detecting every frame).
        "analytics": {"tracker": {"type": "bytetrack", "min_hits": 3, "track_thresh": 0.25,
                                  "high_thresh": 0.35, "low_thresh": 0.1, "center_weight": 0.3},
                      "best_shot": {"top_k": 1, "jpeg": True, "interval_s": 20},
                      "rules": {"rules": rules}},
        "annotate": {"path": str(out / "video" / f"cam{i}.mp4")},
    } for i in range(n)],
}
(out / "demo.json").write_text(json.dumps(config, indent=2))
PY
echo "demo: $CHANNELS RTSP channels on 127.0.0.1:$RTSP_PORT, MQTT on 127.0.0.1:$MQTT_PORT, for $SECONDS_RUN s"
live=()
if [ "$LIVE" = 1 ]; then
  # The live view prints its page address (with the token) and the RTSP out URLs at start.
  live=(--http "${HTTP:-127.0.0.1:$(free_port)}" --rtsp-out 0)
fi
"$ROOT/.venv/bin/vasdk" run "$OUT/demo.json" --duration "$SECONDS_RUN" --summary "$OUT/summary.json" "${live[@]}"
sleep 1  # the last MQTT messages

# 5. The summary.
"$PY" - "$OUT" <<'PY'
import json, sys
from collections import Counter
from pathlib import Path
out = Path(sys.argv[1])
s = json.loads((out / "summary.json").read_text())
mqtt = [m for m in (out / "mqtt_received.txt").read_text().splitlines() if m.strip()]
by_topic = Counter(m.split(" ", 2)[1].split("/")[2] if m.count("/") >= 2 else "?" for m in mqtt)
shots = sorted((out / "best_shots").rglob("*.jpg")) if (out / "best_shots").exists() else []
print("\ndemo summary")
print(f"{'channel':8s} {'fps':>6s} {'p99 ms':>7s} {'decoded':>8s} {'dropped':>8s} {'reconnects':>10s}  rule counts")
for c in s["channels"]:
    rules = ", ".join(f"{k} {v}" for k, v in sorted(s["rule_counts"].get(c["id"], {}).items())) or "-"
    print(f"{c['id']:8s} {c['fps']:6.1f} {c['latency_p99_ms']:7.0f} {c['decoded']:8d} {c['dropped']:8d} "
          f"{c['reconnects']:10d}  {rules}")
print(f"best shots written: {len(shots)} JPEG files in {out / 'best_shots'}")
print(f"MQTT messages received by the subscriber: {len(mqtt)} ({', '.join(f'{k} {v}' for k, v in sorted(by_topic.items()))})")
lat = []
for line in mqtt:
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[1].endswith("/result"):
        lat.append(float(parts[0]) * 1e3 - json.loads(parts[2])["capture_us"] / 1e3)
lat.sort()
if lat:
    p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    print(f"MQTT end-to-end latency, frame capture -> subscriber ({len(lat)} results): "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")
videos = sorted((out / "video").glob("*.mp4")) if (out / "video").exists() else []
print(f"annotated videos: {', '.join(str(v) for v in videos) or 'none'}")
print(f"events (JSON lines): {out / 'events.jsonl'}")
PY
