"""Tests for GaussianGate."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.mixture import GaussianMixture

from skmoe.gating import GaussianGate

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _make_data(n_samples=60, n_features=3, n_experts=3, seed=0):
    """Return two shifted Gaussian blobs, Dirichlet responsibilities, weights."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_samples, n_features)
    X[n_samples // 2 :] += 4.0
    resp = rng.dirichlet(np.ones(n_experts), size=n_samples)
    sample_weight = rng.uniform(0.5, 2.0, size=n_samples)
    return X, resp, sample_weight


def _fit_cold(gate, X, resp, sample_weight=None):
    if sample_weight is None:
        sample_weight = np.ones(len(X))
    gate._reset()
    return gate._m_step(X, resp, sample_weight, top_k=None, random_state=None)


def _to_gaussian_mixture(gate):
    """Return a GaussianMixture that contains the gate's fitted parameters."""
    mixture = GaussianMixture(
        n_components=gate.n_experts_, covariance_type=gate.covariance_type
    )
    mixture.weights_ = gate.weights_
    mixture.means_ = gate.means_
    mixture.covariances_ = gate.covariances_
    mixture.precisions_cholesky_ = gate.precisions_cholesky_
    return mixture


def _assert_valid_log_proba(gate, X):
    log_proba = gate.predict_log_proba(X)
    assert not np.any(np.isnan(log_proba))
    assert np.all(np.isfinite(log_proba.max(axis=1)))
    assert np.all(log_proba <= 1e-12)
    assert_allclose(np.exp(log_proba).sum(axis=1), 1.0)
    assert np.all(np.isfinite(gate._log_marginal_density(X)))


def test_gaussian_gate_default_constructor():
    gate = GaussianGate()

    assert gate.get_params() == {"covariance_type": "full", "reg_covar": 1e-6}
    assert GaussianGate._refit_in_m_step is True


@pytest.mark.parametrize(
    "covariance_type, covariance_shape, precision_shape",
    [
        ("full", (3, 4, 4), (3, 4, 4)),
        ("tied", (4, 4), (4, 4)),
        ("diag", (3, 4), (3, 4)),
        ("spherical", (3,), (3,)),
    ],
)
def test_gaussian_gate_attribute_shapes(
    covariance_type, covariance_shape, precision_shape
):
    X, resp, _ = _make_data(n_features=4)
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp)

    assert gate.weights_.shape == (3,)
    assert gate.means_.shape == (3, 4)
    assert gate.covariances_.shape == covariance_shape
    assert gate.precisions_cholesky_.shape == precision_shape
    assert gate.n_experts_ == 3
    assert gate.n_features_in_ == 4


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_predict_proba_rows_sum_to_one(covariance_type):
    X, resp, sample_weight = _make_data()
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp, sample_weight)

    proba = gate.predict_proba(X)

    assert proba.shape == (60, 3)
    assert np.all(proba >= 0.0)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(gate.predict(X), proba.argmax(axis=1))


def test_gaussian_gate_m_step_full_by_hand():
    X, resp, sample_weight = _make_data()
    reg_covar = 1e-3
    gate = GaussianGate(reg_covar=reg_covar).fit(X, resp, sample_weight)

    feature_mean = np.average(X, axis=0, weights=sample_weight)
    feature_variance = np.average(
        (X - feature_mean) ** 2, axis=0, weights=sample_weight
    )
    total = sample_weight.sum()
    for k in range(3):
        w = sample_weight * resp[:, k]
        mean = (w[:, None] * X).sum(axis=0) / w.sum()
        scatter = sum(w[i] * np.outer(X[i] - mean, X[i] - mean) for i in range(len(X)))
        covariance = scatter / w.sum() + np.diag(reg_covar * feature_variance)

        assert_allclose(gate.weights_[k], w.sum() / total)
        assert_allclose(gate.means_[k], mean)
        assert_allclose(gate.covariances_[k], covariance)
        precision = gate.precisions_cholesky_[k] @ gate.precisions_cholesky_[k].T
        assert_allclose(precision @ covariance, np.eye(3), atol=1e-10)


@pytest.mark.parametrize("covariance_type", ["tied", "diag", "spherical"])
def test_gaussian_gate_m_step_other_types_by_hand(covariance_type):
    X, resp, sample_weight = _make_data()
    reg_covar = 1e-3
    gate = GaussianGate(covariance_type=covariance_type, reg_covar=reg_covar)
    gate.fit(X, resp, sample_weight)

    feature_mean = np.average(X, axis=0, weights=sample_weight)
    reg = reg_covar * np.average(
        (X - feature_mean) ** 2, axis=0, weights=sample_weight
    )
    w = sample_weight[:, None] * resp
    means = (w.T @ X) / w.sum(axis=0)[:, None]
    scatters = np.array(
        [
            sum(w[i, k] * np.outer(X[i] - means[k], X[i] - means[k]) for i in range(60))
            for k in range(3)
        ]
    )

    if covariance_type == "tied":
        expected = scatters.sum(axis=0) / w.sum() + np.diag(reg)
    elif covariance_type == "diag":
        expected = np.array(
            [np.diag(scatters[k]) / w[:, k].sum() + reg for k in range(3)]
        )
    else:
        expected = np.array(
            [np.mean(np.diag(scatters[k]) / w[:, k].sum() + reg) for k in range(3)]
        )
    assert_allclose(gate.means_, means)
    assert_allclose(gate.covariances_, expected)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_marginal_density_matches_sklearn(covariance_type):
    X, resp, sample_weight = _make_data()
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp, sample_weight)
    mixture = _to_gaussian_mixture(gate)
    X_test = np.random.RandomState(1).randn(25, 3) * 3.0

    assert_allclose(gate._log_marginal_density(X_test), mixture.score_samples(X_test))
    assert_allclose(
        gate.predict_proba(X_test), mixture.predict_proba(X_test), atol=1e-12
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_log_proba_is_posterior(covariance_type):
    X, resp, _ = _make_data()
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp)

    n_features = X.shape[1]
    if covariance_type == "full":
        covariances = gate.covariances_
    elif covariance_type == "tied":
        covariances = np.tile(gate.covariances_, (3, 1, 1))
    elif covariance_type == "diag":
        covariances = np.array([np.diag(v) for v in gate.covariances_])
    else:
        covariances = gate.covariances_[:, None, None] * np.eye(n_features)
    joint = np.column_stack(
        [
            np.log(gate.weights_[k])
            + multivariate_normal.logpdf(X, gate.means_[k], covariances[k])
            for k in range(3)
        ]
    )
    marginal = logsumexp(joint, axis=1)

    assert_allclose(gate._log_marginal_density(X), marginal)
    assert_allclose(gate.predict_log_proba(X), joint - marginal[:, None], atol=1e-10)


@pytest.mark.parametrize(
    "covariance_type, expected",
    [("full", 17), ("tied", 11), ("diag", 14), ("spherical", 11)],
)
def test_gaussian_gate_n_parameters(covariance_type, expected):
    # K=3, d=2: (K - 1) + K * d = 8, plus 9, 3, 6 or 3 covariance parameters.
    X, resp, _ = _make_data(n_features=2)
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp)

    assert gate._n_parameters() == expected


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_weighted_fit_equals_repeated_rows(covariance_type):
    X, resp, _ = _make_data()
    counts = np.random.RandomState(2).randint(1, 4, size=len(X))

    weighted = GaussianGate(covariance_type=covariance_type)
    weighted.fit(X, resp, sample_weight=counts)
    repeated = GaussianGate(covariance_type=covariance_type)
    repeated.fit(np.repeat(X, counts, axis=0), np.repeat(resp, counts, axis=0))

    assert_allclose(weighted.weights_, repeated.weights_)
    assert_allclose(weighted.means_, repeated.means_)
    assert_allclose(weighted.covariances_, repeated.covariances_)
    assert_allclose(weighted.predict_log_proba(X), repeated.predict_log_proba(X))


def test_gaussian_gate_zero_weight_rows_sit_out():
    X, resp, _ = _make_data()
    resp_with_empty_rows = resp.copy()
    resp_with_empty_rows[:5] = 0.0
    weight = np.ones(len(X))
    weight[:5] = 0.0

    empty_resp = _fit_cold(GaussianGate(), X, resp_with_empty_rows)
    zero_weight = _fit_cold(GaussianGate(), X, resp, weight)
    # Zero-resp rows still count in the feature scale of reg_covar, so compare
    # the unregularised estimates: weights and means.
    dropped = GaussianGate().fit(X[5:], resp[5:])

    assert_allclose(empty_resp.weights_, dropped.weights_)
    assert_allclose(empty_resp.means_, dropped.means_)
    assert_allclose(zero_weight.covariances_, dropped.covariances_)


def test_gaussian_gate_reg_covar_relative_to_feature_scale():
    rng = np.random.RandomState(0)
    labels = np.repeat([0, 1], 50)
    X = np.column_stack(
        [1e7 * rng.randn(100), 1e-3 * (labels + 0.1 * rng.randn(100))]
    )
    resp = np.eye(2)[labels]
    gate = GaussianGate(reg_covar=1e-2).fit(X, resp)

    feature_variance = X.var(axis=0)
    for k in range(2):
        scatter = np.cov(X[labels == k].T, bias=True)
        assert_allclose(
            np.diag(gate.covariances_[k]) - np.diag(scatter), 1e-2 * feature_variance
        )
    assert_array_equal(gate.predict(X), labels)
    _assert_valid_log_proba(gate, X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_empty_component_cold(covariance_type):
    X, resp, _ = _make_data()
    resp[:, 2] = 0.0
    resp /= resp.sum(axis=1, keepdims=True)
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp)

    assert gate.weights_[2] > 0.0
    assert gate.weights_[2] < 1e-13
    assert_allclose(gate.weights_.sum(), 1.0)
    assert_allclose(gate.means_[2], X.mean(axis=0))
    if covariance_type == "full":
        expected = np.cov(X.T, bias=True) * (1 + 1e-6 * np.eye(3))
        assert_allclose(gate.covariances_[2], expected)
    elif covariance_type == "diag":
        assert_allclose(gate.covariances_[2], X.var(axis=0) * (1 + 1e-6))
    _assert_valid_log_proba(gate, X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_empty_component_keeps_previous(covariance_type):
    X, resp, _ = _make_data()
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp)
    previous_mean = gate.means_[1].copy()
    previous_covariance = gate.covariances_.copy()

    collapsed = resp.copy()
    collapsed[:, 1] = 0.0
    collapsed /= collapsed.sum(axis=1, keepdims=True)
    gate._m_step(X, collapsed, np.ones(len(X)), top_k=None, random_state=None)

    assert_array_equal(gate.means_[1], previous_mean)
    if covariance_type != "tied":
        assert_array_equal(gate.covariances_[1], previous_covariance[1])
    assert 0.0 < gate.weights_[1] < 1e-13
    _assert_valid_log_proba(gate, X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_identical_rows(covariance_type):
    X = np.tile([[3.0, -1.0, 7.0]], (20, 1))
    resp = np.random.RandomState(0).dirichlet(np.ones(3), size=20)
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp)

    assert_allclose(gate.means_, np.tile([3.0, -1.0, 7.0], (3, 1)))
    assert_allclose(gate.predict_proba(X), np.tile(gate.weights_, (20, 1)))
    _assert_valid_log_proba(gate, X)
    _assert_valid_log_proba(gate, np.array([[0.0, 0.0, 0.0], [3.1, -1.0, 7.0]]))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_constant_column(covariance_type):
    X, resp, _ = _make_data()
    X[:, 1] = 0.1
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp)

    _assert_valid_log_proba(gate, X)
    _assert_valid_log_proba(gate, X + 1.0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_one_row_per_component(covariance_type):
    X = np.array([[0.0, 1.0], [5.0, 2.0], [-3.0, 8.0]])
    gate = GaussianGate(covariance_type=covariance_type).fit(X, np.eye(3))

    assert_allclose(gate.means_, X)
    assert_allclose(gate.weights_, [1 / 3] * 3)
    assert_array_equal(gate.predict(X), [0, 1, 2])
    _assert_valid_log_proba(gate, X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_fewer_rows_than_features(covariance_type):
    rng = np.random.RandomState(0)
    X = rng.randn(5, 10)
    resp = rng.dirichlet(np.ones(2), size=5)
    gate = GaussianGate(covariance_type=covariance_type).fit(X, resp)

    _assert_valid_log_proba(gate, X)
    _assert_valid_log_proba(gate, rng.randn(4, 10))


def test_gaussian_gate_far_row_gets_finite_weights():
    X = np.tile([[1.0, 2.0]], (20, 1))
    X[:10] += 1e-9
    resp = np.repeat(np.eye(2), 10, axis=0)
    gate = GaussianGate().fit(X, resp)

    X_far = np.array([[1e300, -1e300], [1e150, 0.0]])
    _assert_valid_log_proba(gate, X_far)
    assert_allclose(gate.predict_proba(X_far), 0.5)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_gate_zero_reg_covar_on_identical_rows(covariance_type):
    X = np.ones((20, 2))

    with pytest.raises(ValueError, match="reg_covar=0.0"):
        GaussianGate(covariance_type=covariance_type, reg_covar=0.0).fit(
            X, np.full((20, 2), 0.5)
        )


def test_gaussian_gate_zero_total_weight():
    X, resp, _ = _make_data()

    with pytest.raises(ValueError, match="got 0.0"):
        GaussianGate().fit(X, resp, sample_weight=np.zeros(len(X)))


def test_gaussian_gate_refit_with_other_n_experts():
    X, resp, _ = _make_data()
    gate = GaussianGate().fit(X, resp)
    gate.fit(X, resp[:, :2] / resp[:, :2].sum(axis=1, keepdims=True))

    assert gate.n_experts_ == 2
    assert gate.means_.shape == (2, 3)


def test_gaussian_gate_clone_keeps_params():
    gate = GaussianGate(covariance_type="diag", reg_covar=1e-3)

    cloned = clone(gate)

    assert cloned.get_params() == {"covariance_type": "diag", "reg_covar": 1e-3}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"covariance_type": "banana"}, "'covariance_type' parameter.*Got 'banana'"),
        ({"reg_covar": -1.0}, "'reg_covar' parameter.*Got -1.0"),
        ({"reg_covar": "small"}, "'reg_covar' parameter.*Got 'small'"),
    ],
)
def test_gaussian_gate_invalid_params(params, message):
    X, resp, _ = _make_data()

    with pytest.raises(ValueError, match=message):
        GaussianGate(**params).fit(X, resp)
