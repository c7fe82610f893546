#!/usr/bin/env bash
# Proof that edgekit's device install runs on a Raspberry Pi (64-bit Raspberry Pi OS): for each Debian release
# asked for (trixie = today's Pi OS, Python 3.13; bookworm = the previous one, Python 3.11) it builds an arm64
# root under qemu-user, installs the edgekit wheel with the [onnx] extra there with the README's own commands
# (no TensorFlow), runs `edgekit predict --json` on float32 and int8 TFLite and ONNX artifacts, and compares
# with x86_64: int8 raw outputs must be identical, float probabilities within 1e-5.
#
#   scripts/pi-smoke.sh [--release trixie|bookworm|all]... [ARTIFACT_DIR]
#
# Needs root (debootstrap, chroot, mounts). Without ARTIFACT_DIR it trains and converts a small dense model.
# Environment: EDGEKIT_PI_RELEASES (default "trixie bookworm"; "trixie" for one; --release wins),
# EDGEKIT_PI_CACHE (default .cache: the roots live in pi-root-RELEASE there, reused between runs),
# EDGEKIT_PI_CPU (cortex-a76 = Pi 5, the default; cortex-a72 = Pi 4, which then needs a matching cpuinfo file in
# EDGEKIT_PI_CPUINFO; default: a Pi 5's, which this script writes), PYTHON (host venv python, default .venv/bin/python).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
PY=${PYTHON:-$here/.venv/bin/python}
CACHE=${EDGEKIT_PI_CACHE:-$here/.cache}
CPU=${EDGEKIT_PI_CPU:-cortex-a76}
MIRROR=http://deb.debian.org/debian
releases=()
ART=""
while [ $# -gt 0 ]; do
  case "$1" in
    --release) [ $# -ge 2 ] || { echo "pi-smoke: --release needs trixie, bookworm or all" >&2; exit 2; }
               releases+=("$2"); shift 2 ;;
    --release=*) releases+=("${1#--release=}"); shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "pi-smoke: unknown option $1" >&2; exit 2 ;;
    *) ART=$1; shift ;;
  esac
done
[ ${#releases[@]} -gt 0 ] || read -r -a releases <<<"${EDGEKIT_PI_RELEASES:-trixie bookworm}"
[ "${releases[*]}" != all ] || releases=(trixie bookworm)
for release in "${releases[@]}"; do
  case "$release" in trixie|bookworm) ;; *) echo "pi-smoke: unknown release '$release' (trixie, bookworm or all)" >&2; exit 2 ;; esac
done

WORK=$(mktemp -d /tmp/edgekit-pi.XXXXXX)
started=$(date +%s)
say() { printf '[pi-smoke %4ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }

[ "$(id -u)" = 0 ] || { echo "pi-smoke: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
[ -x "$PY" ] || { echo "pi-smoke: no host python at $PY; run the README install first" >&2; exit 1; }

mounted=()
unmount_all() {  # reverse order; also from the trap, so a failed step leaves nothing mounted
  local i
  for (( i=${#mounted[@]}-1; i>=0; i-- )); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  mounted=()
}
cleanup() { unmount_all; rm -rf "$WORK"; }
trap cleanup EXIT INT TERM
mount_into() {  # mount_into TARGET ARGS...: remember it so it is unmounted in reverse order
  local target=$1; shift
  mount "$@" "$target"
  mounted+=("$target")
}
drop_root() {  # a half-built root may still have debootstrap's /proc and /sys mounted: never delete through them
  { findmnt -rn -o TARGET | grep -F "$1/" || true; } | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf --one-file-system "$1"
}

# qemu passes the host's /proc/cpuinfo through, and the cpuinfo library inside LiteRT and onnxruntime crashes on
# an Intel one (signal 11); a Pi 5's, bound over it, lets XNNPACK pick the kernels a real Pi 5 would.
CPUINFO=${EDGEKIT_PI_CPUINFO:-$WORK/cpuinfo-cortex-a76}
if [ -z "${EDGEKIT_PI_CPUINFO:-}" ]; then
  for core in 0 1 2 3; do
    printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\nCPU revision\t: 1\n\n' \
      "$core" "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
  done >"$CPUINFO"
  printf 'Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n' >>"$CPUINFO"
fi
[ -f "$CPUINFO" ] || { echo "pi-smoke: no cpuinfo file at $CPUINFO" >&2; exit 1; }

# --- 1. qemu-user and binfmt ---------------------------------------------------------------------------------
need=()
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)  # Ubuntu hosts
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || { echo "pi-smoke: qemu-aarch64 binfmt handler not registered" >&2; exit 1; }

# --- 2. artifacts, images and x86_64 answers on the host -----------------------------------------------------
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

# --- 3. the edgekit wheel, built as the README says ("Running on a Raspberry Pi") -----------------------------
python3() { "$PY" "$@"; }  # the README's `python3` on the build machine is the host venv here
say "building the edgekit wheel"
python3 -m pip wheel --no-deps . -w dist -q
unset -f python3
whl=$(ls -t dist/edgekit-*-py3-none-any.whl | head -1)

in_root() {  # in_root ROOT CMD...: a clean environment, so the host's pip settings do not leak in
  local root=$1; shift
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 QEMU_CPU="$CPU" \
    PIP_NO_INDEX=1 PIP_FIND_LINKS=/opt/edgekit/wheels PIP_DISABLE_PIP_VERSION_CHECK=1 chroot "$root" "$@"
}

failed=()
summary=()
for release in "${releases[@]}"; do
  t_release=$(date +%s)
  ROOT=$CACHE/pi-root-$release

  # --- 4. the arm64 root (cached) ----------------------------------------------------------------------------
  if [ ! -f "$ROOT/.edgekit-ready" ]; then
    say "$release: debootstrap arm64 into $ROOT (cold: a few minutes)"
    drop_root "$ROOT"; mkdir -p "$ROOT"
    debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv,ca-certificates \
      "$release" "$ROOT" "$MIRROR" >"$WORK/debootstrap-$release.log" 2>&1 \
      || { tail -20 "$WORK/debootstrap-$release.log" >&2; drop_root "$ROOT"; exit 1; }
    touch "$ROOT/.edgekit-ready"
    how=cold
  else
    say "$release: reusing arm64 root $ROOT"
    how=cached
  fi
  pyver=$(in_root "$ROOT" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')

  # --- 5. wheels for aarch64 and the root's CPython, downloaded on the host (pip in the root cannot verify TLS
  # here). ai-edge-litert 2.x ships manylinux_2_27 only: without that tag pip silently picks the old 1.4.0.
  wheels=$WORK/wheels-cp${pyver/./}
  if [ ! -d "$wheels" ]; then
    say "$release: downloading aarch64 wheels for CPython $pyver"
    mkdir -p "$wheels"
    "$PY" -m pip download -q --only-binary=:all: --python-version "$pyver" --implementation cp \
      --abi "cp${pyver/./}" --abi abi3 --abi none --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 \
      --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64 --platform any \
      -d "$wheels" "edgekit[onnx] @ file://$here/$whl" 2>&1 | { grep -v "^WARNING: Location" || true; }
    ls "$wheels"/ai_edge_litert-2.*aarch64*.whl "$wheels"/onnxruntime-*aarch64*.whl "$wheels"/numpy-*aarch64*.whl >/dev/null
  fi

  # --- 6. the README's device install and predictions inside the root ------------------------------------------
  rm -rf "$ROOT/opt/edgekit" "$ROOT"/root/edgekit-*.whl; mkdir -p "$ROOT/opt/edgekit"
  cp -r "$wheels" "$ROOT/opt/edgekit/wheels"
  cp "$whl" "$ROOT/root/"   # what `scp dist/edgekit-...whl pi@raspberrypi.local:` does
  cp "$WORK/images.npy" "$ROOT/opt/edgekit/"
  for a in "${ARTIFACTS[@]}"; do cp "$ART/$a" "$ROOT/opt/edgekit/"; done
  mount_into "$ROOT/proc" -t proc proc
  mount_into "$ROOT/sys" -t sysfs sysfs
  mount_into "$ROOT/proc/cpuinfo" --bind "$CPUINFO"

  say "$release: installing the edgekit wheel with [onnx] inside the arm64 root"
  in_root "$ROOT" /bin/bash -euc 'cd ~ && rm -rf ~/edgekit
python3 -m venv ~/edgekit && ~/edgekit/bin/pip install "./edgekit-0.1.0-py3-none-any.whl[onnx]"' >"$WORK/install-$release.log" 2>&1 \
    || { tail -20 "$WORK/install-$release.log" >&2; exit 1; }
  seen=$(in_root "$ROOT" /root/edgekit/bin/python -c 'import platform, importlib.util as u, sys
print(platform.machine(), platform.python_version(), "tensorflow" if u.find_spec("tensorflow") else "no-tensorflow")')
  say "$release: inside the root: $seen"
  case "$seen" in "aarch64 $pyver."*" no-tensorflow") ;; *) echo "pi-smoke: expected aarch64, Python $pyver, no TensorFlow" >&2; exit 1 ;; esac
  for a in "${ARTIFACTS[@]}"; do
    t0=$(date +%s%N)
    in_root "$ROOT" /root/edgekit/bin/edgekit predict "/opt/edgekit/$a" /opt/edgekit/images.npy --json --top-k 10 \
      >"$WORK/arm-$release-$a.jsonl"
    say "$release: predicted 20 images with $a on aarch64 in $(( ($(date +%s%N) - t0) / 1000000 )) ms (emulated)"
  done
  unmount_all

  # --- 7. compare ----------------------------------------------------------------------------------------------
  if "$PY" - "$WORK" "$release" "${ARTIFACTS[@]}" <<'EOF'
import json, sys
from pathlib import Path
work, release, names = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
failed = False
for name in names:
    x86 = [json.loads(l) for l in (work / f"x86-{name}.jsonl").read_text().splitlines()]
    arm = [json.loads(l) for l in (work / f"arm-{release}-{name}.jsonl").read_text().splitlines()]
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
    print(f"{release:9s} {name:22s} labels {'same' if same_labels else 'DIFFER'}  max |prob diff| {diff:.2e}"
          f"  ({rule}): {'ok' if ok else 'FAIL'}")
sys.exit(1 if failed else 0)
EOF
  then
    result=passed
  else
    result=FAILED; failed+=("$release")
  fi
  summary+=("$release ($how root, $seen): $result in $(( $(date +%s) - t_release )) s")
done

for line in "${summary[@]}"; do say "$line"; done
[ ${#failed[@]} -eq 0 ] || { say "FAILED on: ${failed[*]}"; exit 1; }
say "Raspberry Pi (arm64, $CPU) smoke test passed on: ${releases[*]}"
