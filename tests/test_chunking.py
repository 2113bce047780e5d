"""Row blocks: prediction and the E-step give the same values in any block size."""

# SPDX-License-Identifier: BSD-3-Clause

import tracemalloc
import warnings

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose
from sklearn.linear_model import LinearRegression, LogisticRegression

import skmoe._base
from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.datasets import load_motorcycle


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return estimator.fit(X, y)


def _motorcycle():
    data = load_motorcycle()
    X = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    return np.ascontiguousarray(X), data.target


def _many_classes(n_samples=3000, n_classes=12, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 4))
    logits = X @ rng.normal(size=(4, n_classes))
    y = np.argmax(logits + rng.gumbel(size=(n_samples, n_classes)), axis=1)
    return X, y


def _regressor_outputs(moe, X, y):
    return {
        "mean": moe.predict(X),
        "std": moe.predict(X, return_std=True)[1],
        "gate_proba": moe.gate_proba(X),
        "log_likelihood": moe.log_likelihood(X, y),
        "apply": moe.apply(X),
    }


def _classifier_outputs(clf, X, y):
    return {
        "proba": clf.predict_proba(X),
        "log_proba": clf.predict_log_proba(X),
        "predict": clf.predict(X),
        "log_likelihood": clf.log_likelihood(X, y),
    }


@pytest.mark.parametrize("top_k", [None, 2])
def test_regressor_predictions_same_in_small_blocks(top_k):
    X, y = _motorcycle()
    moe = _fit(MixtureOfExpertsRegressor(4, top_k=top_k, max_iter=20, random_state=0),
               X, y)
    whole = _regressor_outputs(moe, X, y)

    # About 1,000 bytes: blocks of 8 rows.
    with sklearn.config_context(working_memory=1e-3):
        blocks = _regressor_outputs(moe, X, y)

    for name, values in whole.items():
        assert_allclose(blocks[name], values, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("top_k", [None, 2])
def test_classifier_probabilities_same_in_small_blocks(top_k):
    X, y = _many_classes(n_samples=600)
    clf = _fit(MixtureOfExpertsClassifier(3, expert=LogisticRegression(), top_k=top_k,
                                          max_iter=10, random_state=0), X, y)
    whole = _classifier_outputs(clf, X, y)

    # About 10,000 bytes: blocks of about 20 rows.
    with sklearn.config_context(working_memory=1e-2):
        blocks = _classifier_outputs(clf, X, y)

    for name, values in whole.items():
        assert_allclose(blocks[name], values, rtol=1e-12, atol=1e-12, err_msg=name)


def test_classifier_proba_memory_bounded():
    X, y = _many_classes()
    clf = _fit(MixtureOfExpertsClassifier(8, expert=LogisticRegression(),
                                          max_iter=3, random_state=0), X, y)
    n_classes = clf.classes_.size
    # The (rows, experts, classes) array that unblocked prediction would make.
    full_bytes = X.shape[0] * clf.n_experts_ * n_classes * 8

    tracemalloc.start()
    try:
        with sklearn.config_context(working_memory=0.25):
            proba = clf.predict_proba(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert proba.shape == (X.shape[0], n_classes)
    assert peak < full_bytes / 2


def test_fit_same_with_small_e_step_blocks(monkeypatch):
    X, y = _motorcycle()
    params = {"n_experts": 3, "expert": LinearRegression(), "max_iter": 30,
              "random_state": 0}
    whole = _fit(MixtureOfExpertsRegressor(**params), X, y)

    monkeypatch.setattr(skmoe._base, "_E_STEP_ROWS", 7)
    blocks = _fit(MixtureOfExpertsRegressor(**params), X, y)

    assert blocks.n_iter_ == whole.n_iter_
    assert_allclose(blocks.log_likelihood_history_, whole.log_likelihood_history_,
                    rtol=1e-12)
    assert_allclose(blocks.predict(X), whole.predict(X), rtol=1e-12, atol=1e-12)
