"""Tests that the gallery scripts and the user guide's code blocks run."""

# SPDX-License-Identifier: BSD-3-Clause

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


_ROOT = Path(__file__).resolve().parents[1]
_EXAMPLES = sorted((_ROOT / "examples").glob("plot_*.py"))
_GUIDE_PAGES = [_ROOT / "docs" / "index.rst"] + sorted(
    (_ROOT / "docs" / "user_guide").glob("*.rst")
)

# Gallery scripts that read a table from the SKMOE_DATA folder.
_DATA_TABLES = {
    "plot_california_svr.py": "california_housing.csv",
    "plot_top_k_routing.py": "california_housing.csv",
}

# Pages whose code blocks import an optional package.
_PAGE_REQUIREMENTS = {
    "scaling.rst": "distributed",
}

# Each script gets a time limit above the one-minute budget of a gallery example.
_TIMEOUT_SECONDS = 180

_CODE_BLOCK = re.compile(
    r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", flags=re.MULTILINE
)


def _run_python_file(path, cwd):
    # One thread per parallel library, as in the documentation build: on
    # these small problems the threads mostly wait for each other.
    environment = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "NUMBA_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_SECONDS,
    )


def _extract_code_blocks(rst_text):
    blocks = []
    for match in _CODE_BLOCK.finditer(rst_text):
        lines = [line[3:] for line in match.group(1).splitlines()]
        blocks.append("\n".join(lines).strip() + "\n")
    return blocks


# The documentation build runs every gallery script too, so CI deselects
# these with -m "not examples" when it builds the docs.
@pytest.mark.examples
@pytest.mark.parametrize("script", _EXAMPLES, ids=lambda path: path.name)
def test_example_script_runs(script, tmp_path):
    table = _DATA_TABLES.get(script.name)
    if table is not None:
        data_folder = os.environ.get("SKMOE_DATA", "")
        if not Path(data_folder, table).is_file():
            pytest.skip(f"{table} not found in SKMOE_DATA={data_folder!r}")

    completed = _run_python_file(script, tmp_path)

    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    assert completed.stdout.strip() != ""


@pytest.mark.parametrize(
    "page", _GUIDE_PAGES, ids=lambda path: path.relative_to(_ROOT).as_posix()
)
def test_user_guide_code_blocks_run(page, tmp_path):
    if page.name in _PAGE_REQUIREMENTS:
        pytest.importorskip(_PAGE_REQUIREMENTS[page.name],
                            reason=f"{page.name} needs the 'dask' extra")
    blocks = _extract_code_blocks(page.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip(f"{page.name} has no Python code block")
    program = tmp_path / "user_guide_blocks.py"
    program.write_text("\n".join(blocks), encoding="utf-8")

    completed = _run_python_file(program, tmp_path)

    assert completed.returncode == 0, completed.stderr
