"""The README's picture is what `gradviz render --lesson 1` makes today.

Graphviz measures text with the fonts installed, so the same graph has other widths
and coordinates on another machine: the comparison is of what the picture says (every
element, its texts, colours, ids and titles), never of where dot placed it.
"""
import subprocess
import xml.etree.ElementTree as ET

from conftest import ROOT, gradviz_cmd

# attributes that only say where things are (they change with the fonts installed)
GEOMETRY = {"x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "rx", "ry", "width", "height",
            "viewBox", "points", "d", "transform"}


def structure(svg: str) -> list[tuple]:
    """Every element in document order: its tag, its non-geometry attributes, its text."""
    out = []
    for el in ET.fromstring(svg).iter():
        attrs = tuple(sorted((k, v) for k, v in el.attrib.items() if k not in GEOMETRY))
        out.append((el.tag.rsplit("}", 1)[-1], attrs, (el.text or "").strip()))
    return out


def test_structure_ignores_layout_only():
    a = '<svg width="904pt" viewBox="0 0 904 100"><g id="n"><text x="1" y="2">w</text></g></svg>'
    b = '<svg width="916pt" viewBox="0 0 916 100"><g id="n"><text x="3" y="4">w</text></g></svg>'
    c = '<svg width="916pt" viewBox="0 0 916 100"><g id="n"><text x="3" y="4">a</text></g></svg>'
    assert structure(a) == structure(b)
    assert structure(a) != structure(c)


def test_readme_svg_is_reproducible(tmp_path):
    r = subprocess.run(gradviz_cmd() + ["render", "--lesson", "1", "-o", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    fresh = (tmp_path / "01_chain_rule-1.svg").read_text()
    committed = (ROOT / "docs" / "01_chain_rule-1.svg").read_text()
    assert structure(fresh) == structure(committed), (
        "docs/01_chain_rule-1.svg is stale: run `gradviz render --lesson 1 -o docs` and commit it")
    assert "docs/01_chain_rule-1.svg" in (ROOT / "README.md").read_text()
