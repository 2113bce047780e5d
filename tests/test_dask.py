"""Fitting through joblib's Dask backend gives the model of a local fit."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer, StandardScaler
from sklearn.svm import SVR

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.datasets import load_motorcycle

distributed = pytest.importorskip(
    "distributed", reason="the Dask tests need the 'dask' extra"
)


@pytest.fixture(scope="module")
def dask_client():
    """A two-process Dask cluster on 127.0.0.1, closed after the module."""
    cluster = distributed.LocalCluster(
        host="127.0.0.1",
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        worker_dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return estimator.fit(X, y)


def _fit_on_cluster(client, estimator, X, y):
    """Fit under the Dask backend; return the model and the tasks it ran."""
    with distributed.get_task_stream(client) as task_stream:
        with joblib.parallel_config(backend="dask"):
            _fit(estimator, X, y)
    return estimator, task_stream.data


def _motorcycle():
    data = load_motorcycle()
    X = StandardScaler().fit_transform(data.data)
    return X, data.target


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_regressor_dask_backend_matches_local_fit(dask_client, n_jobs):
    X, y = _motorcycle()
    params = {"n_experts": 3, "expert": SVR(C=10.0), "max_iter": 20,
              "random_state": 0}

    local = _fit(MixtureOfExpertsRegressor(**params), X, y)
    remote, tasks = _fit_on_cluster(
        dask_client, MixtureOfExpertsRegressor(n_jobs=n_jobs, **params), X, y
    )

    assert len(tasks) >= remote.n_iter_ * remote.n_experts_
    assert remote.n_iter_ == local.n_iter_
    assert_allclose(remote.log_likelihood_history_, local.log_likelihood_history_,
                    rtol=1e-12)
    assert_allclose(remote.predict(X), local.predict(X), rtol=1e-12, atol=1e-12)
    assert_allclose(remote.gate_proba(X), local.gate_proba(X), rtol=1e-12,
                    atol=1e-12)
    assert_allclose(remote.noise_variance_, local.noise_variance_, rtol=1e-12)


def test_dask_backend_pipeline_experts(dask_client):
    X, y = _motorcycle()
    expert = make_pipeline(SplineTransformer(n_knots=4), SVR(C=10.0))
    params = {"n_experts": 2, "expert": expert, "gate": "gmm", "max_iter": 10,
              "random_state": 0}

    local = _fit(MixtureOfExpertsRegressor(**params), X, y)
    remote, _ = _fit_on_cluster(
        dask_client, MixtureOfExpertsRegressor(n_jobs=2, **params), X, y
    )

    assert_allclose(remote.predict(X), local.predict(X), rtol=1e-12, atol=1e-12)


def test_classifier_dask_backend_matches_local_fit(dask_client):
    data = load_iris()
    X = StandardScaler().fit_transform(data.data)
    params = {"n_experts": 2, "expert": LogisticRegression(), "max_iter": 30,
              "random_state": 0}

    local = _fit(MixtureOfExpertsClassifier(**params), X, data.target)
    remote, tasks = _fit_on_cluster(
        dask_client, MixtureOfExpertsClassifier(n_jobs=2, **params), X, data.target
    )

    assert len(tasks) >= remote.n_iter_ * remote.n_experts_
    assert_allclose(remote.predict_proba(X), local.predict_proba(X), rtol=1e-12,
                    atol=1e-12)
    assert_allclose(remote.log_likelihood_history_, local.log_likelihood_history_,
                    rtol=1e-12)


def test_dask_backend_leaves_inputs_unchanged(dask_client):
    X, y = _motorcycle()
    X_before, y_before = X.copy(), y.copy()

    _fit_on_cluster(
        dask_client,
        MixtureOfExpertsRegressor(3, expert=SVR(), max_iter=5, random_state=0),
        X,
        y,
    )

    assert np.array_equal(X, X_before)
    assert np.array_equal(y, y_before)
