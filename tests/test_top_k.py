"""Sparse top-k routing of the mixture: token choice and expert choice."""

# SPDX-License-Identifier: BSD-3-Clause

import math

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.gating import SoftmaxGate

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class RowCountingRegressor(LinearRegression):
    """LinearRegression that records how many rows its last fit received."""

    def fit(self, X, y, sample_weight=None):
        self.n_rows_seen_ = X.shape[0]
        return super().fit(X, y, sample_weight=sample_weight)


def _piecewise_data(n_samples=400, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-3, 3, size=(n_samples, 2))
    y = np.where(X[:, 0] < -1, -2 * X[:, 0], np.where(X[:, 0] < 1, X[:, 1], 3 * X[:, 0]))
    return X, y + rng.normal(0, 0.1, n_samples)


@pytest.mark.parametrize("gate", ["softmax", "gmm", "kmeans"])
@pytest.mark.parametrize("top_k", [1, 2])
def test_gate_proba_top_k_sparse_rows(gate, top_k):
    X, y = _piecewise_data()
    moe = MixtureOfExpertsRegressor(
        n_experts=4, gate=gate, top_k=top_k, max_iter=20, random_state=0
    ).fit(X, y)

    gate_proba = moe.gate_proba(X)

    assert np.all(np.count_nonzero(gate_proba, axis=1) <= top_k)
    np.testing.assert_allclose(gate_proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(gate_proba >= 0)


@pytest.mark.parametrize("routing", ["token_choice", "expert_choice"])
def test_predict_top_k_equals_sparse_weighted_sum(routing):
    X, y = _piecewise_data()
    moe = MixtureOfExpertsRegressor(
        n_experts=4, top_k=2, routing=routing, max_iter=20, random_state=0
    ).fit(X, y)

    gate_proba = moe.gate_proba(X)
    dense = moe.predict_experts(X)
    mean, std = moe.predict(X, return_std=True)

    np.testing.assert_allclose(mean, np.sum(gate_proba * dense, axis=1), rtol=1e-12)
    second_moment = np.sum(gate_proba * (moe.noise_variance_ + dense**2), axis=1)
    np.testing.assert_allclose(std**2, second_moment - mean**2, rtol=1e-9, atol=1e-12)


def test_log_likelihood_top_k_uses_sparse_mixture():
    X, y = _piecewise_data()
    moe = MixtureOfExpertsRegressor(n_experts=4, top_k=1, max_iter=20, random_state=0)
    moe.fit(X, y)

    expert = moe.apply(X)
    rows = np.arange(X.shape[0])
    residual = y - moe.predict_experts(X)[rows, expert]
    variance = moe.noise_variance_[expert]
    expected = -0.5 * (np.log(2 * np.pi * variance) + residual**2 / variance)

    np.testing.assert_allclose(moe.log_likelihood(X, y), expected, rtol=1e-10)


def test_classifier_top_k_proba_rows_sum_to_one():
    X, y = make_classification(
        n_samples=300, n_features=4, n_informative=3, n_redundant=0,
        n_classes=3, n_clusters_per_class=1, random_state=0,
    )
    clf = MixtureOfExpertsClassifier(n_experts=4, top_k=2, max_iter=15, random_state=0)
    clf.fit(X, y)

    proba = clf.predict_proba(X)

    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(np.count_nonzero(clf.gate_proba(X), axis=1) <= 2)
    assert clf.score(X, y) > 0.8


def test_expert_choice_equal_rows_per_expert():
    X, y = _piecewise_data(n_samples=401)
    n_experts, top_k = 4, 1
    moe = MixtureOfExpertsRegressor(
        n_experts=n_experts,
        expert=RowCountingRegressor(),
        top_k=top_k,
        routing="expert_choice",
        init="random",
        max_iter=5,
        random_state=0,
    ).fit(X, y)

    capacity = math.ceil(top_k * X.shape[0] / n_experts)
    rows_seen = [expert.n_rows_seen_ for expert in moe.experts_]

    assert rows_seen == [capacity] * n_experts


def test_token_choice_unbalanced_rows_per_expert():
    # The contrast to expert choice: without a capacity, the experts see
    # different numbers of rows on the same data.
    X, y = _piecewise_data(n_samples=401)
    moe = MixtureOfExpertsRegressor(
        n_experts=4, expert=RowCountingRegressor(), top_k=1, init="random",
        max_iter=5, random_state=0,
    ).fit(X, y)

    rows_seen = [expert.n_rows_seen_ for expert in moe.experts_]

    assert sum(rows_seen) == X.shape[0]
    assert len(set(rows_seen)) > 1


@pytest.mark.parametrize("routing", ["token_choice", "expert_choice"])
def test_top_k_predictions_batch_independent(routing):
    X, y = _piecewise_data()
    moe = MixtureOfExpertsRegressor(
        n_experts=4, top_k=2, routing=routing, max_iter=20, random_state=0
    ).fit(X, y)

    full = moe.predict(X)
    one_by_one = np.array([moe.predict(X[i : i + 1])[0] for i in range(0, 400, 37)])
    reversed_batch = moe.predict(X[::-1])[::-1]

    np.testing.assert_allclose(one_by_one, full[::37], rtol=1e-12)
    np.testing.assert_allclose(reversed_batch, full, rtol=1e-12)


def test_top_k_larger_than_n_experts_raises():
    X, y = _piecewise_data(n_samples=50)
    moe = MixtureOfExpertsRegressor(n_experts=3, top_k=4)

    with pytest.raises(ValueError, match=r"top_k=4 and n_experts=3"):
        moe.fit(X, y)


def test_top_k_equal_n_experts_matches_dense():
    X, y = _piecewise_data()
    params = dict(n_experts=3, max_iter=10, random_state=0)
    dense = MixtureOfExpertsRegressor(**params).fit(X, y)
    full_k = MixtureOfExpertsRegressor(top_k=3, **params).fit(X, y)

    np.testing.assert_allclose(full_k.predict(X), dense.predict(X), rtol=1e-10)


def test_top_k_softmax_noise_prediction_noise_free():
    X, y = _piecewise_data()
    moe = MixtureOfExpertsRegressor(
        n_experts=4,
        gate=SoftmaxGate(noise=1.0, balance=0.1),
        top_k=2,
        max_iter=10,
        random_state=0,
    ).fit(X, y)

    first = moe.predict(X)
    second = moe.predict(X)

    np.testing.assert_array_equal(first, second)
    assert np.all(np.isfinite(first))
    assert np.isfinite(moe.log_likelihood_history_).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balance_evens_rows_per_expert(seed):
    # One linear regime: without balancing, the plain gate leaves an expert
    # idle. Measured shares of rows per expert (seeds 0-2): smallest 0.00
    # without balance, 0.20 to 0.24 with balance=0.5 and noise=1.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(600, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(0, 0.3, 600)
    params = dict(n_experts=4, top_k=1, init="random", max_iter=30, random_state=seed)

    plain = MixtureOfExpertsRegressor(gate=SoftmaxGate(), **params).fit(X, y)
    balanced = MixtureOfExpertsRegressor(
        gate=SoftmaxGate(noise=1.0, balance=0.5), **params
    ).fit(X, y)

    plain_share = np.bincount(plain.apply(X), minlength=4) / X.shape[0]
    balanced_share = np.bincount(balanced.apply(X), minlength=4) / X.shape[0]

    assert plain_share.min() < 0.05
    assert balanced_share.min() > 0.15
    assert balanced_share.max() < 0.35
