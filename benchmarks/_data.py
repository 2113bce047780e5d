"""Load and prepare the benchmark tables, and describe the machine they run on."""

# SPDX-License-Identifier: BSD-3-Clause

import functools
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

__all__ = [
    "CLASSIFICATION_TABLES",
    "REGRESSION_TABLES",
    "SHIPPED_TABLES",
    "Table",
    "california_split",
    "data_folder",
    "describe_machine",
    "load_subsample",
    "load_table",
]

# Tables read from the folder named by SKMOE_DATA; the shipped ones come with
# skmoe (or from that folder when skmoe.datasets is not importable).
REGRESSION_TABLES = (
    "california_housing",
    "concrete_uci",
    "ccpp",
    "abalone",
    "wine_quality",
    "motorcycle",
    "tone",
)
CLASSIFICATION_TABLES = ("letter_recognition", "adult")
SHIPPED_TABLES = ("motorcycle", "tone")


@dataclass
class Table:
    """A prepared table: numeric features, target and task."""

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: list
    note: str


def data_folder():
    """Return the folder named by SKMOE_DATA, or None when it is unset or missing."""
    folder = os.environ.get("SKMOE_DATA")
    if not folder or not Path(folder).is_dir():
        return None
    return Path(folder)


def _read_csv(file_name):
    folder = data_folder()
    if folder is None or not (folder / file_name).is_file():
        raise FileNotFoundError(
            f"{file_name} not found: set SKMOE_DATA to the folder that contains it."
        )
    return pd.read_csv(folder / file_name)


def _regression_table(name, frame, target, note, log_target=False):
    y = frame.pop(target).to_numpy(dtype=np.float64)
    if log_target:
        y = np.log(y)
    return Table(
        name=name,
        X=frame.to_numpy(dtype=np.float64),
        y=y,
        task="regression",
        feature_names=list(frame.columns),
        note=note,
    )


def _load_california_housing():
    frame = _read_csv("california_housing.csv").dropna()
    frame = pd.get_dummies(frame, columns=["ocean_proximity"], dtype=np.float64)
    return _regression_table(
        "california_housing",
        frame,
        "median_house_value",
        "rows with NaN total_bedrooms dropped, log target, ocean_proximity one-hot",
        log_target=True,
    )


def _load_concrete_uci():
    frame = _read_csv("concrete_uci.csv")
    return _regression_table(
        "concrete_uci", frame, frame.columns[-1], "target is the last column"
    )


def _load_ccpp():
    return _regression_table("ccpp", _read_csv("ccpp.csv"), "PE", "target PE")


def _load_abalone():
    frame = pd.get_dummies(_read_csv("abalone.csv"), columns=["Sex"], dtype=np.float64)
    return _regression_table("abalone", frame, "Rings", "Sex one-hot, target Rings")


def _load_wine_quality():
    frame = _read_csv("wine_quality.csv")
    frame["color"] = (frame["color"] == "red").astype(np.float64)
    return _regression_table(
        "wine_quality", frame, "quality", "color as a 0/1 column (1 = red)"
    )


def _load_shipped(name, loader_name, csv_name):
    try:
        import skmoe.datasets

        X, y = getattr(skmoe.datasets, loader_name)(return_X_y=True, as_frame=True)
        frame = X.copy()
        frame["__target__"] = np.asarray(y, dtype=np.float64)
        source = f"skmoe.datasets.{loader_name}"
    except (ImportError, AttributeError):
        frame = _read_csv(csv_name)
        frame = frame.rename(columns={frame.columns[-1]: "__target__"})
        source = f"{csv_name} from SKMOE_DATA"
    return _regression_table(name, frame, "__target__", f"read with {source}")


def _load_letter_recognition():
    frame = _read_csv("letter_recognition.csv")
    y = frame.pop("lettr").to_numpy()
    return Table(
        name="letter_recognition",
        X=frame.to_numpy(dtype=np.float64),
        y=y,
        task="classification",
        feature_names=list(frame.columns),
        note="26 classes, 16 integer features",
    )


def _load_adult():
    frame = _read_csv("adult.csv").drop(columns=["split"])
    y = (frame.pop("income").str.strip() == ">50K").astype(np.int64).to_numpy()
    text_columns = list(frame.select_dtypes(exclude="number").columns)
    frame = pd.get_dummies(
        frame, columns=text_columns, dummy_na=True, dtype=np.float64
    )
    # A NaN column that is all zero carries no information.
    frame = frame.loc[:, frame.std() > 0]
    return Table(
        name="adult",
        X=frame.to_numpy(dtype=np.float64),
        y=y,
        task="classification",
        feature_names=list(frame.columns),
        note=(
            "train and test parts pooled for cross-validation; text columns "
            "one-hot with NaN as its own category; target income >50K"
        ),
    )


_LOADERS = {
    "california_housing": _load_california_housing,
    "concrete_uci": _load_concrete_uci,
    "ccpp": _load_ccpp,
    "abalone": _load_abalone,
    "wine_quality": _load_wine_quality,
    "motorcycle": lambda: _load_shipped("motorcycle", "load_motorcycle", "mcycle.csv"),
    "tone": lambda: _load_shipped("tone", "load_tone", "tonedata.csv"),
    "letter_recognition": _load_letter_recognition,
    "adult": _load_adult,
}


def load_table(name):
    """Load one benchmark table by name, prepared as documented in the README.

    Raises FileNotFoundError when the table needs SKMOE_DATA and it is unset.
    """
    if name not in _LOADERS:
        raise ValueError(f"Unknown table {name!r}; choose from {sorted(_LOADERS)}.")
    return _LOADERS[name]()


@functools.lru_cache(maxsize=4)
def load_subsample(name, max_rows, seed=0):
    """Return (task, X, y) of a table, cut to `max_rows` random rows if given.

    Cached, so that a worker process that runs several folds of the same
    table reads it once.
    """
    table = load_table(name)
    X, y = table.X, table.y
    if max_rows is not None and len(y) > max_rows:
        rows = np.sort(
            np.random.default_rng(seed).choice(len(y), max_rows, replace=False)
        )
        X, y = X[rows], y[rows]
    return table.task, X, y


def california_split(n_train=None, random_state=0):
    """Return the scaled 75/25 split of California housing.

    The StandardScaler is fitted on the training part. With `n_train`, the
    first `n_train` rows of the (shuffled) training part are kept and the test
    part is cut to a third of that, so quick runs stay small.
    """
    table = load_table("california_housing")
    X_train, X_test, y_train, y_test = train_test_split(
        table.X, table.y, test_size=0.25, random_state=random_state
    )
    if n_train is not None:
        X_train, y_train = X_train[:n_train], y_train[:n_train]
        n_test = max(n_train // 3, 1)
        X_test, y_test = X_test[:n_test], y_test[:n_test]
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe_machine():
    """Return (label, value) pairs on the CPU, cores, load, threads and versions."""
    import numba
    import scipy
    import sklearn

    try:
        n_cores = len(os.sched_getaffinity(0))
    except AttributeError:
        n_cores = os.cpu_count()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return [
        ("CPU", _cpu_model()),
        ("cores available", f"{n_cores} (os.cpu_count() = {os.cpu_count()})"),
        (
            "load average (1, 5, 15 min) at start",
            "n/a" if load is None else ", ".join(f"{value:.2f}" for value in load),
        ),
        ("NUMBA_NUM_THREADS", os.environ.get("NUMBA_NUM_THREADS", "unset")),
        ("numba threads in use", str(numba.get_num_threads())),
        ("Python", sys.version.split()[0]),
        ("numpy", np.__version__),
        ("scipy", scipy.__version__),
        ("scikit-learn", sklearn.__version__),
        ("numba", numba.__version__),
        ("pandas", pd.__version__),
    ]
