"""Tests for the demo run by ``python -m skmoe``."""

# SPDX-License-Identifier: BSD-3-Clause

import re
import subprocess
import sys

import pytest

_ROW_PATTERN = re.compile(
    r"^(?P<name>one polynomial|mixture of 3 polynomials)\b.*?"
    r"\s+(?P<r2>-?\d+\.\d+)\s+(?P<log_likelihood>-?\d+\.\d+)$"
)
_SINGLE = "one polynomial"
_MIXTURE = "mixture of 3 polynomials"
_TIMEOUT_SECONDS = 600


def _run_demo(*args, block_matplotlib=False):
    """Run the demo in a new interpreter and return its standard output."""
    if block_matplotlib:
        # A None entry in sys.modules makes `import matplotlib` raise
        # ImportError, as if it were not installed.
        code = (
            "import runpy, sys\n"
            "sys.modules['matplotlib'] = None\n"
            f"sys.argv = ['skmoe', *{list(args)!r}]\n"
            "runpy.run_module('skmoe', run_name='__main__')\n"
        )
        command = [sys.executable, "-c", code]
    else:
        command = [sys.executable, "-m", "skmoe", *args]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _parse_table(output):
    """Return {model: (R2, log-likelihood per row)} from the demo's table.

    The model is "one polynomial" or "mixture of 3 polynomials", without the
    degree that follows in the table.
    """
    rows = {}
    for line in output.splitlines():
        match = _ROW_PATTERN.match(line.strip())
        if match:
            rows[match["name"]] = (float(match["r2"]), float(match["log_likelihood"]))
    return rows


@pytest.fixture(scope="module")
def demo_output():
    return _run_demo("--no-plot")


def test_demo_mixture_beats_single_polynomial(demo_output):
    rows = _parse_table(demo_output)

    assert set(rows) == {_SINGLE, _MIXTURE}
    single_r2, single_log_likelihood = rows[_SINGLE]
    mixture_r2, mixture_log_likelihood = rows[_MIXTURE]
    assert mixture_log_likelihood > single_log_likelihood
    assert mixture_r2 > single_r2
    assert 0.0 < single_r2 < 1.0
    assert 0.0 < mixture_r2 < 1.0
    assert "Better: the mixture of 3 polynomials." in demo_output


def test_demo_describes_setup(demo_output):
    assert "133 rows" in demo_output
    assert "5-fold cross-validation, shuffled with seed 0" in demo_output
    assert "Plot saved" not in demo_output
    assert "No plot" not in demo_output


def test_demo_other_seed():
    output = _run_demo("--no-plot", "--seed", "3")

    rows = _parse_table(output)
    assert "shuffled with seed 3" in output
    assert rows[_MIXTURE][1] > rows[_SINGLE][1]


def test_demo_saves_plot(tmp_path):
    pytest.importorskip("matplotlib")
    plot_path = tmp_path / "motorcycle.png"

    output = _run_demo("--plot", str(plot_path))

    assert f"Plot saved to {plot_path}" in output
    assert plot_path.is_file()
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_without_matplotlib(tmp_path):
    plot_path = tmp_path / "motorcycle.png"

    output = _run_demo("--plot", str(plot_path), block_matplotlib=True)

    assert 'pip install "skmoe[plot]"' in output
    assert not plot_path.exists()
    assert len(_parse_table(output)) == 2


def test_demo_help_lists_options():
    result = subprocess.run(
        [sys.executable, "-m", "skmoe", "--help"],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_SECONDS,
    )

    assert result.returncode == 0
    assert "--plot PATH" in result.stdout
    assert "--no-plot" in result.stdout
    assert "--seed" in result.stdout

