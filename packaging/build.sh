#!/usr/bin/env bash
# Build the one-folder app into dist/tinyopt-studio and time it. Usage: packaging/build.sh [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
    packaging/tinyopt.spec
echo "built dist/tinyopt-studio in $(( $(date +%s) - start )) s, $(du -sh dist/tinyopt-studio | cut -f1)"
