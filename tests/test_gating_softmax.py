"""Tests of the softmax gate."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from skmoe._kernels import log_softmax_numpy
from skmoe.gating import SoftmaxGate


def _soft_targets(n_samples=300, n_features=3, n_experts=4, seed=0):
    """Return X, responsibilities from a noisy logit model, and row weights."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, n_features))
    logits = X @ rng.normal(size=(n_features, n_experts))
    resp = np.exp(logits - logits.max(axis=1, keepdims=True))
    resp /= resp.sum(axis=1, keepdims=True)
    resp = 0.7 * resp + 0.3 * rng.dirichlet(np.ones(n_experts), size=n_samples)
    sample_weight = rng.uniform(0.2, 2.0, size=n_samples)
    return X, resp, sample_weight


def _idle_experts_targets(n_samples=2000, seed=0):
    """Return X and responsibilities that leave experts 2 and 3 idle."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 2))
    logits = np.column_stack(
        [3 * X[:, 0], -3 * X[:, 0], np.full(n_samples, -3.0), np.full(n_samples, -3.0)]
    )
    resp = np.exp(logits - logits.max(axis=1, keepdims=True))
    resp /= resp.sum(axis=1, keepdims=True)
    return X, resp


def _fit_m_step(gate, X, resp, sample_weight=None, top_k=None, random_state=0,
                **solver_options):
    if sample_weight is None:
        sample_weight = np.ones(X.shape[0])
    gate._validate_params()
    return gate._m_step(
        X, resp, sample_weight, top_k=top_k, random_state=random_state,
        **solver_options,
    )


def _m_step_objective(gate, X, resp, sample_weight):
    """Return the M-step objective per unit of weight, without balance terms."""
    log_gate = gate.predict_log_proba(X)
    total = sample_weight @ (resp * log_gate).sum(axis=1)
    penalty = np.sum(gate.coef_**2) / (2.0 * gate.C)
    return (total - penalty) / (sample_weight @ resp.sum(axis=1))


@pytest.mark.parametrize("C", [0.05, 1.0, 100.0])
def test_softmax_gate_matches_logistic_regression(C):
    X, resp, sample_weight = _soft_targets()
    n_samples, n_experts = resp.shape

    gate = SoftmaxGate(C=C).fit(X, resp, sample_weight)
    # The soft-target objective equals the weighted multinomial loss on the
    # rows replicated once per expert, with weights w_i * r_ik.
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(
        np.tile(X, (n_experts, 1)),
        np.repeat(np.arange(n_experts), n_samples),
        sample_weight=(sample_weight[:, np.newaxis] * resp).T.ravel(),
    )

    assert_allclose(gate.coef_, reference.coef_.T, rtol=0, atol=1e-6)
    assert_allclose(
        gate.intercept_,
        reference.intercept_ - reference.intercept_.mean(),
        rtol=0,
        atol=1e-6,
    )


def test_softmax_gate_fitted_attributes():
    X, resp, sample_weight = _soft_targets(n_features=3, n_experts=4)

    gate = SoftmaxGate().fit(X, resp, sample_weight)

    assert gate.coef_.shape == (3, 4)
    assert gate.intercept_.shape == (4,)
    assert gate.n_experts_ == 4
    assert gate.n_features_in_ == 3
    assert gate.n_iter_ > 0
    assert not hasattr(gate, "noise_coef_")
    assert_allclose(gate.coef_.sum(axis=1), np.zeros(3), atol=1e-10)
    assert gate.intercept_.sum() == pytest.approx(0.0, abs=1e-12)


def test_softmax_gate_feature_names():
    pd = pytest.importorskip("pandas")
    X, resp, _ = _soft_targets(n_features=2)
    frame = pd.DataFrame(X, columns=["age", "income"])

    gate = SoftmaxGate().fit(frame, resp)

    assert_array_equal(gate.feature_names_in_, ["age", "income"])


def test_softmax_gate_warm_start_same_optimum():
    X, first_resp, sample_weight = _soft_targets(seed=0)
    _, second_resp, _ = _soft_targets(seed=1)

    cold = SoftmaxGate(C=2.0).fit(X, second_resp, sample_weight)
    warm = SoftmaxGate(C=2.0).fit(X, first_resp, sample_weight)
    first_coef = warm.coef_.copy()
    _fit_m_step(warm, X, second_resp, sample_weight)

    assert not np.allclose(first_coef, cold.coef_, atol=1e-3)
    assert_allclose(warm.coef_, cold.coef_, rtol=0, atol=1e-6)
    assert_allclose(warm.intercept_, cold.intercept_, rtol=0, atol=1e-6)


def test_softmax_gate_em_m_step_tolerance():
    X, resp, sample_weight = _soft_targets(seed=0)

    exact = SoftmaxGate(C=2.0).fit(X, resp, sample_weight)
    em_step = _fit_m_step(SoftmaxGate(C=2.0), X, resp, sample_weight, tol=1e-4)
    shortfall = (_m_step_objective(exact, X, resp, sample_weight)
                 - _m_step_objective(em_step, X, resp, sample_weight))

    assert em_step.n_iter_ < exact.n_iter_
    assert shortfall > -1e-12
    assert shortfall < 1e-7


def test_softmax_gate_warm_start_needs_fewer_iterations():
    X, resp, sample_weight = _soft_targets()

    gate = SoftmaxGate().fit(X, resp, sample_weight)
    cold_iterations = gate.n_iter_
    _fit_m_step(gate, X, resp, sample_weight)

    assert gate.n_iter_ < cold_iterations


def test_softmax_gate_reset_starts_cold():
    X, resp, sample_weight = _soft_targets()
    gate = SoftmaxGate().fit(X, resp, sample_weight)
    cold_iterations = gate.n_iter_

    gate._reset()

    assert not hasattr(gate, "coef_")
    assert not hasattr(gate, "intercept_")
    _fit_m_step(gate, X, resp, sample_weight)
    assert gate.n_iter_ == cold_iterations


def test_softmax_gate_balance_spreads_experts():
    X, resp = _idle_experts_targets()

    plain = _fit_m_step(SoftmaxGate(), X, resp)
    balanced = _fit_m_step(SoftmaxGate(balance=10.0), X, resp)
    plain_share = np.bincount(plain.predict(X), minlength=4) / X.shape[0]
    balanced_share = np.bincount(balanced.predict(X), minlength=4) / X.shape[0]

    assert np.count_nonzero(plain_share == 0) == 2
    assert np.count_nonzero(balanced_share == 0) < 2
    assert balanced_share.max() < plain_share.max() - 0.1
    assert balanced_share.min() >= plain_share.min()


def test_softmax_gate_balance_scale_free():
    # The same data repeated ten times, with a ten times stronger L2 penalty
    # to keep its ratio to the log-likelihood: with the balance term scaled
    # by the total weight, the optimum must not move.
    X, resp = _idle_experts_targets(n_samples=200)

    once = _fit_m_step(SoftmaxGate(C=1.0, balance=1.0), X, resp)
    tenfold = _fit_m_step(
        SoftmaxGate(C=0.1, balance=1.0), np.tile(X, (10, 1)), np.tile(resp, (10, 1))
    )

    assert_allclose(tenfold.coef_, once.coef_, rtol=0, atol=1e-4)


def test_softmax_gate_load_balance_spreads_experts():
    X, resp = _idle_experts_targets(n_samples=500)

    plain = _fit_m_step(SoftmaxGate(noise=1.0), X, resp, top_k=1)
    balanced = _fit_m_step(SoftmaxGate(noise=1.0, balance=10.0), X, resp, top_k=1)
    plain_share = np.bincount(plain.predict(X), minlength=4) / X.shape[0]
    balanced_share = np.bincount(balanced.predict(X), minlength=4) / X.shape[0]

    assert_array_equal(plain.noise_coef_, np.zeros((2, 4)))
    assert np.any(balanced.noise_coef_ != 0)
    assert np.count_nonzero(balanced_share == 0) < np.count_nonzero(plain_share == 0)
    assert balanced._n_parameters() == plain._n_parameters() + 4 * 3


def test_softmax_gate_load_m_step_reproducible():
    X, resp = _idle_experts_targets(n_samples=300)

    first = _fit_m_step(
        SoftmaxGate(noise=0.5, balance=1.0), X, resp, top_k=2, random_state=3
    )
    second = _fit_m_step(
        SoftmaxGate(noise=0.5, balance=1.0), X, resp, top_k=2, random_state=3
    )

    assert_array_equal(first.coef_, second.coef_)
    assert_array_equal(first.noise_coef_, second.noise_coef_)


def test_softmax_gate_routing_noise_reproducible():
    X, resp, _ = _soft_targets()
    gate = SoftmaxGate(noise=1.0).fit(X, resp)

    first = gate._routing_log_proba(X, random_state=0)
    second = gate._routing_log_proba(X, random_state=0)
    other = gate._routing_log_proba(X, random_state=1)

    assert_array_equal(first, second)
    assert not np.allclose(first, other)
    assert_allclose(np.exp(first).sum(axis=1), np.ones(X.shape[0]), rtol=1e-12)


def test_softmax_gate_prediction_noise_free():
    X, resp, _ = _soft_targets()
    gate = SoftmaxGate(noise=1.0).fit(X, resp)

    expected = log_softmax_numpy(X @ gate.coef_ + gate.intercept_)

    assert_allclose(gate.predict_log_proba(X), expected, rtol=1e-12, atol=1e-14)
    assert_array_equal(gate.predict_log_proba(X), gate.predict_log_proba(X))


def test_softmax_gate_routing_without_noise_is_log_proba():
    X, resp, _ = _soft_targets()
    gate = SoftmaxGate().fit(X, resp)

    assert_array_equal(gate._routing_log_proba(X, random_state=0), gate._log_proba(X))


def test_softmax_gate_one_expert():
    X, _, sample_weight = _soft_targets()
    resp = np.ones((X.shape[0], 1))

    gate = SoftmaxGate().fit(X, resp, sample_weight)

    assert_array_equal(gate.predict_log_proba(X), np.zeros((X.shape[0], 1)))
    assert_array_equal(gate.coef_, np.zeros((3, 1)))
    assert gate._n_parameters() == 0
    assert gate._penalty() == 0.0


@pytest.mark.parametrize("balance", [0.0, 1.0])
def test_softmax_gate_zero_weight_rows_ignored(balance):
    X, resp, sample_weight = _soft_targets()
    counted_rows = np.arange(X.shape[0]) >= 40
    sample_weight[:20] = 0.0
    resp[20:40] = 0.0

    gate = SoftmaxGate(balance=balance).fit(X, resp, sample_weight)
    reference = SoftmaxGate(balance=balance).fit(
        X[counted_rows], resp[counted_rows], sample_weight[counted_rows]
    )

    assert_allclose(gate.coef_, reference.coef_, rtol=0, atol=1e-6)
    assert_allclose(gate.intercept_, reference.intercept_, rtol=0, atol=1e-6)


def test_softmax_gate_all_weights_zero():
    X, resp, _ = _soft_targets()

    gate = SoftmaxGate(balance=1.0).fit(X, resp, np.zeros(X.shape[0]))

    assert_array_equal(gate.coef_, np.zeros((3, 4)))
    assert_allclose(gate.predict_proba(X), np.full((X.shape[0], 4), 0.25))


def test_softmax_gate_log_proba_finite_for_extreme_input():
    X, resp, _ = _soft_targets()
    gate = SoftmaxGate(C=1e6).fit(X, resp)

    log_proba = gate.predict_log_proba(1e6 * X)

    assert np.all(np.isfinite(log_proba))


def test_softmax_gate_permute_experts():
    X, resp, _ = _soft_targets()
    gate = SoftmaxGate(noise=0.5).fit(X, resp)
    log_proba = gate.predict_log_proba(X)
    order = np.array([2, 0, 3, 1])

    gate._permute_experts(order)

    assert_allclose(gate.predict_log_proba(X), log_proba[:, order], rtol=1e-12)
    assert gate.noise_coef_.shape == (3, 4)


def test_softmax_gate_penalty_and_n_parameters():
    X, resp, _ = _soft_targets(n_features=3, n_experts=4)

    gate = SoftmaxGate(C=0.5).fit(X, resp)

    assert gate._penalty() == pytest.approx(np.sum(gate.coef_**2))
    assert gate._n_parameters() == 3 * 4


def test_softmax_gate_not_fitted():
    with pytest.raises(NotFittedError):
        SoftmaxGate().predict_log_proba(np.zeros((2, 3)))


def test_softmax_gate_clone_keeps_params():
    gate = SoftmaxGate(C=3.0, noise=0.5, balance=0.1)

    assert clone(gate).get_params() == {"C": 3.0, "noise": 0.5, "balance": 0.1}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"C": 0.0}, r"The 'C' parameter of SoftmaxGate must be .* Got 0.0 instead"),
        ({"C": -1.0}, r"The 'C' parameter of SoftmaxGate must be .* Got -1.0"),
        ({"C": "strong"}, r"The 'C' parameter of SoftmaxGate must be .* Got 'strong'"),
        ({"noise": -0.1}, r"The 'noise' parameter of SoftmaxGate must be .* Got -0.1"),
        (
            {"balance": -2.0},
            r"The 'balance' parameter of SoftmaxGate must be .* Got -2.0",
        ),
    ],
)
def test_softmax_gate_invalid_params(params, message):
    X, resp, _ = _soft_targets()

    with pytest.raises(ValueError, match=message):
        SoftmaxGate(**params).fit(X, resp)
