"""Shared fixtures: real data tables and a matplotlib fixture."""

# SPDX-License-Identifier: BSD-3-Clause

import os
from pathlib import Path

import pytest


def data_path(filename):
    """Return the path of a table in the SKMOE_DATA folder, or skip the test."""
    folder = os.environ.get("SKMOE_DATA")
    if not folder:
        pytest.skip(f"{filename} needs the SKMOE_DATA folder, which is not set")
    path = Path(folder) / filename
    if not path.is_file():
        pytest.skip(f"{filename} is not in SKMOE_DATA={folder}")
    return path


@pytest.fixture
def pyplot():
    """Return matplotlib.pyplot on the Agg backend and close figures afterwards."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")
