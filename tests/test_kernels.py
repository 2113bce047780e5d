"""Tests of the Numba kernels against their NumPy twins and finite differences."""

# SPDX-License-Identifier: BSD-3-Clause

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import scipy.stats
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import approx_fprime

from skmoe import _kernels

SHAPES = [(1, 1), (1, 4), (7, 1), (50, 5), (200, 16)]


def _random_log_weights(n_samples, n_experts, seed, inf_share=0.2):
    """Return normal draws with a share of -inf entries, never a whole row."""
    rng = np.random.RandomState(seed)
    values = rng.normal(scale=3.0, size=(n_samples, n_experts))
    minus_inf = rng.uniform(size=values.shape) < inf_share
    minus_inf[:, rng.randint(n_experts)] = False
    values[minus_inf] = -np.inf
    return values


def _assert_same_inf(actual, expected):
    assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    assert not np.any(np.isnan(actual))


### Parity with the NumPy twins


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
def test_e_step_matches_numpy(n_samples, n_experts):
    log_gate = _random_log_weights(n_samples, n_experts, seed=0)
    log_dens = _random_log_weights(n_samples, n_experts, seed=1, inf_share=0.0)

    resp, log_norm = _kernels.e_step(log_gate, log_dens)
    expected_resp, expected_log_norm = _kernels.e_step_numpy(log_gate, log_dens)

    assert_allclose(resp, expected_resp, rtol=1e-12, atol=1e-300)
    assert_allclose(log_norm, expected_log_norm, rtol=1e-12)


def test_e_step_all_minus_inf_row_matches_numpy():
    log_gate = np.array([[-np.inf, -np.inf], [0.0, -np.inf]])
    log_dens = np.array([[0.0, -1.0], [-np.inf, 0.0]])

    resp, log_norm = _kernels.e_step(log_gate, log_dens)
    expected_resp, expected_log_norm = _kernels.e_step_numpy(log_gate, log_dens)

    assert_array_equal(resp, np.zeros((2, 2)))
    assert_array_equal(log_norm, [-np.inf, -np.inf])
    assert_array_equal(expected_resp, resp)
    assert_array_equal(expected_log_norm, log_norm)


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
def test_gaussian_log_density_matches_numpy(n_samples, n_experts):
    rng = np.random.RandomState(0)
    y = rng.normal(size=n_samples)
    mean = rng.normal(size=(n_samples, n_experts))
    variance = rng.uniform(0.01, 4.0, size=n_experts)

    log_density = _kernels.gaussian_log_density(y, mean, variance)

    assert_allclose(
        log_density,
        _kernels.gaussian_log_density_numpy(y, mean, variance),
        rtol=1e-12,
    )
    assert_allclose(
        log_density,
        scipy.stats.norm.logpdf(y[:, np.newaxis], mean, np.sqrt(variance)),
        rtol=1e-12,
    )


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
@pytest.mark.parametrize("k", [1, 2, 4, 20])
def test_top_k_log_softmax_matches_numpy(n_samples, n_experts, k):
    # Rounding to one decimal creates ties, which go to the lower index.
    log_weights = np.round(_random_log_weights(n_samples, n_experts, seed=2), 1)

    log_sparse = _kernels.top_k_log_softmax(log_weights, k)
    expected = _kernels.top_k_log_softmax_numpy(log_weights, k)

    _assert_same_inf(log_sparse, expected)
    assert_allclose(log_sparse, expected, rtol=1e-12)


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
@pytest.mark.parametrize("capacity", [0, 1, 3, 1000])
def test_expert_choice_weights_matches_numpy(n_samples, n_experts, capacity):
    rng = np.random.RandomState(3)
    # One decimal gives ties and exact zeros, which are never taken.
    resp = np.round(rng.dirichlet(np.ones(n_experts), size=n_samples), 1)

    weights = _kernels.expert_choice_weights(resp, capacity)

    assert_allclose(
        weights, _kernels.expert_choice_weights_numpy(resp, capacity), rtol=1e-12
    )


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
def test_log_softmax_matches_numpy(n_samples, n_experts):
    logits = np.random.RandomState(4).normal(scale=50.0, size=(n_samples, n_experts))

    log_proba = _kernels.log_softmax(logits)

    assert_allclose(log_proba, _kernels.log_softmax_numpy(logits), rtol=1e-12, atol=1e-14)
    assert np.all(np.isfinite(log_proba))


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
def test_perturb_logits_matches_numpy(n_samples, n_experts):
    rng = np.random.RandomState(5)
    logits, noise_logits, standard_normal = rng.normal(size=(3, n_samples, n_experts))

    noisy = _kernels.perturb_logits(logits, noise_logits, standard_normal, 0.7)

    assert_allclose(
        noisy,
        _kernels.perturb_logits_numpy(logits, noise_logits, standard_normal, 0.7),
        rtol=1e-12,
    )


def _gate_inputs(n_samples, n_experts, seed):
    rng = np.random.RandomState(seed)
    logits, noise_logits, standard_normal = rng.normal(size=(3, n_samples, n_experts))
    resp = rng.dirichlet(np.ones(n_experts), size=n_samples)
    sample_weight = rng.uniform(0.0, 2.0, size=n_samples)
    return logits, noise_logits, standard_normal, resp, sample_weight


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
def test_cross_entropy_loss_grad_matches_numpy(n_samples, n_experts):
    logits, _, _, resp, sample_weight = _gate_inputs(n_samples, n_experts, seed=6)
    resp[0] = 0.0

    loss, grad = _kernels.cross_entropy_loss_grad(logits, resp, sample_weight)
    expected_loss, expected_grad = _kernels.cross_entropy_loss_grad_numpy(
        logits, resp, sample_weight
    )

    assert loss == pytest.approx(expected_loss, rel=1e-12, abs=1e-300)
    assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)
    assert_array_equal(grad[0], np.zeros(n_experts))


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
def test_importance_loss_grad_matches_numpy(n_samples, n_experts):
    logits, _, _, _, sample_weight = _gate_inputs(n_samples, n_experts, seed=7)

    loss, grad = _kernels.importance_loss_grad(logits, sample_weight)
    expected_loss, expected_grad = _kernels.importance_loss_grad_numpy(
        logits, sample_weight
    )

    assert loss == pytest.approx(expected_loss, rel=1e-10, abs=1e-15)
    assert_allclose(grad, expected_grad, rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
@pytest.mark.parametrize("k", [1, 3, 20])
def test_load_loss_grad_matches_numpy(n_samples, n_experts, k):
    logits, noise_logits, standard_normal, _, sample_weight = _gate_inputs(
        n_samples, n_experts, seed=8
    )
    # Ties of the noisy logits must follow the same index rule in both.
    standard_normal[:, -1] = 0.0
    logits[:, -1] = logits[:, 0] + standard_normal[:, 0] * 0.5 * np.logaddexp(
        0.0, noise_logits[:, 0]
    )

    result = _kernels.load_loss_grad(
        logits, noise_logits, standard_normal, 0.5, sample_weight, k
    )
    expected = _kernels.load_loss_grad_numpy(
        logits, noise_logits, standard_normal, 0.5, sample_weight, k
    )

    assert result[0] == pytest.approx(expected[0], rel=1e-10, abs=1e-15)
    assert_allclose(result[1], expected[1], rtol=1e-8, atol=1e-14)
    assert_allclose(result[2], expected[2], rtol=1e-8, atol=1e-14)


### Properties


@pytest.mark.parametrize("n_samples, n_experts", SHAPES)
def test_e_step_rows_sum_to_one(n_samples, n_experts):
    log_gate = _random_log_weights(n_samples, n_experts, seed=9)
    log_dens = _random_log_weights(n_samples, n_experts, seed=10)
    log_dens[np.isneginf(log_gate)] = 0.0

    resp, log_norm = _kernels.e_step(log_gate, log_dens)

    assert_allclose(resp.sum(axis=1), np.ones(n_samples), rtol=1e-12)
    assert_allclose(
        log_norm, scipy.special.logsumexp(log_gate + log_dens, axis=1), rtol=1e-12
    )


def test_top_k_log_softmax_ties_keep_lower_index():
    log_weights = np.array([[0.0, 1.0, 1.0, 1.0, -np.inf]])

    log_sparse = _kernels.top_k_log_softmax(log_weights, 2)

    assert_allclose(log_sparse, [[-np.inf, -np.log(2), -np.log(2), -np.inf, -np.inf]])


def test_top_k_log_softmax_keeps_k_entries():
    log_weights = _random_log_weights(100, 8, seed=11, inf_share=0.0)

    log_sparse = _kernels.top_k_log_softmax(log_weights, 3)

    assert_array_equal(np.isfinite(log_sparse).sum(axis=1), np.full(100, 3))
    assert_allclose(np.exp(log_sparse).sum(axis=1), np.ones(100), rtol=1e-12)


def test_expert_choice_weights_example():
    resp = np.array(
        [
            [0.5, 0.5, 0.0],
            [0.9, 0.1, 0.0],
            [0.5, 0.0, 0.5],
            [0.0, 0.0, 1.0],
        ]
    )

    weights = _kernels.expert_choice_weights(resp, 2)

    # Expert 0 takes rows 1 and 0 (tie with row 2 goes to the lower index),
    # expert 1 takes rows 0 and 1, expert 2 takes rows 3 and 2.
    expected = np.array(
        [
            [0.5, 0.5, 0.0],
            [0.9, 0.1, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, 1.0],
        ]
    )
    assert_allclose(weights, expected)


def test_expert_choice_weights_untaken_row_zero():
    resp = np.array([[1.0, 0.0], [0.6, 0.4], [0.7, 0.3]])

    weights = _kernels.expert_choice_weights(resp, 1)

    # Expert 0 takes row 0 and expert 1 takes row 1, so row 2 sits out.
    assert_allclose(weights, [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])


def test_load_loss_grad_zero_when_every_expert_kept():
    logits, noise_logits, standard_normal, _, sample_weight = _gate_inputs(20, 4, 12)

    loss, grad, grad_noise = _kernels.load_loss_grad(
        logits, noise_logits, standard_normal, 1.0, sample_weight, 4
    )

    assert loss == 0.0
    assert_array_equal(grad, np.zeros((20, 4)))
    assert_array_equal(grad_noise, np.zeros((20, 4)))


### Gradients against finite differences


def _assert_gradient(loss_function, gradient, point):
    numerical = approx_fprime(point.ravel(), lambda v: loss_function(v), 1e-7)
    scale = max(np.abs(gradient).max(), 1e-3)
    assert_allclose(gradient.ravel(), numerical, rtol=0, atol=1e-5 * scale)


def test_cross_entropy_loss_grad_finite_differences():
    logits, _, _, resp, sample_weight = _gate_inputs(30, 4, seed=13)

    _, grad = _kernels.cross_entropy_loss_grad(logits, resp, sample_weight)

    _assert_gradient(
        lambda v: _kernels.cross_entropy_loss_grad(
            v.reshape(logits.shape), resp, sample_weight
        )[0],
        grad,
        logits,
    )


def test_importance_loss_grad_finite_differences():
    logits, _, _, _, sample_weight = _gate_inputs(30, 4, seed=14)

    _, grad = _kernels.importance_loss_grad(logits, sample_weight)

    _assert_gradient(
        lambda v: _kernels.importance_loss_grad(v.reshape(logits.shape), sample_weight)[
            0
        ],
        grad,
        logits,
    )


@pytest.mark.parametrize("k", [1, 2, 3])
def test_load_loss_grad_finite_differences(k):
    logits, noise_logits, standard_normal, _, sample_weight = _gate_inputs(30, 4, 15)
    noise = 0.8

    _, grad, grad_noise = _kernels.load_loss_grad(
        logits, noise_logits, standard_normal, noise, sample_weight, k
    )

    _assert_gradient(
        lambda v: _kernels.load_loss_grad(
            v.reshape(logits.shape),
            noise_logits,
            standard_normal,
            noise,
            sample_weight,
            k,
        )[0],
        grad,
        logits,
    )
    _assert_gradient(
        lambda v: _kernels.load_loss_grad(
            logits,
            v.reshape(logits.shape),
            standard_normal,
            noise,
            sample_weight,
            k,
        )[0],
        grad_noise,
        noise_logits,
    )


### Compilation settings


def _run_python(code, **environment):
    env = {**os.environ, **environment}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_kernels_run_without_cache_locator(tmp_path):
    # A cache folder below a regular file cannot be created, and limiting the
    # locators to that folder makes numba find no writable cache location,
    # as in a read-only install.
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = """
        import numpy as np
        from numba.core.caching import NullCache
        from skmoe import _kernels

        assert isinstance(_kernels.e_step._cache, NullCache)
        resp, log_norm = _kernels.e_step(np.zeros((2, 3)), np.zeros((2, 3)))
        print(round(resp.sum(), 12), log_norm.round(6).tolist())
    """

    completed = _run_python(
        code,
        NUMBA_CACHE_DIR=str(blocker / "cache"),
        NUMBA_CACHE_LOCATOR_CLASSES="UserProvidedCacheLocator",
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["2.0", "[1.098612,", "1.098612]"]


def test_kernels_parity_without_jit():
    # NUMBA_DISABLE_JIT=1 runs the kernels as plain Python: the parity tests
    # must hold for that code path too. Only the parity tests run, on their
    # small shapes, to keep this quick.
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(Path(__file__)),
            "-q",
            "-p",
            "no:cacheprovider",
            "-k",
            "matches_numpy or rows_sum or ties or example or finite_differences",
        ],
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert completed.returncode == 0, completed.stdout[-3000:]
    assert " passed" in completed.stdout
    assert " failed" not in completed.stdout
