#!/usr/bin/env bash
# Quick start: set up, collect the demo district's 2024 campaign, then run the annual flow for 2025.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/eibm collect --year 2024 > /dev/null  # the previous campaign, for the comparison with last year
.venv/bin/eibm report --year 2025
# The runs above went to a Prefect server left running in the background (history and artifacts in a browser).
.venv/bin/eibm server status
