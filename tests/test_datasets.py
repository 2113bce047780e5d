"""Tests for the shipped datasets in skmoe.datasets."""

# SPDX-License-Identifier: BSD-3-Clause

import fnmatch
import os
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils import Bunch

from skmoe.datasets import load_motorcycle, load_tone

# (loader, n_samples, feature name, target name, first row, CSV file name)
DATASETS = [
    (load_motorcycle, 133, "times", "accel", (2.4, 0.0), "mcycle.csv"),
    (load_tone, 150, "stretchratio", "tuned", (1.35, 1.461), "tonedata.csv"),
]
DATASET_IDS = ["motorcycle", "tone"]
REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "loader, n_samples, feature, target_name, first_row, csv_name",
    DATASETS,
    ids=DATASET_IDS,
)
def test_load_dataset_bunch(
    loader, n_samples, feature, target_name, first_row, csv_name
):
    bunch = loader()

    assert isinstance(bunch, Bunch)
    assert isinstance(bunch.data, np.ndarray)
    assert bunch.data.shape == (n_samples, 1)
    assert bunch.data.dtype == np.float64
    assert bunch.target.shape == (n_samples,)
    assert bunch.target.dtype == np.float64
    assert bunch.data[0, 0] == first_row[0]
    assert bunch.target[0] == first_row[1]
    assert bunch.feature_names == [feature]
    assert bunch.target_names == [target_name]
    assert bunch.frame is None
    assert np.isfinite(bunch.data).all()
    assert np.isfinite(bunch.target).all()


@pytest.mark.parametrize(
    "loader, n_samples, feature, target_name, first_row, csv_name",
    DATASETS,
    ids=DATASET_IDS,
)
def test_load_dataset_has_no_file_names(
    loader, n_samples, feature, target_name, first_row, csv_name
):
    bunch = loader()

    assert set(bunch) == {
        "data",
        "target",
        "frame",
        "feature_names",
        "target_names",
        "DESCR",
    }


def test_load_motorcycle_known_values():
    X, y = load_motorcycle(return_X_y=True)

    assert X.min() == 2.4
    assert X.max() == 57.6
    assert y.min() == -134.0
    assert y.max() == 75.0
    assert len(np.unique(X)) == 94
    assert_allclose(y.mean(), -25.545864661654135)


def test_load_tone_known_values():
    X, y = load_tone(return_X_y=True)

    assert X.min() == 1.35
    assert X.max() == 3.0
    assert y.min() == 1.3
    assert y.max() == 3.494
    assert_allclose(y.mean(), 2.0722133333333335)


@pytest.mark.parametrize(
    "loader, n_samples, feature, target_name, first_row, csv_name",
    DATASETS,
    ids=DATASET_IDS,
)
def test_load_dataset_as_frame(
    loader, n_samples, feature, target_name, first_row, csv_name
):
    bunch = loader(as_frame=True)
    plain = loader()

    assert isinstance(bunch.data, pd.DataFrame)
    assert isinstance(bunch.target, pd.Series)
    assert isinstance(bunch.frame, pd.DataFrame)
    assert list(bunch.data.columns) == [feature]
    assert bunch.target.name == target_name
    assert list(bunch.frame.columns) == [feature, target_name]
    assert bunch.frame.shape == (n_samples, 2)
    assert bunch.frame.dtypes.eq(np.float64).all()
    assert_array_equal(bunch.data.to_numpy(), plain.data)
    assert_array_equal(bunch.target.to_numpy(), plain.target)


@pytest.mark.parametrize(
    "loader, n_samples, feature, target_name, first_row, csv_name",
    DATASETS,
    ids=DATASET_IDS,
)
def test_load_dataset_return_X_y(
    loader, n_samples, feature, target_name, first_row, csv_name
):
    X, y = loader(return_X_y=True)
    X_frame, y_series = loader(return_X_y=True, as_frame=True)

    assert isinstance(X, np.ndarray)
    assert isinstance(y, np.ndarray)
    assert X.shape == (n_samples, 1)
    assert y.shape == (n_samples,)
    assert isinstance(X_frame, pd.DataFrame)
    assert isinstance(y_series, pd.Series)
    assert X_frame.shape == (n_samples, 1)
    assert y_series.shape == (n_samples,)
    assert_array_equal(X_frame.to_numpy(), X)
    assert_array_equal(y_series.to_numpy(), y)


@pytest.mark.parametrize(
    "loader, citation",
    [(load_motorcycle, "Silverman, B. W. (1985)"), (load_tone, "Cohen, E. A. (1980)")],
    ids=DATASET_IDS,
)
def test_load_dataset_descr_cites_source(loader, citation):
    descr = loader().DESCR

    assert citation in descr
    assert "R package" in descr


def test_load_dataset_returns_fresh_arrays():
    first = load_motorcycle()
    first.data[0, 0] = -1.0

    assert load_motorcycle().data[0, 0] == 2.4


@pytest.mark.parametrize("file_name", ["mcycle.csv", "tonedata.csv", "SOURCES.md"])
def test_data_files_are_package_resources(file_name):
    resource = resources.files("skmoe.datasets").joinpath("data", file_name)

    assert resource.is_file()
    assert len(resource.read_bytes()) > 100


def test_data_files_match_package_data_patterns():
    pyproject = REPO_ROOT / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("pyproject.toml is not next to the tests (installed package)")
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["skmoe.datasets"]
    data_folder = resources.files("skmoe.datasets").joinpath("data")

    for resource in data_folder.iterdir():
        relative_name = f"data/{resource.name}"
        assert any(fnmatch.fnmatch(relative_name, p) for p in patterns), relative_name


@pytest.mark.parametrize("file_name", ["mcycle.csv", "tonedata.csv"])
def test_data_files_equal_source_tables(file_name):
    data_home = os.environ.get("SKMOE_DATA")
    if data_home is None or not (Path(data_home) / file_name).is_file():
        pytest.skip(f"SKMOE_DATA does not point to a folder holding {file_name}")
    shipped = resources.files("skmoe.datasets").joinpath("data", file_name)

    assert shipped.read_bytes() == (Path(data_home) / file_name).read_bytes()


def _setuptools_supports_license_expression():
    try:
        version = metadata.version("setuptools")
    except metadata.PackageNotFoundError:
        return False
    major = int(version.split(".")[0])
    # A `license = "<SPDX expression>"` string (PEP 639) needs setuptools >= 77.
    return major >= 77


@pytest.mark.skipif(
    not _setuptools_supports_license_expression(),
    reason="building the wheel offline needs setuptools >= 77 in this environment",
)
def test_wheel_contains_data_files(tmp_path):
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--wheel-dir",
        str(tmp_path),
        str(REPO_ROOT),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("skmoe-*.whl")

    names = zipfile.ZipFile(wheel).namelist()

    assert "skmoe/datasets/data/mcycle.csv" in names
    assert "skmoe/datasets/data/tonedata.csv" in names
    assert "skmoe/datasets/data/SOURCES.md" in names
