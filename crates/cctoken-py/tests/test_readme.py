"""The README's "Python" section runs as written: every ```python block of it is executed
(a block with a pytest test is run by pytest, with the package's fixture)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, import_peer


def blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("### Python\n")
    end = text.index("\n### ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.S)


def test_the_section_has_the_examples() -> None:
    found = blocks()
    assert len(found) == 4
    assert "cctoken.requests.BearerAuth" in found[0]
    assert "cctoken.genesys.ApiClient" in found[1]
    assert "AsyncTokenSource" in found[2] and "httpx" in found[2]
    assert "cctoken_emulator" in found[3]


@pytest.mark.parametrize("index", range(3))
def test_example_runs(index: int, capsys: pytest.CaptureFixture[str]) -> None:
    code = blocks()[index]
    for module in re.findall(r"^import (\w+)", code, flags=re.M):
        import_peer(module)
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert out.strip(), "the example prints its result"
    if index == 2:
        assert out.strip().endswith("{200} 1")


def test_fixture_example_passes_under_pytest(tmp_path: Path) -> None:
    test_file = tmp_path / "test_readme_fixture.py"
    test_file.write_text(blocks()[3], encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout
