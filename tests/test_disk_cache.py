"""The on-disk lesson cache (gradviz/ui/disk_cache.py): what it keeps, what it refuses to read."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import gradviz
from gradviz.ui import disk_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    where = tmp_path / "cache"
    monkeypatch.setenv("GRADVIZ_CACHE_DIR", str(where))
    return where


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "lesson.py"
    path.write_text("print('a lesson')\n")
    return path


def _recording():
    w = torch.tensor(1.0, requires_grad=True)
    with gradviz.record() as rec:
        ((w * 3) ** 2).backward()
    return rec


def test_a_run_is_made_once_and_read_back_the_same(cache, script):
    rec, runs = _recording(), []
    images = {"final": np.arange(6, dtype="float32").reshape(2, 3)}

    def make():
        runs.append(1)
        return rec, {"images": images}

    parts = ("10_x", ("--iterations", "5"), "cpu", True)
    first, _ = disk_cache.cached(str(script), parts, make)
    again, extra = disk_cache.cached(str(script), parts, make)
    assert runs == [1]
    assert again.to_json() == rec.to_json() == first.to_json()
    assert again.graph.steps[-1].grad_after == w_grad(rec)
    np.testing.assert_array_equal(extra["images"]["final"], images["final"])
    assert not list(cache.glob(".tmp-*")), "the write left its temporary file behind"
    # other arguments, or an edited lesson, run again
    disk_cache.cached(str(script), ("10_x", ("--iterations", "6"), "cpu", True), make)
    script.write_text("print('edited')\n")
    disk_cache.cached(str(script), parts, make)
    assert runs == [1, 1, 1]


def w_grad(rec):
    return rec.graph.steps[-1].grad_after


def test_a_file_the_cache_did_not_write_is_never_read(cache, script):
    rec = _recording()
    name = disk_cache.key(str(script), ("a",))
    disk_cache.store(name, rec, {})
    path = cache / f"{name}.gvc"
    data = bytearray(path.read_bytes())
    data[-3] ^= 1  # one byte changed after the cache wrote it
    path.write_bytes(bytes(data))
    assert disk_cache.load(name) is None
    assert not path.exists()
    path.write_text(rec.to_json())  # a plain recording, not written by the cache
    assert disk_cache.load(name) is None
    # a well-made entry with anyone else's signature: the body alone would load fine
    text = rec.to_json().encode()
    body = len(text).to_bytes(8, "big") + text
    path.write_bytes(disk_cache._MAGIC + bytes(32) + body)
    assert disk_cache.load(name) is None and not path.exists()


def test_a_run_with_an_error_is_not_kept(cache, script):
    rec = _recording()
    rec.error = gradviz.recording.ErrorInfo(type="ValueError", message="no")
    calls = []
    for _ in range(2):
        disk_cache.cached(str(script), ("b",), lambda: (calls.append(1), (rec, {}))[1])
    assert calls == [1, 1]


def test_the_folder_stays_under_its_size(cache, script, monkeypatch):
    rec = _recording()
    size = len(rec.to_json()) + 100  # an entry: the JSON, the magic line, the HMAC
    monkeypatch.setattr(disk_cache, "MAX_BYTES", int(4.5 * size))
    for k in range(6):
        disk_cache.store(f"entry{k}", rec, {})
        os.utime(cache / f"entry{k}.gvc", (k + 1, k + 1))  # entry0 is the least recently used
    left = sorted(p.stem for p in cache.glob("*.gvc"))
    assert len(left) < 6 and "entry5" in left and "entry0" not in left


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_a_folder_others_may_write_is_not_used(cache, script):
    cache.mkdir(mode=0o777)
    os.chmod(cache, 0o777)
    assert disk_cache.folder() is None
    made = []
    disk_cache.cached(str(script), ("c",), lambda: (made.append(1), (_recording(), {}))[1])
    assert made == [1] and not list(cache.iterdir())


def test_forget_run_drops_the_entry(cache, script):
    rec, made = _recording(), []
    args = ("11_y", str(script), ("--n", "1"), "cpu", False, "")

    @disk_cache.on_disk
    def run(lesson_id, script, args, device, save_images, upload_digest):
        made.append(1)
        return rec, {}

    run(*args)
    run(*args)
    disk_cache.forget_run(*args)
    run(*args)
    run(*args[:-1], "an-upload-digest")  # a learner's own picture stays off disk
    run(*args[:-1], "an-upload-digest")
    assert made == [1, 1, 1, 1]


def test_a_stepper_page_is_kept_for_the_very_recording_it_was_drawn_from(cache, script):
    rec = _recording()
    made = []

    def make(text):
        def draw():
            made.append(text)
            return text
        return draw

    loaded, _ = disk_cache.cached(str(script), ("x",), lambda: (rec, {}))  # made and stored
    assert disk_cache.page(loaded, ("app", "en"), make("page one")) == "page one"
    restarted, _ = disk_cache.cached(str(script), ("x",), lambda: pytest.fail("read from disk"))
    assert restarted is not loaded
    assert disk_cache.page(restarted, ("app", "en"), make("drawn again")) == "page one"
    assert disk_cache.page(restarted, ("app", "ko"), make("page two")) == "page two"  # other options
    assert made == ["page one", "page two"]
    # a recording the cache does not hold (an error, an upload, pasted code) is drawn every time
    assert disk_cache.page(_recording(), ("app", "en"), make("not kept")) == "not kept"
    # "run again" writes a new recording: its page is drawn from it, never the old one
    disk_cache.forget(disk_cache.key(str(script), ("x",)))
    other = _recording()
    other.stdout = "another run"
    fresh, _ = disk_cache.cached(str(script), ("x",), lambda: (other, {}))
    assert disk_cache.page(fresh, ("app", "en"), make("from the new run")) == "from the new run"
    # a page file the cache did not write is not shown
    for path in cache.glob("*.page"):
        path.write_bytes(path.read_bytes()[:-1] + b"!")
    assert disk_cache.page(fresh, ("app", "en"), make("drawn after tampering")) == "drawn after tampering"


def test_a_change_to_the_stepper_or_the_translations_makes_entries_old():
    """A kept page holds the stepper's script and style and Korean words: they count like the code."""
    from pathlib import Path

    root = Path(gradviz.__file__).resolve().parent
    covered = {p.relative_to(root).as_posix() for p in disk_cache.fingerprinted(root)}
    assert {"assets/stepper.js", "assets/stepper.css", "ui/disk_cache.py",
            "words/locale/ko/LC_MESSAGES/gradviz.mo"} <= covered
