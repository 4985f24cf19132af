#!/usr/bin/env bash
# Set up (app mode) and start the gradviz app at http://localhost:8501.
# Extra arguments go to `streamlit run`, e.g. bash scripts/start.sh --server.port 8600
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --app
echo "start: gradviz app on http://localhost:8501 (unless --server.port says otherwise); Ctrl-C stops it" >&2
exec .venv/bin/python -m gradviz app "$@"
