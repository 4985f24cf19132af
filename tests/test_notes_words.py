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
    assert ko == tr(said.NOT_RECORDED, "ko", what="backward() call 3", why="ValueError: a: b")
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
