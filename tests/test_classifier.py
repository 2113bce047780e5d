"""MixtureOfExpertsClassifier: labels, probabilities, likelihood and input checks."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression

from skmoe import MixtureOfExpertsClassifier


@pytest.fixture(scope="module")
def moons_fit():
    X, y = make_moons(n_samples=300, noise=0.2, random_state=0)
    moe = MixtureOfExpertsClassifier(3, gate="gmm", max_iter=50, random_state=0)
    return moe.fit(X, y), X, y


def test_classifier_moons_beats_logistic_regression(moons_fit):
    moe, X, y = moons_fit
    single = LogisticRegression().fit(X, y)

    # Measured: 0.943 for the mixture against 0.86 for one expert.
    assert single.score(X, y) < 0.9
    assert moe.score(X, y) > 0.93
    assert moe.log_likelihood(X, y).mean() > -np.log(2) / 2


def test_classifier_string_labels_round_trip():
    X, y = make_moons(n_samples=200, noise=0.2, random_state=0)
    names = np.array(["circle", "square"])
    moe = MixtureOfExpertsClassifier(2, max_iter=30, random_state=0).fit(X, names[y])
    numeric = MixtureOfExpertsClassifier(2, max_iter=30, random_state=0).fit(X, y)

    predicted = moe.predict(X)

    np.testing.assert_array_equal(moe.classes_, names)
    assert predicted.dtype == names.dtype
    assert set(np.unique(predicted)) <= set(names)
    np.testing.assert_array_equal(predicted, names[numeric.predict(X)])
    np.testing.assert_allclose(
        moe.predict_proba(X), numeric.predict_proba(X), rtol=1e-12
    )
    np.testing.assert_allclose(
        moe.log_likelihood(X, names[y]), numeric.log_likelihood(X, y), rtol=1e-12
    )


def test_classifier_predict_proba_mixes_experts(moons_fit):
    moe, X, _ = moons_fit
    gate_proba = moe.gate_proba(X)
    expert_proba = moe.predict_experts(X)
    expected = np.einsum("nk,nkc->nc", gate_proba, expert_proba)

    proba = moe.predict_proba(X)

    np.testing.assert_allclose(proba, expected, rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(moe.predict_log_proba(X), np.log(proba), rtol=1e-12)
    np.testing.assert_array_equal(moe.predict(X), moe.classes_[proba.argmax(axis=1)])


def test_classifier_log_likelihood_by_hand(moons_fit):
    moe, X, y = moons_fit
    true_class = moe.predict_experts(X)[np.arange(X.shape[0]), :, y]
    expected = logsumexp(
        np.log(moe.gate_proba(X)) + np.log(np.maximum(true_class, 1e-10)), axis=1
    )

    np.testing.assert_allclose(moe.log_likelihood(X, y), expected, rtol=1e-10)


def test_classifier_experts_ordered_by_gate_mass(moons_fit):
    moe, _, _ = moons_fit

    assert np.all(np.diff(moe.expert_weights_) <= 0)
    assert moe.expert_weights_.sum() == pytest.approx(1.0)


### Invalid input


def _small_classification_data():
    X, y = make_moons(n_samples=30, noise=0.2, random_state=0)
    return X, y


def _with_value(X, row, column, value):
    X = X.copy()
    X[row, column] = value
    return X


@pytest.mark.parametrize(
    "params, make_input, error, match",
    [
        ({}, lambda X, y: (_with_value(X, 3, 1, np.nan), y), ValueError, "NaN"),
        ({}, lambda X, y: (_with_value(X, 3, 1, np.inf), y), ValueError, "infinity"),
        ({}, lambda X, y: (X[:, 0], y), ValueError, "Expected 2D array, got 1D"),
        ({}, lambda X, y: (X, y[:-1]), ValueError, "29"),
        ({}, lambda X, y: (X, np.zeros_like(y)), ValueError, "only one class"),
        ({}, lambda X, y: (X, X[:, 0]), ValueError, "continuous"),
        ({"n_experts": 0}, lambda X, y: (X, y), ValueError, "n_experts.*Got 0"),
        ({"n_experts": 31}, lambda X, y: (X, y), ValueError, "n_experts=31"),
        ({"gate": "forest"}, lambda X, y: (X, y), ValueError, "gate.*Got 'forest'"),
        ({"top_k": 3}, lambda X, y: (X, y), ValueError, "top_k=3"),
    ],
)
def test_classifier_fit_invalid_input_raises(params, make_input, error, match):
    X, y = make_input(*_small_classification_data())
    moe = MixtureOfExpertsClassifier(n_experts=2, max_iter=5, random_state=0)
    moe.set_params(**params)

    with pytest.raises(error, match=match):
        moe.fit(X, y)


def test_classifier_one_weighted_class_raises():
    X, y = _small_classification_data()
    labels = np.array(["no", "yes"])[y]
    sample_weight = (y == 1).astype(float)

    with pytest.raises(ValueError, match="positive sample_weight on at least 2"):
        MixtureOfExpertsClassifier(2).fit(X, labels, sample_weight=sample_weight)


@pytest.fixture(scope="module")
def small_fit():
    X, y = _small_classification_data()
    moe = MixtureOfExpertsClassifier(2, gate="kmeans", max_iter=50, random_state=0)
    return moe.fit(X, y), X, y


def test_classifier_predict_wrong_feature_count_raises(small_fit):
    moe, X, y = small_fit

    with pytest.raises(ValueError, match="X has 3 features.*expecting 2 features"):
        moe.predict(np.c_[X, X[:, :1]])
    with pytest.raises(ValueError, match="X has 1 features.*expecting 2 features"):
        moe.predict_proba(X[:, :1])


def test_classifier_log_likelihood_unknown_label_raises(small_fit):
    moe, X, y = small_fit

    with pytest.raises(ValueError, match=r"labels not seen in fit: array\(\[7\]\)"):
        moe.log_likelihood(X, np.where(np.arange(y.size) == 0, 7, y))
