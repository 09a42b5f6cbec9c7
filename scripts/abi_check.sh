#!/usr/bin/env bash
# ABI gate for libvasdk.so against the committed baseline sdk/abi/libvasdk.abi (libabigail).
#
#   scripts/abi_check.sh [--lib PATH] [--update]
#
# Check (default): abidiff the baseline against PATH (default build/sdk/libvasdk.so, a -g
# build such as RelWithDebInfo; built if missing). Passes when nothing changed, or when the
# only changes are compatible: added functions or variables, and members appended to the end
# of versioned structs. Fails on anything else, e.g. a removed vas_* call, or a struct member
# removed, reordered or resized.
#
# --update rewrites the baseline from PATH. Do it on purpose, in the same commit, when
#   - a release is tagged (the new baseline is what that release promises), or
#   - compatible additions have piled up and you want the next diff to show only new ones, or
#   - an incompatible change is intended: then also bump VAS_VERSION_MAJOR (the SONAME).
# Never refresh it just to make a failing check pass.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LIB=$ROOT/build/sdk/libvasdk.so
UPDATE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --lib) LIB=$2; shift 2 ;;
    --update) UPDATE=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "abi_check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
BASE=$ROOT/sdk/abi/libvasdk.abi
if [ ! -f "$LIB" ]; then
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$ROOT/build" -j "$(nproc)" --target vasdk
fi
# Only the installed header's types and functions make up the ABI.
HDRS=(--headers-dir "$ROOT/include/vasdk")

if [ "$UPDATE" = 1 ]; then
  abidw "${HDRS[@]}" --exported-interfaces-only --drop-private-types --no-show-locs --no-corpus-path --no-comp-dir-path --out-file "$BASE" "$LIB"
  echo "abi_check: baseline written to ${BASE#"$ROOT"/} ($(grep -c '<elf-symbol ' "$BASE") symbols)"
  exit 0
fi
[ -f "$BASE" ] || { echo "abi_check: no baseline $BASE; run scripts/abi_check.sh --update" >&2; exit 1; }

report=$(mktemp)
trap 'rm -f "$report"' EXIT
set +e
abidiff --exported-interfaces-only "$BASE" "$LIB" >"$report" 2>&1
rc=$?
set -e
# abidiff: bit 1 = tool error, bit 4 = ABI change, bit 8 = incompatible change (removals).
if [ $((rc & 3)) -ne 0 ]; then
  cat "$report" >&2; echo "abi_check: abidiff failed (exit $rc)" >&2; exit 1
fi
# abidiff calls most type changes merely "changes" (exit 4), including a reordered member. The
# C ABI rules allow exactly two kinds: added functions/variables, and members appended at the
# end of a struct (the caller's struct_size tells the library which version it has). Every
# other line under a changed function makes the change incompatible.
set +e
python3 - "$report" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
removed = sum(int(n) for n in re.findall(r"summary: (\d+) Removed", text))
allowed = [
    r"\[C\] '.*'.* has some (indirect )?sub-type changes:$",
    r"parameter \d+ of type '.*' has sub-type changes:$",
    r"in pointed to type '.*'.*:$",
    r"(unqualified )?underlying type '.*'.* changed(, as reported earlier|:)$",
    r"type size (hasn't changed|changed from \d+ to \d+ \(in bits\))$",
    r"\d+ data member insertions?:$",
    r"'.*', at offset (\d+) \(in bits\).*$",
]
bad, old_size, section = [], None, False
for line in text.splitlines():
    s = line.strip()
    if re.match(r"\d+ functions? with some (indirect )?sub-type change", s) or \
       re.match(r"\d+ Changed variables?:", s):
        section = True
        continue
    if re.match(r"\d+ (Added|Removed) (functions?|variables?)", s):
        section = False
    if not section or not s:
        continue
    m = re.match(r"type size changed from (\d+) to", s)
    if m:
        old_size = int(m.group(1))
    if not any(re.match(a, s) for a in allowed):
        bad.append(s)
        continue
    m = re.match(r"'.*', at offset (\d+) \(in bits\)", s)
    if m and old_size is not None and int(m.group(1)) < old_size:
        bad.append(s + "  <- inserted before the old end of the struct")
if removed or bad:
    print("incompatible: %d removed symbol(s)" % removed)
    for b in bad:
        print("  " + b)
    sys.exit(1)
PY
verdict=$?
set -e
added=$( (grep -Eo 'summary: .* [0-9]+ Added' "$report" || true) | (grep -Eo '[0-9]+ Added' || true) | awk '{s += $1} END {print s + 0}')
if [ $((rc & 8)) -ne 0 ] || [ "$verdict" -ne 0 ]; then
  cat "$report" >&2
  echo "abi_check: INCOMPATIBLE change against ${BASE#"$ROOT"/} (abidiff exit $rc)." >&2
  echo "  Restore the old declarations, or if the break is intended bump VAS_VERSION_MAJOR" >&2
  echo "  and refresh the baseline: scripts/abi_check.sh --update" >&2
  exit 1
fi
echo "abi_check: compatible with the baseline (abidiff exit $rc, $added added symbol(s))"
