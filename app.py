"""gradviz in the browser: `streamlit run app.py` (or `gradviz app`, or `bash scripts/start.sh`).

The table of contents is `gradviz.ui.app.main`; the pieces live in gradviz/ui/.
"""
from gradviz.ui.app import main

main()
