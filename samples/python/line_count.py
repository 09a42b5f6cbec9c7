"""Count people crossing a line on a video, with vasdk.Pipeline (about 30 lines).

    python samples/python/line_count.py VIDEO MODEL.onnx [Y]
"""

import sys
from collections import Counter

import vasdk

video, model = sys.argv[1], sys.argv[2]
y = int(sys.argv[3]) if len(sys.argv) > 3 else 300
config = {
    "models": {"detector": {"model": model, "options": {"classes": ["person"]}}},
    "channels": [{
        "id": "cam", "source": {"url": video}, "policy": "block",
        "analytics": {"rules": {"rules": [
            {"id": "line", "type": "line_crossing", "line": [[0, y], [4000, y]]}]}},
    }],
}
counts: Counter[str] = Counter()
with vasdk.Pipeline(config) as pipe:
    pipe.on_event(lambda e: counts.update([e.subkind]) if e.kind == "rule" else None)
    pipe.start()
    pipe.wait()  # until the file ends
    pipe.stop(drain=True)
    frames = pipe.stats().by_id["cam"].processed
print(f"{frames} frames: {counts['cross_in']} crossed in, {counts['cross_out']} crossed out")
