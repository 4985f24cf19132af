#!/usr/bin/env bash
# Set up (test mode) and run the whole pytest suite; arguments go to pytest.
# e.g. bash scripts/test.sh -q -x  |  bash scripts/test.sh -m "not browser"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --test
mkdir -p test-artifacts
exec .venv/bin/python -m pytest "$@"
