import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "gradviz" / "lessons"
NOTEBOOK = ROOT / "examples" / "walkthrough.ipynb"
SHARED = ROOT.parent / "shared"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def gradviz_cmd() -> list[str]:
    return [sys.executable, "-m", "gradviz"]


os.environ.setdefault("PYTHONHASHSEED", "0")
