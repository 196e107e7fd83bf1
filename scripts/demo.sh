#!/usr/bin/env bash
# Quick start: set up, then run the collection on the shipped demo district for 2024 and 2025.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for year in 2024 2025; do
    .venv/bin/eibm collect --year "$year"
    echo
done
echo "Статус сбора 2025: $(pwd)/outputs/2025/status.html"
echo "Ответы школам:     $(pwd)/outputs/2025/feedback/"
