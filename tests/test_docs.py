"""Every ```python block in README.md and docs/*.md runs, in order, file by file, so the
docs never drift from the code."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_code_blocks_run(path, tmp_path, monkeypatch):
    blocks = BLOCK.findall(path.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip(f"{path.name} has no python blocks")
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    namespace = {"__name__": f"doc_{path.stem}"}
    for number, code in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{path.name} block {number}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{path.name}, python block {number} failed: {exc!r}\n"
                                 f"{code}") from exc
