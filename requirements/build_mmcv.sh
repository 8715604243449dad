#!/usr/bin/env bash
# Build mmcv 2.1.0 with its CPU/CUDA ops into a wheel for the torch of requirements/torch.txt.
#   bash requirements/build_mmcv.sh PYTHON WHEEL_DIR
# Why a build: mmdet 3.3 / mmseg 1.2 need mmcv < 2.2 with ops, and no published mmcv wheel fits
# torch 2.14. mmcv's setup.py needs pkg_resources (setuptools < 70, which torch 2.14 refuses in
# its own environment), so it builds in a throw-away venv; it asks for C++14/17, which torch
# 2.14's headers refuse, so the flag becomes C++20. About 20 minutes on 2 cores; the wheel is
# kept in WHEEL_DIR and reused.
set -euo pipefail
PYTHON=${1:-python3}
WHEEL_DIR=$(realpath -m "${2:-.wheels}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    echo "mmcv wheel already built in $WHEEL_DIR"; exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PYTHON" -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q -r "$ROOT/requirements/torch.txt" wheel ninja numpy
"$WORK/venv/bin/pip" install -q 'setuptools<70'  # pkg_resources, for mmcv's setup.py
"$WORK/venv/bin/pip" download -q --no-deps --no-build-isolation --no-binary :all: \
    mmcv==2.1.0 -d "$WORK"
tar xzf "$WORK"/mmcv-2.1.0.tar.gz -C "$WORK"
sed -i 's/-std=c++1[47]/-std=c++20/g' "$WORK/mmcv-2.1.0/setup.py"
mkdir -p "$WHEEL_DIR"
(cd "$WORK/mmcv-2.1.0" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} \
    "$WORK/venv/bin/pip" wheel -q --no-deps --no-build-isolation -w "$WHEEL_DIR" .)
ls "$WHEEL_DIR"/mmcv-2.1.0-*.whl
