"""Property-based tests of the mixture-of-experts estimators, with hypothesis."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.gating import ClusterGate

GATES = ["softmax", "kmeans", "gmm"]

# Few examples and few EM iterations: each example fits a whole mixture.
_SETTINGS = settings(max_examples=12, deadline=None, derandomize=True)


@st.composite
def _problems(draw, classification):
    """Draw a small data set: shapes, duplicate rows, weights and a configuration."""
    n_experts = draw(st.integers(1, 4))
    n_features = draw(st.integers(1, 3))
    n_distinct = draw(st.integers(max(n_experts, 3), 25))
    n_duplicates = draw(st.integers(0, 10))
    weighting = draw(st.sampled_from(["none", "uniform", "integer", "with_zeros"]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)

    X = rng.normal(size=(n_distinct, n_features)) * rng.choice([1e-3, 1.0, 1e3])
    X = np.vstack([X, X[rng.randint(0, n_distinct, n_duplicates)]])
    n_samples = X.shape[0]
    if classification:
        y = rng.randint(0, draw(st.integers(2, 3)), n_samples)
        y[:2] = [0, 1]
    else:
        y = np.where(X[:, 0] > 0, 2.0, -1.0) * X[:, 0] + rng.normal(0, 0.1, n_samples)

    sample_weight = {
        "none": None,
        "uniform": rng.uniform(0.1, 3.0, n_samples),
        "integer": rng.randint(1, 4, n_samples).astype(np.float64),
        "with_zeros": rng.randint(0, 3, n_samples).astype(np.float64),
    }[weighting]
    if sample_weight is not None:
        # Keep enough weighted rows for the experts and, in classification,
        # both classes of rows 0 and 1.
        sample_weight[: n_experts + 2] = 1.0

    params = {
        "n_experts": n_experts,
        "gate": draw(st.sampled_from(GATES)),
        "top_k": draw(st.one_of(st.none(), st.integers(1, n_experts))),
        "init": draw(st.sampled_from(["kmeans", "random"])),
        "max_iter": 3,
        "random_state": seed,
    }
    return X, y, sample_weight, params


def _fit_quietly(estimator, X, y, sample_weight):
    """Fit, ignoring the convergence, constant-expert and re-seeding warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return estimator.fit(X, y, sample_weight=sample_weight)


def _assert_gate_proba_valid(estimator, X, top_k):
    gate_proba = estimator.gate_proba(X)
    assert gate_proba.shape == (X.shape[0], estimator.n_experts_)
    assert np.all(np.isfinite(gate_proba))
    assert np.all(gate_proba >= 0)
    assert_allclose(gate_proba.sum(axis=1), 1.0, rtol=1e-10)
    if top_k is not None:
        assert np.all((gate_proba > 0).sum(axis=1) <= top_k)
    assert_array_equal(estimator.apply(X), gate_proba.argmax(axis=1))


def _assert_fitted_attributes_valid(estimator):
    history = estimator.log_likelihood_history_
    assert history.shape == (estimator.n_iter_,)
    assert np.all(np.isfinite(history))
    assert_allclose(estimator.expert_weights_.sum(), 1.0)
    assert len(estimator.experts_) == estimator.n_experts_


@_SETTINGS
@given(problem=_problems(classification=False))
def test_regressor_outputs_finite_on_random_problems(problem):
    X, y, sample_weight, params = problem

    estimator = _fit_quietly(MixtureOfExpertsRegressor(**params), X, y, sample_weight)

    mean, std = estimator.predict(X, return_std=True)
    assert mean.shape == (X.shape[0],)
    assert np.all(np.isfinite(mean))
    assert np.all(np.isfinite(std))
    assert np.all(std >= 0)
    assert np.all(estimator.noise_variance_ > 0)
    assert np.all(np.isfinite(estimator.log_likelihood(X, y)))
    _assert_gate_proba_valid(estimator, X, params["top_k"])
    _assert_fitted_attributes_valid(estimator)


@_SETTINGS
@given(problem=_problems(classification=True))
def test_classifier_outputs_finite_on_random_problems(problem):
    X, y, sample_weight, params = problem

    estimator = _fit_quietly(MixtureOfExpertsClassifier(**params), X, y, sample_weight)

    proba = estimator.predict_proba(X)
    assert proba.shape == (X.shape[0], np.unique(y).size)
    assert np.all(np.isfinite(proba))
    assert np.all((proba >= 0) & (proba <= 1 + 1e-12))
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-10)
    assert set(estimator.predict(X)) <= set(np.unique(y))
    assert np.all(np.isfinite(estimator.log_likelihood(X, y)))
    _assert_gate_proba_valid(estimator, X, params["top_k"])
    _assert_fitted_attributes_valid(estimator)


### Integer sample weights against repeated rows


def _separated_regions(n_experts, n_features, rows_per_region, seed):
    """Return rows around n_experts centres 20 apart, the centres and the weights."""
    rng = np.random.RandomState(seed)
    centres = 20.0 * np.arange(n_experts)[:, None] * np.ones((1, n_features))
    region = np.repeat(np.arange(n_experts), rows_per_region)
    X = centres[region] + rng.normal(size=(region.size, n_features))
    slopes = rng.uniform(-3, 3, n_experts)
    y = slopes[region] * (X[:, 0] - centres[region, 0])
    y += rng.normal(0, 0.1, region.size)
    sample_weight = rng.randint(1, 4, region.size)
    return X, y, centres, sample_weight


def _fixed_kmeans_gate(centres):
    # tol=0 runs Lloyd's iterations until the labels stop changing: sklearn's
    # tolerance scales with the unweighted variance of X, which repeated rows
    # change.
    return ClusterGate(KMeans(n_clusters=len(centres), init=centres, n_init=1, tol=0.0))


@_SETTINGS
@given(
    n_experts=st.integers(1, 4),
    n_features=st.integers(1, 3),
    rows_per_region=st.integers(3, 8),
    seed=st.integers(0, 2**16),
)
def test_regressor_integer_weights_equal_repeated_rows(n_experts, n_features,
                                                       rows_per_region, seed):
    """Integer weights give the model of the rows repeated that many times.

    The equality is exact up to rounding because nothing in the fit depends
    on the row count beyond sums of weights:

    - the gate is a k-means partition from fixed centres, with no k-means++
      seeding (which draws rows) and tol=0, and EM skips its start with a
      fixed gate;
    - every region has at least three distinct rows, so no expert becomes
      constant on one side only;
    - the experts are LinearRegression, whose weighted least squares equals
      least squares on repeated rows.

    It does not hold for the softmax or gmm gates, whose EM starts from
    k-means++ or from one Dirichlet draw per row.
    """
    X, y, centres, sample_weight = _separated_regions(
        n_experts, n_features, rows_per_region, seed
    )
    params = {"n_experts": n_experts, "gate": _fixed_kmeans_gate(centres),
              "expert": LinearRegression(), "max_iter": 5, "random_state": 0}

    weighted = MixtureOfExpertsRegressor(**params)
    weighted.fit(X, y, sample_weight=sample_weight)
    repeated = MixtureOfExpertsRegressor(**params).fit(
        np.repeat(X, sample_weight, axis=0), np.repeat(y, sample_weight)
    )

    assert_array_equal(weighted.gate_proba(X), repeated.gate_proba(X))
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-9, atol=1e-9)
    assert_allclose(weighted.noise_variance_, repeated.noise_variance_, rtol=1e-9)
    assert_allclose(weighted.expert_weights_, repeated.expert_weights_, rtol=1e-12)
    assert_allclose(weighted.log_likelihood_history_, repeated.log_likelihood_history_,
                    rtol=1e-9)


@_SETTINGS
@given(
    n_experts=st.integers(1, 3),
    rows_per_region=st.integers(6, 10),
    seed=st.integers(0, 2**16),
)
def test_classifier_integer_weights_equal_repeated_rows(n_experts, rows_per_region,
                                                        seed):
    """Integer weights give the classifier of the rows repeated.

    The same conditions as for the regressor, with LogisticRegression experts:
    their weighted loss equals the loss on repeated rows, and the tolerance
    covers the difference of the L-BFGS iterates on the two equal losses.
    Each region gets both classes, so no expert becomes constant.
    """
    X, _, centres, sample_weight = _separated_regions(
        n_experts, 2, rows_per_region, seed
    )
    y = (X[:, 1] > np.median(X[:, 1])).astype(np.int64)
    y[::rows_per_region] = 0
    y[1::rows_per_region] = 1
    params = {"n_experts": n_experts, "gate": _fixed_kmeans_gate(centres),
              "expert": LogisticRegression(tol=1e-10), "max_iter": 5, "random_state": 0}

    weighted = MixtureOfExpertsClassifier(**params)
    weighted.fit(X, y, sample_weight=sample_weight)
    repeated = MixtureOfExpertsClassifier(**params).fit(
        np.repeat(X, sample_weight, axis=0), np.repeat(y, sample_weight)
    )

    assert_array_equal(weighted.gate_proba(X), repeated.gate_proba(X))
    assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-6)
    assert_allclose(weighted.log_likelihood_history_, repeated.log_likelihood_history_,
                    rtol=1e-6)

