"""Real PyTorch learning programs (tests/programs/, see its README) run unchanged on tinynet
when ``torch`` is replaced by ``tinynet`` through a module alias, and give torch's numbers.

Each program runs once on tinynet (in a child process; the program file is never edited) and,
when torch is installed, once on torch; torch's results are kept in pytest's cache between
sessions, keyed by the programs, the harness and the torch version. A program that does not yet
run or match on tinynet is marked ``xfail(strict=True)`` with the first error it hits and the
list of everything else it needs (found by patching each gap in turn): when tinynet gains what
a program needs, its test passes, the strict mark turns that into a failure, and the mark is
to be removed.
"""
import hashlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
sys.path.insert(0, str(PROGRAMS_DIR))
import harness  # noqa: E402
import suite  # noqa: E402

NAMES = list(harness.PROGRAMS)
HAS_TORCH = importlib.util.find_spec("torch") is not None

# The first error on tinynet, then the rest of what the program needs.
NOT_YET_RUNNING: dict[str, str] = {}
NOT_YET_MATCHING = dict(NOT_YET_RUNNING)  # a program that does not run cannot match


def _params(table):
    return [pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=table[name])]
                         if name in table else []) for name in NAMES]


def _torch_key() -> str:
    """Changes whenever anything that shapes torch's results changes."""
    digest = hashlib.sha256()
    for path in sorted(PROGRAMS_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(PROGRAMS_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    digest.update(importlib.metadata.version("torch").encode())
    digest.update(sys.version.encode())
    digest.update(os.environ.get("TINYNET_DATA_DIR", "").encode())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def program_runs(request):
    """{"tinynet": {name: result}, "torch": {name: result}} (no "torch" without torch)."""
    cache_name = "tinynet/programs/torch"
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    handles = {"tinynet": harness.start("tinynet", NAMES)}
    torch_results = None
    if HAS_TORCH:
        key = _torch_key()
        cached = (cache.get(cache_name, None) if cache is not None else None) or {}
        if cached.get("key") == key:
            torch_results = cached["results"]
        else:
            handles["torch"] = harness.start("torch", NAMES)
    runs = {framework: harness.collect(handle) for framework, handle in handles.items()}
    if cache is not None and "torch" in runs and all(r["ok"] for r in runs["torch"].values()):
        cache.set(cache_name, {"key": key, "results": runs["torch"]})
    if torch_results is not None:
        runs["torch"] = torch_results
    return runs


def _describe_failure(result: dict) -> str:
    where = result.get("where")
    return (f"at {where}\n" if where else "") + (result.get("traceback") or result.get("error", ""))


@pytest.mark.parametrize("name", _params(NOT_YET_RUNNING))
def test_runs_unchanged_on_tinynet(program_runs, name):
    result = program_runs["tinynet"][name]
    assert result["ok"], f"{name} failed on tinynet {_describe_failure(result)}"


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("name", NAMES)
def test_program_runs_on_torch(program_runs, name):
    """The suite's own check: every program is a working PyTorch program."""
    result = program_runs["torch"][name]
    assert result["ok"], f"{name} failed on torch {_describe_failure(result)}"


@pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
@pytest.mark.parametrize("name", _params(NOT_YET_MATCHING))
def test_matches_torch(program_runs, name):
    ref, got = program_runs["torch"][name], program_runs["tinynet"][name]
    assert ref["ok"], f"{name} failed on torch {_describe_failure(ref)}"
    assert got["ok"], f"{name} failed on tinynet {_describe_failure(got)}"
    problems = harness.compare(harness.PROGRAMS[name], ref["values"], got["values"])
    problems += got.get("readback_errors", [])
    assert not problems, f"{name} differs from torch:\n" + "\n".join(problems)


def test_every_program_file_is_in_the_table():
    files = {p.stem for p in PROGRAMS_DIR.glob("*.py")} - {"harness", "suite"}
    assert files == set(NAMES), f"programs without a row: {sorted(files - set(NAMES))}; " \
                                f"rows without a file: {sorted(set(NAMES) - files)}"


def test_alias_gives_tinynet_modules_under_torch_names():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import harness; harness.install_alias(); "
            "import torch, torch.nn as nn, torch.nn.functional as F, torch.optim, tinynet; "
            "assert torch is tinynet and nn is tinynet.nn and F is tinynet.nn.functional; "
            "assert torch.optim is tinynet.optim; print('ok')")
    out = subprocess.run([sys.executable, "-c", code, str(PROGRAMS_DIR)], capture_output=True,
                         text=True, env=dict(os.environ, PYTHONPATH=str(PROGRAMS_DIR.parents[1])))
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("check, ref, got, passes", [
    (suite.Check("x", "same"), {"x": [1, 2]}, {"x": [1, 2]}, True),
    (suite.Check("x", "same"), {"x": [1, 2]}, {"x": [1, 3]}, False),
    (suite.Check("x", "close", 1e-6, 1e-5), {"x": 1.0}, {"x": 1.000001}, True),
    (suite.Check("x", "close", 1e-6, 1e-5), {"x": 1.0}, {"x": 1.001}, False),
    (suite.Check("x", "within", 0.1), {"x": 2.0}, {"x": 2.05}, True),
    (suite.Check("x", "within", 0.1), {"x": 2.0}, {"x": 2.2}, False),
    (suite.Check("x", "below", 1.0), {"x": 0.5}, {"x": 1.5}, False),
    (suite.Check("x", "within", 0.1), {"x": [1.0, 2.0]}, {"x": [1.0]}, False),
    (suite.Check("x", "within", 0.1), {"x": 1.0}, {}, False),
])
def test_checks_tell_matching_from_differing_numbers(check, ref, got, passes):
    assert (check.run(ref, got) is None) is passes
