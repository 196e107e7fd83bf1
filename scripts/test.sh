#!/usr/bin/env bash
# Set up (with the tests' system packages: PostgreSQL), then run the linter and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --tests
.venv/bin/ruff check pipeline eibm tests scripts benchmarks flows.py
.venv/bin/python -m pytest "$@"
