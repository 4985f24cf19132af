"""Recording and graph notes are kept in English and shown in the reader's language."""
from __future__ import annotations

import torch

import gradviz
from gradviz.render.html import recording_html
from gradviz.words import tr
from gradviz.words import notes as said
from gradviz.words.notes import note, shown


def test_every_note_has_korean():
    for t in said.TEMPLATES:
        assert tr(t, "ko") != t, t


def test_a_kept_note_reads_in_korean_with_its_own_values():
    kept = note(said.NOT_RECORDED, what="backward() call 3", why="ValueError: a: b")
    assert kept == "gradviz could not record backward() call 3: ValueError: a: b"
    ko = shown(kept, "ko")
    assert ko == tr(said.NOT_RECORDED, "ko", what=tr(said.BACKWARD_CALL, "ko", n=3), why="ValueError: a: b")
    assert "ValueError: a: b" in ko and ko != kept
    assert shown(note(said.GRAPH_CUT, n=50000), "ko") == tr(said.GRAPH_CUT, "ko", n=50000)
    assert shown("a note from no template", "ko") == "a note from no template"
    assert shown(kept, "en") == kept


def test_graph_notes_on_the_korean_page():
    from torch.autograd.functional import jacobian

    with gradviz.record() as rec:
        jacobian(lambda t: t ** 2, torch.tensor([1.0, 2.0]), vectorize=True)
    (g,) = rec.graphs
    assert g.notes == [note(said.GRAD_BATCHED)]
    page = recording_html(rec, lang="ko")
    assert tr(said.GRAD_BATCHED, "ko") in page


def _hangul(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def _script(tmp_path, body: str):
    import textwrap

    from gradviz.runner import run_script

    path = tmp_path / "s.py"
    path.write_text(textwrap.dedent(body))
    return run_script(path)


def test_dead_gradient_notes_read_in_korean_on_the_page(tmp_path):
    rec = _script(tmp_path, """
        import torch
        w = torch.tensor([1.0, 2.0], requires_grad=True)
        b = torch.tensor(-10.0, requires_grad=True)
        z = w * torch.tensor([1.0, 1.0]) + b
        h = torch.relu(z)
        h.sum().backward()
        k = w.detach() * 2
        """)
    notes = rec.graph.notes
    assert any("dead ReLU" in n and "on line 6 (z)" in n for n in notes), notes
    page = recording_html(rec, lang="ko")
    for n in notes:
        ko = shown(n, "ko")
        assert ko != n and _hangul(ko), n
        assert " on line" not in ko and ko in page
    assert any("(6번째 줄, z)" in shown(n, "ko") for n in notes)


def test_what_could_not_be_recorded_and_the_runner_notes_read_in_korean(tmp_path):
    kept = note(said.NOT_RECORDED, what=note(said.GRAD_CALL, n=2), why="ValueError: x")
    ko = shown(kept, "ko")
    assert "call 2" not in ko and "ValueError: x" in ko and _hangul(ko)
    rec = _script(tmp_path, """
        import torch
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        y = (x * 3).sum()
        """)
    assert rec.notes == [note(said.NEVER_CALLED_DRAWN, names="y")]
    for n in rec.notes + [note(said.KEPT_BEFORE_STOP, n=3), note(said.HANDBACK_DAMAGED)]:
        ko = shown(n, "ko")
        assert _hangul(ko) and "backward()" not in ko.replace("backward()를", ""), ko
