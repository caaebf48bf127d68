"""A test of the test setup: `python -m pytest` must fail a notebook whose stored outputs no longer match what
its code prints.

The book is built from the committed outputs (`execute_notebooks: "off"` in _config.yml), so nbval, run by the
repository's pytest configuration, is the only check that those outputs are current. These tests run that
configuration -- pyproject.toml's addopts, hence `--nbval` and the same sanitize file -- in a subprocess on
copies of a tiny fixture notebook, one of them left as committed and the others with one stored output changed.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "notebook_fixtures" / "tiny.ipynb"


def _stale(nb: dict, cell: int, old: str, new: str) -> dict:
    """A copy of notebook `nb` whose `cell`-th code cell shows `new` where it showed `old` (exactly once)."""
    nb = json.loads(json.dumps(nb))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    text = json.dumps(code[cell]["outputs"])
    assert text.count(old) == 1, (old, text)
    code[cell]["outputs"] = json.loads(text.replace(old, new))
    return nb


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Run the repository's pytest configuration once on four copies; map each copy's name to its failed cells."""
    tmp = tmp_path_factory.mktemp("nbval")
    nb = json.loads(FIXTURE.read_text())
    copies = {
        "unchanged": nb,
        "stale_stream": _stale(nb, 0, "3.141593", "3.141592"),  # a printed number off in the last digit
        "stale_result": _stale(nb, 1, "385", "386"),  # an execute_result
        "other_timing": _stale(nb, 2, "took 0.", "took 9."),  # a wall-clock time: the sanitize file masks it
    }
    for name, content in copies.items():
        (tmp / f"{name}.ipynb").write_text(json.dumps(content))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp),
         "-n", "0", "-q", "-rA", *(str(tmp / f"{n}.ipynb") for n in copies)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    failed = {name: [] for name in copies}
    seen = {name: 0 for name in copies}
    for outcome, name, cell in re.findall(r"^(PASSED|FAILED) \S*?(\w+)\.ipynb::(Cell \d+)", proc.stdout, re.MULTILINE):
        seen[name] += 1
        if outcome == "FAILED":
            failed[name].append(cell)
    assert all(count == 3 for count in seen.values()), (seen, proc.stdout)  # three code cells each ran
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 1 = some tests failed (not a usage error)
    return failed


def test_committed_notebook_passes(outcomes):
    assert outcomes["unchanged"] == []


def test_changed_printed_number_fails(outcomes):
    assert outcomes["stale_stream"] == ["Cell 0"]  # nbval numbers code cells from 0


def test_changed_execute_result_fails(outcomes):
    assert outcomes["stale_result"] == ["Cell 1"]


def test_timings_are_sanitized_with_the_repository_file(outcomes):
    assert outcomes["other_timing"] == []


# nbval executes a cell whose stored execution_count is None but does not compare its outputs, and the build
# executes nothing: a chapter committed with cleared outputs would pass and render blank. So every chapter
# must be stored as run top to bottom in one fresh kernel (what `jupyter nbconvert --execute` writes).
BOOK_NOTEBOOKS = sorted((ROOT / "book").rglob("*.ipynb"))


def _stored_as_run_in_order(nb: dict) -> bool:
    counts = [c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"]
    return counts == list(range(1, len(counts) + 1))


def test_the_check_flags_cleared_and_reordered_notebooks():
    nb = json.loads(FIXTURE.read_text())
    assert _stored_as_run_in_order(nb)
    cleared = json.loads(FIXTURE.read_text())
    for cell in cleared["cells"]:
        if cell["cell_type"] == "code":
            cell["execution_count"], cell["outputs"] = None, []
    reordered = json.loads(FIXTURE.read_text())
    code = [c for c in reordered["cells"] if c["cell_type"] == "code"]
    code[0]["execution_count"], code[1]["execution_count"] = 2, 1
    assert not _stored_as_run_in_order(cleared)
    assert not _stored_as_run_in_order(reordered)


@pytest.mark.parametrize("path", BOOK_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_chapter_is_stored_executed_top_to_bottom(path):
    assert _stored_as_run_in_order(json.loads(path.read_text(encoding="utf-8"))), (
        f"{path.relative_to(ROOT)}: re-execute it (README, 'Re-execute everything') before committing"
    )
