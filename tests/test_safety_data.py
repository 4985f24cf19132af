"""Issue 15 items 10-13 in this process: the timeline's memory bound, threads, hostile pickles,
picture bombs and malformed recordings. Numbers are checked against torch run plainly.
"""
from __future__ import annotations

import io
import json
import pickle
import struct
import threading
import zlib

import numpy as np
import pytest
import torch

import gradviz
from gradviz.capture import timeline
from gradviz.recording import Recording, RecordingFormatError
from gradviz.safe_pickle import UnsafePickleError, load_array

LR = 0.01


def _train(n: int, params: int = 1, **options) -> tuple[Recording, list[list[float]]]:
    """n steps of gradient descent on sum(w_i * 0.5)^2, recorded; and the values torch had."""
    ws = [torch.tensor(1.0 + i, requires_grad=True) for i in range(params)]
    truth = []
    with gradviz.record(explain=False, **options) as rec:
        for _ in range(n):
            truth.append([w.item() for w in ws])
            loss = sum((w * 0.5) ** 2 for w in ws)
            loss.backward()
            with torch.no_grad():
                for w in ws:
                    w -= LR * w.grad
                    w.grad = None
    return rec, truth


def test_timeline_keeps_a_bounded_number_of_points_with_true_numbers(monkeypatch):
    monkeypatch.setattr(timeline, "MAX_POINTS", 256)
    rec, truth = _train(3000, snapshots=32)
    its = rec.iterations
    assert len(its) <= 256
    idx = [it.index for it in its]
    assert idx[0] == 1 and idx[-1] == 3000 and idx == sorted(set(idx))  # true numbers, in order
    name = next(iter(its[0].params))
    for it in its:  # every kept point is the value torch had at that iteration
        assert it.params[name].value == pytest.approx(truth[it.index - 1][0], rel=1e-6)
    assert its[0].graph == 0  # the iteration with the graph is kept


def test_many_parameters_share_the_bound(monkeypatch):
    monkeypatch.setattr(timeline, "TIMELINE_CELLS", 3000)
    monkeypatch.setattr(timeline, "SNAPSHOT_CELLS", 1000)
    rec, _ = _train(120, params=100)
    its = rec.iterations
    assert len(its) <= timeline.MIN_POINTS and its[-1].index == 120
    assert sum(1 for it in its if it.snapshot) <= 1000 // 100 + 2  # + first and last


def test_backward_from_threads_counts_every_call():
    calls, threads = 200, 4
    ws = [torch.tensor(3.0, requires_grad=True) for _ in range(threads)]
    start = threading.Barrier(threads)

    def train(w):
        start.wait()
        for _ in range(calls):
            (w * w).backward()
            with torch.no_grad():
                w -= 0.01 * w.grad
                w.grad = None

    with gradviz.record() as rec:
        pool = [threading.Thread(target=train, args=(w,)) for w in ws]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    assert rec.iterations[-1].index == calls * threads
    assert not [p for p in rec.pitfalls if p.kind == "plateau"], rec.pitfalls
    for w in ws:  # the user's training is what torch alone gives
        assert w.item() == pytest.approx(3.0 * 0.98 ** calls, rel=1e-4)


# --- item 12: the restricted pickle loader ------------------------------------------------------

class _NoData:
    """A pickle that asks numpy for an array of `shape` without giving its numbers."""

    def __init__(self, shape):
        self.shape = shape

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct

        return _reconstruct, (np.ndarray, self.shape, b"f")


@pytest.mark.parametrize("shape", [(10000,), (0,), (2**29,)])
def test_an_array_without_its_numbers_is_refused(shape):
    data = pickle.dumps(_NoData(shape), protocol=4)
    assert len(data) < 100
    with pytest.raises(UnsafePickleError):
        load_array(data)


@pytest.mark.parametrize("data", [b"\x80\x02X\x01\x00\x00\x00\xff.", b"garbage", b"\x80\x04\x95",
                                  pickle.dumps(np.arange(4.0), protocol=4)[:-7]])
def test_damaged_pickles_raise_only_unsafe_pickle_error(data):
    with pytest.raises(UnsafePickleError):
        load_array(data)


def test_a_real_array_still_loads_exactly():
    a = np.asfortranarray(np.arange(10000, dtype=np.float32).reshape(100, 100))
    b = load_array(pickle.dumps(a, protocol=4))
    assert type(b) is np.ndarray and b.dtype == a.dtype and (b == a).all()


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_79_megapixel_picture_is_refused():
    from gradviz.ui.uploads import UploadRefused, read_upload

    with pytest.raises(UploadRefused, match="pixels"):
        read_upload("big.png", _png_header(8900, 8900))


# --- item 13: Recording.from_json raises one documented error --------------------------------

@pytest.mark.parametrize("text", ["[" * 100000 + "]" * 100000, "[]", '{"graphs": 5}', '{"graphs": [3]}',
                                  '{"graphs": [{"index": 0, "nodes": [7]}]}', '{"error": "x"}',
                                  '{"iterations": [1]}', "not json", '{"pitfalls": {"a": 1}}'])
def test_malformed_recordings_raise_recording_format_error(text):
    with pytest.raises(RecordingFormatError):
        Recording.from_json(text)


def test_a_good_recording_still_reads():
    rec, _ = _train(3)
    again = Recording.from_json(rec.to_json())
    assert json.loads(again.to_json()) == json.loads(rec.to_json())


def test_recording_format_error_is_a_value_error():
    assert issubclass(RecordingFormatError, ValueError)
    with pytest.raises(ValueError):
        Recording.from_json(io.StringIO("x").read())


def test_autograd_grad_from_threads_records_every_call():
    """Each thread's grad call is its own: one thread inside autograd.grad does not make
    another thread's call run unrecorded (the 'inside' flag is per thread)."""
    calls, threads = 30, 4
    start = threading.Barrier(threads)
    results = {}

    def work(k):
        x = torch.tensor(float(k + 1), requires_grad=True)
        start.wait()
        got = [torch.autograd.grad(x ** 3, x)[0].item() for _ in range(calls)]
        results[k] = got

    recorder = gradviz.record()
    with recorder as rec:
        pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    for k in range(threads):  # what torch alone gives: 3 x^2
        assert results[k] == [3.0 * (k + 1) ** 2] * calls
    assert recorder.grad_calls == calls * threads  # every call went through the recorder
    numbers = [g.grad_call for g in rec.graphs if g.call == "grad"]
    assert numbers and len(set(numbers)) == len(numbers)
