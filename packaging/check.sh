#!/usr/bin/env bash
# Smoke check of the built app (not part of `make test`): the window opens with the reference model
# under a virtual screen and a screenshot is saved; the headless analyze works on a real model.
set -euo pipefail
cd "$(dirname "$0")/.."
APP=dist/tinyopt-studio/tinyopt-studio
test -x "$APP" || { echo "no $APP: run 'make package' first"; exit 1; }
command -v xvfb-run >/dev/null || { echo "xvfb-run is missing (Debian package xvfb)"; exit 1; }
mkdir -p out
start=$(date +%s.%N)
QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox timeout 600 xvfb-run -a -s "-screen 0 1600x1000x24" \
    "$APP" --smoke-test out/package-check.png
echo "window shown, reference model loaded and screenshot saved in $(echo "$(date +%s.%N) - $start" | bc) s"
test -s out/package-check.png
"$APP" analyze ../shared/models/kws_ref_model.tflite | tee out/package-check-analyze.txt
grep -q "total 24,272 bytes" out/package-check-analyze.txt
echo "package check passed"
