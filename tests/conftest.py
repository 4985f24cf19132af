import os
import sys
import tempfile
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
# the app's disk cache of lesson recordings (gradviz/ui/disk_cache.py): empty for each test session
os.environ.setdefault("GRADVIZ_CACHE_DIR", tempfile.mkdtemp(prefix="gradviz-test-cache-"))


_LESSON_RECORDINGS: dict = {}


@pytest.fixture(scope="session")
def lesson_recording():
    """lesson number -> its Recording (quick form), each lesson run once per test session."""
    def get(number: int):
        if number not in _LESSON_RECORDINGS:
            from gradviz.lessons import LESSONS
            from gradviz.runner import execute

            lesson = next(l for l in LESSONS if l.number == number)
            rec = execute(lesson.path, list(lesson.quick_args))
            assert rec.error is None and rec.graphs, lesson.id
            _LESSON_RECORDINGS[number] = rec
        return _LESSON_RECORDINGS[number]
    return get
