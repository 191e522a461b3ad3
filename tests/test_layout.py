"""The tree keeps showing the design: small files, a core within its budget, and imports
that point one way (backend <- autograd <- ops <- tensor <- nn/optim <- data/examples).

Size is counted two ways. A file's *lines* are what ``wc -l`` prints: every file of
tinynet/ stays at or under ``MAX_FILE_LINES`` (one sitting), except the files named in
``FILE_BUDGETS`` with their own budget and reason. The core's *code lines* are lines that
hold code: blank lines, comments and docstrings are not counted (as tinygrad counts its
own size), so explaining the code never costs budget.
"""
import ast
import io
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinynet"
MAX_FILE_LINES = 250
FILE_BUDGETS: dict[str, int] = {}  # "path/relative/to/tinynet.py": lines, with the reason
CORE = ["autograd.py", "grad_mode.py", "versions.py", "arguments.py", "promotion.py", "tensor.py",
        "tensor_math.py", "tensor_shape.py", "tensor_inplace.py", "tensor_convert.py",
        "tensor_numpy.py", "ops", "nn", "optim"]
CORE_CODE_BUDGET = 3870  # code lines of the engine, ops, tensor, nn and optim together
# (3400 before the CNN chapter, whose ops, layers and buffers add 470 code lines)


def code_lines(path: Path) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    source = path.read_text(encoding="utf-8")
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstring_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.ENDMARKER):
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstring_lines)


def python_files(*parts: str) -> list[Path]:
    files = []
    for part in parts:
        path = PACKAGE / part
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return files


@pytest.mark.parametrize("path", python_files("."), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_file_fits_one_sitting(path):
    name = str(path.relative_to(PACKAGE))
    budget = FILE_BUDGETS.get(name, MAX_FILE_LINES)
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= budget, (f"tinynet/{name} has {lines} lines, over its budget of {budget}: "
                             "split it where a seam exists")


def test_the_core_stays_within_its_budget():
    counts = {str(p.relative_to(PACKAGE)): code_lines(p) for p in python_files(*CORE)}
    total = sum(counts.values())
    largest = sorted(counts.items(), key=lambda kv: -kv[1])[:5]
    assert total <= CORE_CODE_BUDGET, (f"the core has {total} code lines, over its budget of "
                                       f"{CORE_CODE_BUDGET}; largest files: {largest}")


def test_code_lines_ignore_docstrings_comments_and_blanks(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Doc\nstring."""\n\n# comment\ndef f(x):\n    """Doc."""\n'
                      '    return (x +\n            1)  # why\n')
    assert code_lines(sample) == 3


# ---- imports point one way ------------------------------------------------------------------
def imports_of(path: Path) -> set[str]:
    """The tinynet modules that a file imports anywhere in it (function bodies included)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            found |= {name for name in [target] + names if name.startswith("tinynet")}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("tinynet")}
    return found


def module_graph() -> dict[str, set[str]]:
    """Module -> the tinynet modules it imports (names of objects mapped to their module)."""
    files = {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
             .removesuffix(".__init__"): p for p in python_files(".")}
    graph = {}
    for module, path in files.items():
        edges = set()
        for name in imports_of(path):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                edges.add(name)
        graph[module] = edges
    return graph


def test_no_import_cycles():
    graph = module_graph()
    state: dict[str, int] = {}   # 1: on the current path, 2: done

    def visit(module, path):
        state[module] = 1
        for target in sorted(graph[module]):
            if target.startswith(module + "."):
                continue  # a package importing its own submodules is not a cycle
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


LAYERS = {  # a module may import only from its own layer or the layers listed
    "tinynet.backend": set(),
    "tinynet.grad_mode": set(),
    "tinynet.versions": set(),
    "tinynet.autograd": {"tinynet.backend", "tinynet.grad_mode", "tinynet.versions"},
    "tinynet.ops": {"tinynet.backend", "tinynet.autograd"},
}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_dependencies_point_down(layer):
    allowed = LAYERS[layer] | {layer}
    for module, targets in module_graph().items():
        if module != layer and not module.startswith(layer + "."):
            continue
        for target in targets:
            assert any(target == a or target.startswith(a + ".") for a in allowed), (
                f"{module} imports {target}: {layer} may import only {sorted(LAYERS[layer])}")
