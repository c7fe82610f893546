#!/usr/bin/env bash
# Proof that edgekit's base install runs on a Raspberry Pi (64-bit Pi OS = Debian bookworm arm64, Python 3.11):
# builds an arm64 bookworm root under qemu-user, installs edgekit[onnx] there from wheels (no TensorFlow),
# runs `edgekit predict --json` on float32 and int8 TFLite and ONNX artifacts, and compares with x86_64:
# int8 answers must be identical, float probabilities within 1e-5.
#
#   scripts/pi-smoke.sh [ARTIFACT_DIR]     (needs root; default: trains and converts a small dense model)
#
# Environment: EDGEKIT_PI_ROOT (default .cache/pi-root, reused between runs), EDGEKIT_PI_CPU (cortex-a76 = Pi 5;
# cortex-a72 = Pi 4, which then needs a matching cpuinfo file in EDGEKIT_PI_CPUINFO), PYTHON (host venv python).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
PY=${PYTHON:-$here/.venv/bin/python}
ROOT=${EDGEKIT_PI_ROOT:-$here/.cache/pi-root}
CPU=${EDGEKIT_PI_CPU:-cortex-a76}
CPUINFO=${EDGEKIT_PI_CPUINFO:-$here/../shared/pi/cpuinfo-cortex-a76}
WORK=$(mktemp -d /tmp/edgekit-pi.XXXXXX)
started=$(date +%s)
say() { printf '[pi-smoke %4ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }

[ "$(id -u)" = 0 ] || { echo "pi-smoke: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
[ -x "$PY" ] || { echo "pi-smoke: no host python at $PY; run the README install first" >&2; exit 1; }
[ -f "$CPUINFO" ] || { echo "pi-smoke: no cpuinfo file at $CPUINFO (qemu passes the host's through and LiteRT crashes on it)" >&2; exit 1; }

mounted=()
cleanup() {
  local i
  for (( i=${#mounted[@]}-1; i>=0; i-- )); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
mount_into() {  # mount_into TARGET ARGS...: remember it so the trap unmounts in reverse order
  local target=$1; shift
  mount "$@" "$target"
  mounted+=("$target")
}

# --- 1. qemu-user and binfmt ---------------------------------------------------------------------------------
if ! command -v qemu-aarch64-static >/dev/null || ! command -v debootstrap >/dev/null || ! command -v update-binfmts >/dev/null; then
  say "installing qemu-user-static debootstrap binfmt-support"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static debootstrap binfmt-support >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static debootstrap binfmt-support >/dev/null; }
fi
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "pi-smoke: qemu-aarch64 binfmt handler not registered" >&2; exit 1; }

# --- 2. the arm64 bookworm root (cached) ---------------------------------------------------------------------
if [ ! -f "$ROOT/.edgekit-ready" ]; then
  say "debootstrap arm64 bookworm into $ROOT (cold: about 2.5 min)"
  rm -rf "$ROOT"; mkdir -p "$ROOT"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$ROOT" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; rm -rf "$ROOT"; exit 1; }
  touch "$ROOT/.edgekit-ready"
else
  say "reusing arm64 root $ROOT"
fi

# --- 3. artifacts and images on the host ---------------------------------------------------------------------
ART=${1:-}
if [ -z "$ART" ]; then
  say "training and converting a small dense model on the host"
  "$PY" -m edgekit.cli train --model dense --epochs 3 --out "$WORK/run" --offline >/dev/null 2>&1
  "$PY" -m edgekit.cli convert "$WORK/run" -f tflite -q none --out "$WORK/art" --offline >/dev/null 2>&1
  "$PY" -m edgekit.cli convert "$WORK/run" -f tflite -q int8 --out "$WORK/art" --offline >/dev/null 2>&1
  "$PY" -m edgekit.cli convert "$WORK/run" -f onnx -q none --out "$WORK/art" --offline >/dev/null 2>&1
  "$PY" -m edgekit.cli convert "$WORK/run" -f onnx -q int8 --out "$WORK/art" --offline >/dev/null 2>&1
  ART="$WORK/art"
fi
"$PY" - "$WORK/images.npy" <<'EOF'
import sys, numpy as np
from edgekit.data import load_dataset
test = load_dataset("mnist", offline=True, sample=True).test
np.save(sys.argv[1], test.images[::50][:20])
EOF
ARTIFACTS=(tflite-float32.tflite tflite-int8.tflite onnx-float32.onnx onnx-int8.onnx)
for a in "${ARTIFACTS[@]}"; do
  [ -f "$ART/$a" ] || { echo "pi-smoke: $ART/$a is missing" >&2; exit 1; }
  "$PY" -m edgekit.cli predict "$ART/$a" "$WORK/images.npy" --json --top-k 10 >"$WORK/x86-$a.jsonl"
done

# --- 4. wheels for aarch64 / CPython 3.11 (downloaded on the host: pip in the root cannot verify TLS here) ---
say "building the edgekit wheel and downloading aarch64 wheels"
rm -rf "$WORK/wheels"; mkdir -p "$WORK/wheels"
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$WORK/wheels" "$here" >/dev/null
whl=$(ls "$WORK"/wheels/edgekit-*.whl)
"$PY" -m pip download -q --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --abi abi3 \
  --abi none --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --platform manylinux_2_27_aarch64 \
  --platform manylinux_2_28_aarch64 --platform any -d "$WORK/wheels" "edgekit[onnx] @ file://$whl" 2>&1 \
  | grep -v "^WARNING: Location" || true
ls "$WORK"/wheels/ai_edge_litert-*aarch64*.whl "$WORK"/wheels/onnxruntime-*aarch64*.whl "$WORK"/wheels/numpy-*aarch64*.whl >/dev/null

# --- 5. install and predict inside the root ------------------------------------------------------------------
rm -rf "$ROOT/opt/edgekit"; mkdir -p "$ROOT/opt/edgekit"
cp -r "$WORK/wheels" "$ROOT/opt/edgekit/wheels"
cp "$WORK/images.npy" "$ROOT/opt/edgekit/"
for a in "${ARTIFACTS[@]}"; do cp "$ART/$a" "$ROOT/opt/edgekit/"; done
mount_into "$ROOT/proc" -t proc proc
mount_into "$ROOT/sys" -t sysfs sysfs
mount_into "$ROOT/proc/cpuinfo" --bind "$CPUINFO"   # the host's Intel cpuinfo crashes cpuinfo/XNNPACK under qemu
in_pi() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root QEMU_CPU="$CPU" chroot "$ROOT" "$@"; }

say "installing edgekit[onnx] from wheels inside the arm64 root"
in_pi /bin/sh -c 'rm -rf /opt/venv && python3 -m venv /opt/venv && /opt/venv/bin/pip install -q --no-index --find-links /opt/edgekit/wheels "edgekit[onnx]"'
in_pi /opt/venv/bin/python -c 'import platform, importlib.util as u, sys; print("machine", platform.machine(), "python", platform.python_version()); sys.exit(0 if platform.machine() == "aarch64" and u.find_spec("tensorflow") is None else 1)'
for a in "${ARTIFACTS[@]}"; do
  t0=$(date +%s%N)
  in_pi /opt/venv/bin/edgekit predict "/opt/edgekit/$a" /opt/edgekit/images.npy --json --top-k 10 >"$WORK/arm-$a.jsonl"
  say "predicted 20 images with $a on aarch64 in $(( ($(date +%s%N) - t0) / 1000000 )) ms (emulated)"
done

# --- 6. compare ----------------------------------------------------------------------------------------------
"$PY" - "$WORK" "${ARTIFACTS[@]}" <<'EOF'
import json, sys
from pathlib import Path
work, names = Path(sys.argv[1]), sys.argv[2:]
failed = False
for name in names:
    x86 = [json.loads(l) for l in (work / f"x86-{name}.jsonl").read_text().splitlines()]
    arm = [json.loads(l) for l in (work / f"arm-{name}.jsonl").read_text().splitlines()]
    same_labels = [a["label"] for a in x86] == [b["label"] for b in arm] and len(x86) == len(arm) == 20
    diff = max(abs(p["probability"] - q["probability"]) for a, b in zip(x86, arm)
               for p, q in zip(sorted(a["top_k"], key=lambda t: t["label"]), sorted(b["top_k"], key=lambda t: t["label"])))
    if "int8" in name:  # the integer graph must give bit-identical outputs; softmax after it is float
        ok = same_labels and [a["raw"] for a in x86] == [b["raw"] for b in arm]
        rule = "raw int8 outputs identical"
    else:
        ok = same_labels and diff <= 1e-5
        rule = "max |prob diff| <= 1e-5"
    failed |= not ok
    print(f"{name:22s} labels {'same' if same_labels else 'DIFFER'}  max |prob diff| {diff:.2e}  ({rule}): {'ok' if ok else 'FAIL'}")
sys.exit(1 if failed else 0)
EOF
say "Raspberry Pi (arm64, $CPU) smoke test passed"
