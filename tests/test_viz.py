"""The graph pictures: DOT text of a known graph, the text tree, and rendering with dot."""
import os
import re
import shutil

import pytest

import tinynet as tn
from conftest import small_graph
from tinynet import viz



def parse_dot(text):
    """{id: label} and the set of (source, target) edges of DOT text from to_dot."""
    labels = dict(re.findall(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)"', text, re.M))
    edges = set(re.findall(r"^\s*(n\d+) -> (n\d+);", text, re.M))
    return labels, edges


def test_dot_has_one_node_per_op_and_leaf_and_the_data_flow_edges(backend):
    a, b, c, loss = small_graph()
    labels, edges = parse_dot(viz.to_dot(loss, params={"a": a, "c": c}))
    by_label = {label.split("\\n")[0]: node for node, label in labels.items()}
    assert set(by_label) == {"Sum", "Add", "Mul", "a", "c", "(2, 3) float32"}
    assert labels[by_label["Sum"]] == "Sum\\n() float32"
    assert labels[by_label["Add"]] == "Add\\n(2, 3) float32"
    assert labels[by_label["c"]] == "c\\n(3,) float32"
    n = by_label
    assert edges == {(n["a"], n["Mul"]), (n["(2, 3) float32"], n["Mul"]),
                     (n["Mul"], n["Add"]), (n["c"], n["Add"]), (n["Add"], n["Sum"])}
    assert n["Sum"] == "n0"  # the root first: ids are stable


def test_dot_is_deterministic_and_marks_constants():
    text = viz.to_dot(small_graph()[3])
    assert text == viz.to_dot(small_graph()[3])
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    assert text.count("style=dashed") == 1  # b, the only constant
    assert text.count("shape=box") == 3


def test_leaves_are_named_by_params_identity_then_by_name():
    a, b, c, loss = small_graph()
    b.name = 'the "b"'
    labels, _ = parse_dot(viz.to_dot(loss, params={"weight": a}))
    firsts = {label.split("\\n")[0] for label in labels.values()}
    assert "weight" in firsts and 'the \\"b\\"' in firsts  # quotes escaped
    assert "(3,) float32" in firsts  # c: no name, so its shape and dtype
    other = tn.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    labels, _ = parse_dot(viz.to_dot(loss, params={"weight": other}))  # equal values,
    assert not any(label.startswith("weight") for label in labels.values())  # not a


def test_grad_shapes_after_backward_with_retain_graph():
    a, b, c, loss = small_graph()
    assert "grad" not in viz.to_dot(loss)
    loss.backward(retain_graph=True)
    text = viz.to_dot(loss, params={"a": a, "c": c})
    assert 'a\\n(2, 3) float32\\ngrad (2, 3)' in text and 'c\\n(3,) float32\\ngrad (3,)' in text
    assert "grad" not in viz.to_dot(loss, show_grad=False)


def test_a_freed_graph_is_a_clear_error():
    loss = small_graph()[3]
    loss.backward()
    for draw in (viz.to_dot, viz.format_graph):
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            draw(loss)


def test_a_leaf_alone_is_one_node():
    x = tn.ones(2, requires_grad=True)
    labels, edges = parse_dot(viz.to_dot(x, params={"x": x}))
    assert labels == {"n0": "x\\n(2,) float32"} and edges == set()


def test_format_graph_indents_inputs_and_refers_back_to_shared_nodes(backend):
    a, b, c, loss = small_graph()
    loss = loss + (a * b).sum() * 0  # a and b reached a second time, via another Mul
    loss.backward(retain_graph=True)
    lines = viz.format_graph(loss, params={"a": a, "c": c}).splitlines()
    assert lines[0] == "Add () float32"
    assert lines[1] == "  Sum () float32"
    assert lines[2:7] == ["    Add (2, 3) float32",
                          "      Mul (2, 3) float32",
                          "        a (2, 3) float32  grad (2, 3)",
                          "        (2, 3) float32  (constant)",
                          "      c (3,) float32  grad (3,)"]
    seen_again = [line.strip() for line in lines if line.endswith("(see above)")]
    assert seen_again == ["a (2, 3) float32  grad (2, 3)  (see above)",
                          "(2, 3) float32  (constant)  (see above)"]


def test_long_chains_need_no_recursion():
    x = tn.ones(1, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    assert viz.to_dot(y).count("shape=box") == 3000
    assert len(viz.format_graph(y).splitlines()) == 3000 * 2 + 1


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_render_writes_the_picture(tmp_path, suffix):
    a, b, c, loss = small_graph()
    path = tmp_path / f"graph.{suffix}"
    assert viz.render(loss, path, params={"a": a}) == str(path)
    data = path.read_bytes()
    if suffix == "svg":
        assert data.startswith(b"<?xml") or b"<svg" in data
        assert b"Mul" in data
    else:
        assert data.startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would make it


def test_render_without_dot_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="apt install graphviz") as info:
        viz.render(small_graph()[3], tmp_path / "g.svg")
    assert "brew install graphviz" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_render_rejects_other_formats(tmp_path):
    with pytest.raises(ValueError, match="graph.pdf"):
        viz.render(small_graph()[3], tmp_path / "graph.pdf")
