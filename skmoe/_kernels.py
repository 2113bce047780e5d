"""Numba kernels for the EM driver and the softmax gate, each with a NumPy twin.

Callers: the EM driver (skmoe/_base.py) uses `e_step`, `gaussian_log_density`,
`top_k_log_softmax` and `expert_choice_weights`. The softmax gate
(skmoe/gating/_softmax.py) uses `log_softmax`, `perturb_logits`,
`cross_entropy_loss_grad`, `importance_loss_grad` and `load_loss_grad`. Every
kernel takes C-contiguous float64 arrays and allocates each output once, with
at most a few n_experts-long scratch vectors besides (`expert_choice_weights`
also copies each column). No kernel draws random numbers: the routing noise is
drawn with NumPy by the caller. The `<kernel>_numpy` twin of each kernel is the
reference that tests/test_kernels.py compares it against, also with
NUMBA_DISABLE_JIT=1.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math

import numba
import numpy as np
import scipy.special

__all__ = [
    "cross_entropy_loss_grad",
    "e_step",
    "expert_choice_weights",
    "gaussian_log_density",
    "importance_loss_grad",
    "load_loss_grad",
    "log_softmax",
    "perturb_logits",
    "top_k_log_softmax",
]

_LOG_2PI = math.log(2.0 * math.pi)
_SQRT_2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _jit(**options):
    """Return a `numba.jit(nogil=True, cache=True, **options)` decorator.

    numba raises "cannot cache function ...: no locator available" at
    decoration time when no cache folder is writable (a read-only install,
    an unusable NUMBA_CACHE_DIR). The kernel is then compiled without an
    on-disk cache instead, so the package still imports and runs.
    """

    def decorate(function):
        try:
            return numba.jit(nogil=True, cache=True, **options)(function)
        except RuntimeError as error:
            if "no locator available" not in str(error):
                raise
            return numba.jit(nogil=True, cache=False, **options)(function)

    return decorate


### Scalar helpers


@_jit()
def _softplus(a):
    if a > 0.0:
        return a + math.log1p(math.exp(-a))
    return math.log1p(math.exp(a))


@_jit()
def _sigmoid(a):
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


@_jit()
def _rank_in_row(row, j):
    """Return the 0-based rank of row[j] in descending order, ties to the lower index."""
    value = row[j]
    rank = 0
    for index in range(row.shape[0]):
        other = row[index]
        if other > value or (other == value and index < j):
            rank += 1
    return rank


@_jit()
def _index_of_rank(row, rank):
    """Return the index whose descending rank (ties to the lower index) is `rank`."""
    for j in range(row.shape[0]):
        if _rank_in_row(row, j) == rank:
            return j
    return -1


@_jit()
def _cv_squared_grad(totals):
    """Return CV(totals)^2 (population variance over squared mean) and its gradient.

    Both are zero when the mean is not positive (no weight at all).
    """
    n_experts = totals.shape[0]
    gradient = np.zeros(n_experts)
    mean = 0.0
    for k in range(n_experts):
        mean += totals[k]
    mean /= n_experts
    if mean <= 0.0:
        return 0.0, gradient
    variance = 0.0
    for k in range(n_experts):
        variance += (totals[k] - mean) ** 2
    variance /= n_experts
    for k in range(n_experts):
        gradient[k] = 2.0 * (totals[k] - mean) / (n_experts * mean**2) - (
            2.0 * variance / (n_experts * mean**3)
        )
    return variance / mean**2, gradient


def _cv_squared_grad_numpy(totals):
    n_experts = totals.shape[0]
    mean = totals.mean()
    if mean <= 0.0:
        return 0.0, np.zeros(n_experts)
    variance = np.mean((totals - mean) ** 2)
    gradient = 2.0 * (totals - mean) / (n_experts * mean**2) - 2.0 * variance / (
        n_experts * mean**3
    )
    return variance / mean**2, gradient


### E-step and expert densities (EM driver)


@_jit(parallel=True)
def e_step(log_gate, log_dens):
    """Compute responsibilities and the per-row log mixture density.

    Parameters
    ----------
    log_gate : ndarray of shape (n_samples, n_experts)
        Log gate weights; -inf allowed.
    log_dens : ndarray of shape (n_samples, n_experts)
        Log expert densities; -inf allowed.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_experts)
        exp(log_gate + log_dens - log_norm); a row whose entries are all -inf
        gets zeros.
    log_norm : ndarray of shape (n_samples,)
        logsumexp over experts of log_gate + log_dens; -inf for such a row.
    """
    n_samples, n_experts = log_gate.shape
    resp = np.empty((n_samples, n_experts))
    log_norm = np.empty(n_samples)
    for i in numba.prange(n_samples):
        row_max = -np.inf
        for k in range(n_experts):
            value = log_gate[i, k] + log_dens[i, k]
            if value > row_max:
                row_max = value
        if row_max == -np.inf:
            log_norm[i] = -np.inf
            for k in range(n_experts):
                resp[i, k] = 0.0
            continue
        total = 0.0
        for k in range(n_experts):
            term = math.exp(log_gate[i, k] + log_dens[i, k] - row_max)
            resp[i, k] = term
            total += term
        log_norm[i] = row_max + math.log(total)
        inverse = 1.0 / total
        for k in range(n_experts):
            resp[i, k] *= inverse
    return resp, log_norm


def e_step_numpy(log_gate, log_dens):
    """NumPy/SciPy twin of `e_step`."""
    log_joint = log_gate + log_dens
    log_norm = scipy.special.logsumexp(log_joint, axis=1)
    finite = np.isfinite(log_norm)
    resp = np.zeros_like(log_joint)
    resp[finite] = np.exp(log_joint[finite] - log_norm[finite, np.newaxis])
    return resp, log_norm


@_jit(parallel=True)
def gaussian_log_density(y, mean, variance):
    """Compute log Normal(y_i; mean_ik, variance_k) for every row and expert.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
    mean : ndarray of shape (n_samples, n_experts)
        Expert predictions.
    variance : ndarray of shape (n_experts,)
        Positive noise variance of each expert.

    Returns
    -------
    log_density : ndarray of shape (n_samples, n_experts)
    """
    n_samples, n_experts = mean.shape
    log_density = np.empty((n_samples, n_experts))
    for i in numba.prange(n_samples):
        for k in range(n_experts):
            residual = y[i] - mean[i, k]
            log_density[i, k] = -0.5 * (
                _LOG_2PI + math.log(variance[k]) + residual * residual / variance[k]
            )
    return log_density


def gaussian_log_density_numpy(y, mean, variance):
    """NumPy twin of `gaussian_log_density`."""
    residual = y[:, np.newaxis] - mean
    return -0.5 * (_LOG_2PI + np.log(variance) + residual**2 / variance)


### Sparse routing (EM driver)


@_jit(parallel=True)
def top_k_log_softmax(log_weights, k):
    """Keep the k largest entries of each row and log-softmax over them.

    Ties go to the lower column index. Dropped entries are -inf, and a row
    whose k largest entries are all -inf stays all -inf.

    Parameters
    ----------
    log_weights : ndarray of shape (n_samples, n_experts)
        Log gate weights or log responsibilities; -inf allowed.
    k : int
        Number of entries kept per row, >= 1.

    Returns
    -------
    log_sparse : ndarray of shape (n_samples, n_experts)
    """
    n_samples, n_experts = log_weights.shape
    log_sparse = np.empty((n_samples, n_experts))
    for i in numba.prange(n_samples):
        row = log_weights[i]
        row_max = -np.inf
        for j in range(n_experts):
            if _rank_in_row(row, j) < k:
                log_sparse[i, j] = row[j]
                if row[j] > row_max:
                    row_max = row[j]
            else:
                log_sparse[i, j] = -np.inf
        if row_max == -np.inf:
            continue
        total = 0.0
        for j in range(n_experts):
            total += math.exp(log_sparse[i, j] - row_max)
        log_total = row_max + math.log(total)
        for j in range(n_experts):
            log_sparse[i, j] -= log_total
    return log_sparse


def top_k_log_softmax_numpy(log_weights, k):
    """NumPy twin of `top_k_log_softmax`."""
    order = np.argsort(-log_weights, axis=1, kind="stable")
    in_top_k = np.zeros(log_weights.shape, dtype=bool)
    np.put_along_axis(in_top_k, order[:, :k], True, axis=1)
    masked = np.where(in_top_k, log_weights, -np.inf)
    log_total = scipy.special.logsumexp(masked, axis=1, keepdims=True)
    finite = in_top_k & np.isfinite(log_total)
    log_sparse = np.full(log_weights.shape, -np.inf)
    log_sparse[finite] = (masked - np.where(np.isfinite(log_total), log_total, 0.0))[
        finite
    ]
    return log_sparse


@_jit(parallel=True)
def expert_choice_weights(resp, capacity):
    """Route rows by expert choice and renormalise each row over its experts.

    Each expert k takes the `capacity` rows with the largest resp[:, k] among
    the rows with resp[:, k] > 0, ties to the lower row index (Zhou et al.,
    2022, "Mixture-of-experts with expert choice routing"). Each row is then
    renormalised over the experts that took it, and a row taken by none is
    zero.

    Parameters
    ----------
    resp : ndarray of shape (n_samples, n_experts)
        Non-negative responsibilities.
    capacity : int
        Number of rows each expert takes.

    Returns
    -------
    weights : ndarray of shape (n_samples, n_experts)

    Notes
    -----
    Besides the output, each expert allocates two scratch copies of its
    column, for the selection of its `capacity`-th largest value.
    """
    n_samples, n_experts = resp.shape
    weights = np.zeros((n_samples, n_experts))
    for k in numba.prange(n_experts):
        column = np.ascontiguousarray(resp[:, k])
        n_positive = 0
        for i in range(n_samples):
            if column[i] > 0.0:
                n_positive += 1
        n_taken = min(capacity, n_positive)
        if n_taken <= 0:
            continue
        # The threshold is positive because at least n_taken entries are.
        threshold = np.partition(column, n_samples - n_taken)[n_samples - n_taken]
        n_above = 0
        for i in range(n_samples):
            if column[i] > threshold:
                weights[i, k] = column[i]
                n_above += 1
        n_tied = n_taken - n_above
        for i in range(n_samples):
            if n_tied == 0:
                break
            if column[i] == threshold:
                weights[i, k] = column[i]
                n_tied -= 1
    for i in numba.prange(n_samples):
        total = 0.0
        for k in range(n_experts):
            total += weights[i, k]
        if total > 0.0:
            for k in range(n_experts):
                weights[i, k] /= total
    return weights


def expert_choice_weights_numpy(resp, capacity):
    """NumPy twin of `expert_choice_weights`."""
    weights = np.zeros_like(resp)
    for k in range(resp.shape[1]):
        column = resp[:, k]
        n_taken = max(0, min(capacity, np.count_nonzero(column > 0.0)))
        top_rows = np.argsort(-column, kind="stable")[:n_taken]
        weights[top_rows, k] = column[top_rows]
    total = weights.sum(axis=1, keepdims=True)
    np.divide(weights, total, out=weights, where=total > 0.0)
    return weights


### Softmax gate: log weights, noise, losses and their gradients


@_jit(parallel=True)
def log_softmax(logits):
    """Compute the row-wise log-softmax, finite wherever the logits are.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_experts)

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_experts)
    """
    n_samples, n_experts = logits.shape
    log_proba = np.empty((n_samples, n_experts))
    for i in numba.prange(n_samples):
        row_max = -np.inf
        for k in range(n_experts):
            if logits[i, k] > row_max:
                row_max = logits[i, k]
        total = 0.0
        for k in range(n_experts):
            total += math.exp(logits[i, k] - row_max)
        log_total = math.log(total)
        for k in range(n_experts):
            log_proba[i, k] = (logits[i, k] - row_max) - log_total
    return log_proba


def log_softmax_numpy(logits):
    """SciPy twin of `log_softmax`."""
    return scipy.special.log_softmax(logits, axis=1)


@_jit(parallel=True)
def perturb_logits(logits, noise_logits, standard_normal, noise):
    """Add the routing noise standard_normal * noise * softplus(noise_logits).

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_experts)
        Noise-free gate logits x W + b.
    noise_logits : ndarray of shape (n_samples, n_experts)
        x W_noise + b_noise.
    standard_normal : ndarray of shape (n_samples, n_experts)
        N(0, 1) draws.
    noise : float
        Scale of the noise.

    Returns
    -------
    noisy_logits : ndarray of shape (n_samples, n_experts)
    """
    n_samples, n_experts = logits.shape
    noisy_logits = np.empty((n_samples, n_experts))
    for i in numba.prange(n_samples):
        for k in range(n_experts):
            noisy_logits[i, k] = logits[i, k] + standard_normal[i, k] * noise * (
                _softplus(noise_logits[i, k])
            )
    return noisy_logits


def perturb_logits_numpy(logits, noise_logits, standard_normal, noise):
    """NumPy twin of `perturb_logits`."""
    return logits + standard_normal * noise * np.logaddexp(0.0, noise_logits)


@_jit(parallel=True)
def cross_entropy_loss_grad(logits, resp, sample_weight):
    """Compute the weighted soft-target cross-entropy and its gradient.

    loss = -sum_i w_i sum_k r_ik log softmax(logits_i)_k. With s_i the row sum
    of resp, the gradient with respect to the logits is w_i (s_i g_ik - r_ik),
    so a row of zero responsibilities contributes nothing.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_experts)
    resp : ndarray of shape (n_samples, n_experts)
        Non-negative soft targets.
    sample_weight : ndarray of shape (n_samples,)

    Returns
    -------
    loss : float
    grad_logits : ndarray of shape (n_samples, n_experts)
    """
    n_samples, n_experts = logits.shape
    grad_logits = np.empty((n_samples, n_experts))
    loss = 0.0
    for i in numba.prange(n_samples):
        row_max = -np.inf
        for k in range(n_experts):
            if logits[i, k] > row_max:
                row_max = logits[i, k]
        total = 0.0
        resp_sum = 0.0
        for k in range(n_experts):
            total += math.exp(logits[i, k] - row_max)
            resp_sum += resp[i, k]
        log_total = math.log(total)
        weight = sample_weight[i]
        row_loss = 0.0
        for k in range(n_experts):
            log_proba = (logits[i, k] - row_max) - log_total
            if resp[i, k] > 0.0:
                row_loss -= resp[i, k] * log_proba
            grad_logits[i, k] = weight * (resp_sum * math.exp(log_proba) - resp[i, k])
        loss += weight * row_loss
    return loss, grad_logits


def cross_entropy_loss_grad_numpy(logits, resp, sample_weight):
    """NumPy twin of `cross_entropy_loss_grad`."""
    log_proba = scipy.special.log_softmax(logits, axis=1)
    loss = -np.sum(sample_weight * np.sum(resp * log_proba, axis=1))
    resp_sum = resp.sum(axis=1, keepdims=True)
    grad_logits = sample_weight[:, np.newaxis] * (resp_sum * np.exp(log_proba) - resp)
    return loss, grad_logits


@_jit(parallel=True)
def importance_loss_grad(logits, sample_weight):
    """Compute the importance loss CV(importance)^2 and its gradient.

    importance_k = sum_i w_i softmax(logits_i)_k (Shazeer et al., 2017), CV
    the coefficient of variation over experts (population variance). The
    loss is zero when all weights are zero.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_experts)
    sample_weight : ndarray of shape (n_samples,)

    Returns
    -------
    loss : float
    grad_logits : ndarray of shape (n_samples, n_experts)
    """
    n_samples, n_experts = logits.shape
    grad_logits = np.empty((n_samples, n_experts))
    # First pass: the gate weights, kept in grad_logits until the second pass.
    for i in numba.prange(n_samples):
        row_max = -np.inf
        for k in range(n_experts):
            if logits[i, k] > row_max:
                row_max = logits[i, k]
        total = 0.0
        for k in range(n_experts):
            grad_logits[i, k] = math.exp(logits[i, k] - row_max)
            total += grad_logits[i, k]
        for k in range(n_experts):
            grad_logits[i, k] /= total
    importance = np.zeros(n_experts)
    for i in range(n_samples):
        for k in range(n_experts):
            importance[k] += sample_weight[i] * grad_logits[i, k]
    loss, grad_importance = _cv_squared_grad(importance)
    for i in numba.prange(n_samples):
        mean_grad = 0.0
        for k in range(n_experts):
            mean_grad += grad_importance[k] * grad_logits[i, k]
        for k in range(n_experts):
            grad_logits[i, k] = (
                sample_weight[i] * grad_logits[i, k] * (grad_importance[k] - mean_grad)
            )
    return loss, grad_logits


def importance_loss_grad_numpy(logits, sample_weight):
    """NumPy twin of `importance_loss_grad`."""
    proba = scipy.special.softmax(logits, axis=1)
    loss, grad_importance = _cv_squared_grad_numpy(sample_weight @ proba)
    mean_grad = proba @ grad_importance
    grad_logits = (
        sample_weight[:, np.newaxis]
        * proba
        * (grad_importance - mean_grad[:, np.newaxis])
    )
    return loss, grad_logits


@_jit(parallel=True)
def load_loss_grad(logits, noise_logits, standard_normal, noise, sample_weight, k):
    """Compute the load loss CV(load)^2 and its gradients.

    With noisy logits h = logits + standard_normal * sigma, where sigma = noise
    * softplus(noise_logits), the probability that expert j stays in the top
    k of row i when only its own noise is redrawn is (Shazeer et al., 2017)
    P_ij = Phi((logits_ij - t_ij) / sigma_ij). Here t_ij is the k-th largest
    entry of h_i without h_ij (ties to the lower index) and Phi the standard
    normal CDF. load_j = sum_i w_i P_ij. The gradient flows through t_ij
    too, and it is exact away from ties of h. The loss is zero when
    k >= n_experts, because every expert is then always kept.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_experts)
    noise_logits : ndarray of shape (n_samples, n_experts)
    standard_normal : ndarray of shape (n_samples, n_experts)
        The N(0, 1) draws that make h.
    noise : float
        Noise scale, > 0.
    sample_weight : ndarray of shape (n_samples,)
    k : int
        Number of experts each row is routed to, >= 1.

    Returns
    -------
    loss : float
    grad_logits : ndarray of shape (n_samples, n_experts)
    grad_noise_logits : ndarray of shape (n_samples, n_experts)
    """
    n_samples, n_experts = logits.shape
    grad_logits = np.zeros((n_samples, n_experts))
    grad_noise_logits = np.zeros((n_samples, n_experts))
    if k >= n_experts:
        return 0.0, grad_logits, grad_noise_logits

    # First pass: h goes into grad_noise_logits and P into grad_logits.
    for i in numba.prange(n_samples):
        noisy = grad_noise_logits[i]
        for j in range(n_experts):
            sigma = noise * _softplus(noise_logits[i, j])
            noisy[j] = logits[i, j] + standard_normal[i, j] * sigma
        kth = _index_of_rank(noisy, k - 1)
        next_kth = _index_of_rank(noisy, k)
        for j in range(n_experts):
            if _rank_in_row(noisy, j) < k:
                threshold = noisy[next_kth]
            else:
                threshold = noisy[kth]
            sigma = noise * _softplus(noise_logits[i, j])
            grad_logits[i, j] = 0.5 * math.erfc(
                -(logits[i, j] - threshold) / (sigma * _SQRT_2)
            )
    load = np.zeros(n_experts)
    for i in range(n_samples):
        for j in range(n_experts):
            load[j] += sample_weight[i] * grad_logits[i, j]
    loss, grad_load = _cv_squared_grad(load)

    # Second pass: chain rule through P_ij, sigma_ij and the threshold entry,
    # which is h at index kth (for j outside the top k) or next_kth (inside).
    for i in numba.prange(n_samples):
        noisy = grad_noise_logits[i]
        kth = _index_of_rank(noisy, k - 1)
        next_kth = _index_of_rank(noisy, k)
        kth_value = noisy[kth]
        next_value = noisy[next_kth]
        for j in range(n_experts):
            grad_logits[i, j] = 1.0 if _rank_in_row(noisy, j) < k else 0.0
        # From here on h is no longer read, so the output rows are free.
        grad_kth = 0.0
        grad_next = 0.0
        for j in range(n_experts):
            inside = grad_logits[i, j] == 1.0
            threshold = next_value if inside else kth_value
            sigma = noise * _softplus(noise_logits[i, j])
            z = (logits[i, j] - threshold) / sigma
            density = math.exp(-0.5 * z * z) / _SQRT_2PI
            grad_z = sample_weight[i] * grad_load[j] * density / sigma
            grad_logits[i, j] = grad_z
            grad_noise_logits[i, j] = -grad_z * z
            if inside:
                grad_next -= grad_z
            else:
                grad_kth -= grad_z
        grad_logits[i, kth] += grad_kth
        grad_logits[i, next_kth] += grad_next
        grad_noise_logits[i, kth] += grad_kth * standard_normal[i, kth]
        grad_noise_logits[i, next_kth] += grad_next * standard_normal[i, next_kth]
        # d sigma / d noise_logits = noise * sigmoid(noise_logits)
        for j in range(n_experts):
            grad_noise_logits[i, j] *= noise * _sigmoid(noise_logits[i, j])
    return loss, grad_logits, grad_noise_logits


def load_loss_grad_numpy(logits, noise_logits, standard_normal, noise, sample_weight, k):
    """NumPy/SciPy twin of `load_loss_grad`."""
    n_samples, n_experts = logits.shape
    if k >= n_experts:
        return 0.0, np.zeros_like(logits), np.zeros_like(logits)
    rows = np.arange(n_samples)
    sigma = noise * np.logaddexp(0.0, noise_logits)
    noisy = logits + standard_normal * sigma
    order = np.argsort(-noisy, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n_experts)[np.newaxis, :], axis=1)
    inside = rank < k
    kth, next_kth = order[:, k - 1], order[:, k]
    threshold = np.where(
        inside, noisy[rows, next_kth][:, np.newaxis], noisy[rows, kth][:, np.newaxis]
    )
    z = (logits - threshold) / sigma
    loss, grad_load = _cv_squared_grad_numpy(sample_weight @ scipy.special.ndtr(z))

    grad_z = (
        sample_weight[:, np.newaxis] * grad_load * np.exp(-0.5 * z**2) / _SQRT_2PI / sigma
    )
    grad_logits = grad_z.copy()
    grad_sigma = -grad_z * z
    grad_kth = -np.sum(np.where(inside, 0.0, grad_z), axis=1)
    grad_next = -np.sum(np.where(inside, grad_z, 0.0), axis=1)
    grad_logits[rows, kth] += grad_kth
    grad_logits[rows, next_kth] += grad_next
    grad_sigma[rows, kth] += grad_kth * standard_normal[rows, kth]
    grad_sigma[rows, next_kth] += grad_next * standard_normal[rows, next_kth]
    grad_noise_logits = grad_sigma * noise * scipy.special.expit(noise_logits)
    return loss, grad_logits, grad_noise_logits
