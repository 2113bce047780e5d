"""Softmax gate: a multinomial logit on X, with optional noisy top-k balancing."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings
from numbers import Real

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from skmoe._kernels import (
    cross_entropy_loss_grad,
    importance_loss_grad,
    load_loss_grad,
    log_softmax,
    perturb_logits,
)
from skmoe._threads import single_thread_below
from skmoe._validation import Interval, _fit_context
from skmoe.gating._base import BaseGate

__all__ = ["SoftmaxGate"]

# L-BFGS-B settings, on the objective divided by the total weight (as
# scikit-learn's LogisticRegression scales it). `fit` solves to _GTOL. An EM
# M-step stops at EM's tol, clipped to [_GTOL, _LOOSEST_GTOL]; the upper bound
# is LogisticRegression's default tol. The step starts from the previous gate,
# so any decrease keeps EM monotone, and the objective left on the table is
# of order tol**2 * C. Solving every M-step to _GTOL made the gate 90% of the
# fit time on California housing.
_GTOL = 1e-10
_LOOSEST_GTOL = 1e-4
_FTOL = 64 * np.finfo(np.float64).eps
_MAX_ITER = 2000
_MAX_LINE_SEARCH = 50

### Objective of the M-step


def _unpack(theta, n_features, n_experts, with_noise):
    """Split the flat parameter vector into (coef, intercept, noise_coef, noise_intercept)."""
    size = n_features * n_experts
    coef = theta[:size].reshape(n_features, n_experts)
    intercept = theta[size : size + n_experts]
    if not with_noise:
        return coef, intercept, None, None
    start = size + n_experts
    noise_coef = theta[start : start + size].reshape(n_features, n_experts)
    noise_intercept = theta[start + size :]
    return coef, intercept, noise_coef, noise_intercept


def _objective(theta, X, resp, sample_weight, total_weight, gate, balance_args):
    """Return the M-step loss divided by the total weight, and its gradient.

    loss = -sum_i w_i sum_k r_ik log g_k(x_i) + |W|^2 / (2C)
           + balance * total_weight * (CV^2(importance) + CV^2(load))
           + (|W_noise|^2 + |b_noise|^2) / (2C)

    `balance_args` is None without the balance term, else a tuple
    (balance_weight, top_k, standard_normal). balance_weight is w_i times the
    row sum of resp, so rows that sit out the M-step do not count, and top_k
    None leaves the load term out.
    """
    n_features, n_experts = X.shape[1], resp.shape[1]
    with_load = balance_args is not None and balance_args[1] is not None
    coef, intercept, noise_coef, noise_intercept = _unpack(
        theta, n_features, n_experts, with_load
    )
    logits = X @ coef
    logits += intercept

    loss, grad_logits = cross_entropy_loss_grad(logits, resp, sample_weight)
    loss += np.dot(theta[: coef.size], theta[: coef.size]) / (2.0 * gate.C)
    if balance_args is not None:
        balance_scale = gate.balance * total_weight
        balance_weight, top_k, standard_normal = balance_args
        importance_loss, importance_grad = importance_loss_grad(logits, balance_weight)
        loss += balance_scale * importance_loss
        grad_logits += balance_scale * importance_grad
    if with_load:
        noise_logits = X @ noise_coef
        noise_logits += noise_intercept
        load_loss, load_grad, load_grad_noise = load_loss_grad(
            logits, noise_logits, standard_normal, gate.noise, balance_weight, top_k
        )
        noise_theta = theta[coef.size + n_experts :]
        loss += balance_scale * load_loss
        loss += np.dot(noise_theta, noise_theta) / (2.0 * gate.C)
        grad_logits += balance_scale * load_grad
        load_grad_noise *= balance_scale

    grad = np.empty_like(theta)
    grad_coef, grad_intercept, grad_noise_coef, grad_noise_intercept = _unpack(
        grad, n_features, n_experts, with_load
    )
    np.matmul(X.T, grad_logits, out=grad_coef)
    grad_coef += coef / gate.C
    grad_logits.sum(axis=0, out=grad_intercept)
    if with_load:
        np.matmul(X.T, load_grad_noise, out=grad_noise_coef)
        grad_noise_coef += noise_coef / gate.C
        load_grad_noise.sum(axis=0, out=grad_noise_intercept)
        grad_noise_intercept += noise_intercept / gate.C
    return loss / total_weight, grad / total_weight


### Gate


class SoftmaxGate(BaseGate):
    """Multinomial logit gate g(x) = softmax(x W + b).

    The gate of Jacobs et al. [1]_ and Jordan & Jacobs [2]_: a linear model
    of the log-odds between experts, refitted to the EM responsibilities in
    every M-step. Optionally, the noisy top-k routing and the balancing
    losses of Shazeer et al. [3]_ are added during training.

    Parameters
    ----------
    C : float, default=1.0
        Inverse strength of the L2 penalty on the coefficients, as in
        :class:`~sklearn.linear_model.LogisticRegression`: larger is weaker.
        Must be > 0. The intercepts are not penalised.

    noise : float, default=0.0
        Scale of the Gaussian noise added to the routing logits during
        training: N(0, 1) * noise * softplus(x W_noise + b_noise). Must be
        >= 0; 0 turns the noise off. Prediction is always noise-free.

    balance : float, default=0.0
        Weight of the importance and load losses (one weight for both) that
        push the experts towards equal use. Must be >= 0; 0 turns them off.
        See Notes for the scaling.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, n_experts)
        W, the coefficients of the logits. At the optimum each row sums to
        zero over the experts, because of the L2 penalty.

    intercept_ : ndarray of shape (n_experts,)
        b, the intercepts of the logits, centred to sum to zero (the
        softmax is unchanged by a common shift).

    noise_coef_ : ndarray of shape (n_features, n_experts)
        W_noise, the coefficients of the noise scale. Only set when
        ``noise > 0``.

    noise_intercept_ : ndarray of shape (n_experts,)
        b_noise, the intercepts of the noise scale. Only set when
        ``noise > 0``.

    n_experts_ : int
        Number of experts, read from the responsibilities.

    n_iter_ : int
        Number of L-BFGS-B iterations of the last fit or M-step.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    skmoe.gating.ClusterGate : Hard regions from a clusterer, fitted once.
    skmoe.gating.GaussianGate : Generative gate of the localised mixture.
    sklearn.linear_model.LogisticRegression : The same model for hard labels.

    Notes
    -----
    **Objective.** With row weights w_i and responsibilities r_ik, each
    M-step maximises::

        sum_i w_i sum_k r_ik log g_k(x_i) - |W|^2 / (2C)
        - balance * S * (CV(importance)^2 + CV(load)^2)
        - (|W_noise|^2 + |b_noise|^2) / (2C),

    where S = sum_i w_i sum_k r_ik is the total weight. Rows whose
    responsibilities are all zero (rows that sit out an expert-choice
    M-step) have no effect on any term. Without noise and balance this is
    the objective of ``LogisticRegression(C=C)`` on the rows replicated once
    per expert with weights w_i r_ik, and the fit reaches the same optimum.
    The last penalty only applies while the noise parameters are learned.
    It keeps the noise scale finite, because the load loss alone would grow
    it without bound.

    **Solver.** L-BFGS-B (scipy) on the objective divided by S, with the
    loss and gradient computed by Numba kernels. ``fit`` solves to a
    projected gradient of 1e-10, from zeros. Inside EM, each M-step starts
    from the current coefficients and stops at a projected gradient equal
    to the mixture's ``tol``, clipped to [1e-10, 1e-4] (1e-4 is the
    default ``tol`` of LogisticRegression): the objective still increases
    in every step (generalised EM), and the rest of the optimisation would
    change the EM objective by far less than ``tol``. A
    :class:`~sklearn.exceptions.ConvergenceWarning` is raised when the
    solver stops at its iteration limit.

    **Balance.** importance_k = sum_i w_i g_k(x_i) uses the noise-free
    dense gate weights. load_k = sum_i w_i P(x_i, k), where P is the
    probability under the routing noise that expert k stays among the
    ``top_k`` largest noisy logits (one draw of the noise per M-step, fixed
    during the optimisation). CV is the coefficient of variation over
    experts, which does not depend on the number of rows. Multiplying it by
    S keeps the balance term on the scale of the log-likelihood, so
    ``balance`` means the same on 100 rows as on 100,000. The load term is
    used only when ``noise > 0`` and ``top_k < n_experts``: with dense
    routing (``top_k=None``) every expert is always kept, and without noise
    P is a step function with no useful gradient. In both cases only the
    importance term acts, and the noise parameters stay at zero (a noise
    scale of noise * log(2)) and do not count as free parameters in BIC and
    AIC. The load term is piecewise smooth (it changes form where two noisy
    logits swap order), so L-BFGS-B may stop on a line search failure
    before reaching the gradient tolerance there.

    **Noise.** With ``noise > 0`` the routing weights used in training are
    softmax(x W + b + eps * noise * softplus(x W_noise + b_noise)), eps
    drawn from N(0, 1) with NumPy from the ``random_state`` the mixture
    passes. ``predict_log_proba`` and ``predict_proba`` are noise-free.

    References
    ----------
    .. [1] R. A. Jacobs, M. I. Jordan, S. J. Nowlan, G. E. Hinton. Adaptive
       mixtures of local experts. Neural Computation 3(1), 79-87, 1991.
    .. [2] M. I. Jordan, R. A. Jacobs. Hierarchical mixtures of experts and
       the EM algorithm. Neural Computation 6(2), 181-214, 1994.
    .. [3] N. Shazeer, A. Mirhoseini, K. Maziarz, A. Davis, Q. Le, G. Hinton,
       J. Dean. Outrageously large neural networks: the sparsely-gated
       mixture-of-experts layer. ICLR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.gating import SoftmaxGate
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> resp = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    >>> gate = SoftmaxGate(C=10.0).fit(X, resp)
    >>> gate.predict_proba([[-1.5], [1.5]]).round(3)
    array([[0.847, 0.153],
           [0.153, 0.847]])
    >>> gate.coef_.round(3)
    array([[-0.569,  0.569]])
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "balance": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, C=1.0, noise=0.0, balance=0.0):
        self.C = C
        self.noise = noise
        self.balance = balance

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, resp, sample_weight=None):
        """Fit the gate to soft expert assignments, starting from zeros.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        resp : array-like of shape (n_samples, n_experts)
            Soft targets: non-negative, each row sums to one (or to zero for
            a row that should not count).

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights. None gives every row weight one.

        Returns
        -------
        self : object
            Fitted gate.
        """
        return super().fit(X, resp, sample_weight)

    def _reset(self):
        for name in ("coef_", "intercept_", "noise_coef_", "noise_intercept_"):
            if hasattr(self, name):
                delattr(self, name)

    def _initial_theta(self, n_features, n_experts, with_load):
        """Return the warm start when the fitted shapes match, else zeros."""
        n_coef = n_features * n_experts + n_experts
        theta = np.zeros(2 * n_coef if with_load else n_coef)
        coef = getattr(self, "coef_", None)
        if coef is None or coef.shape != (n_features, n_experts):
            return theta
        theta[: coef.size] = coef.ravel()
        theta[coef.size : n_coef] = self.intercept_
        if with_load and hasattr(self, "noise_coef_"):
            theta[n_coef : n_coef + coef.size] = self.noise_coef_.ravel()
            theta[n_coef + coef.size :] = self.noise_intercept_
        return theta

    def _m_step(self, X, resp, sample_weight, *, top_k, random_state, tol=None):
        gtol = _GTOL if tol is None else min(max(tol, _GTOL), _LOOSEST_GTOL)
        n_samples, n_features = X.shape
        n_experts = resp.shape[1]
        self.n_features_in_ = n_features
        self.n_experts_ = n_experts

        resp = np.ascontiguousarray(resp, dtype=np.float64)
        sample_weight = np.ascontiguousarray(sample_weight, dtype=np.float64)
        with_load = (
            self.balance > 0
            and self.noise > 0
            and top_k is not None
            and top_k < n_experts
        )
        theta = self._initial_theta(n_features, n_experts, with_load)
        self._noise_learned = with_load

        # With one expert log g = 0 whatever W, so W = 0 is the optimum.
        balance_weight = sample_weight * resp.sum(axis=1)
        total_weight = float(balance_weight.sum())
        if n_experts > 1 and total_weight > 0:
            if with_load:
                standard_normal = check_random_state(random_state).standard_normal(
                    (n_samples, n_experts)
                )
                balance_args = (balance_weight, top_k, standard_normal)
            elif self.balance > 0:
                balance_args = (balance_weight, None, None)
            else:
                balance_args = None
            with single_thread_below(n_samples * n_experts):
                result = scipy.optimize.minimize(
                    _objective,
                    theta,
                    args=(X, resp, sample_weight, total_weight, self, balance_args),
                    method="L-BFGS-B",
                    jac=True,
                    options={
                        "maxiter": _MAX_ITER,
                        "maxls": _MAX_LINE_SEARCH,
                        "gtol": gtol,
                        "ftol": _FTOL,
                    },
                )
            if result.status == 1:
                warnings.warn(
                    f"SoftmaxGate: L-BFGS-B did not converge in {result.nit} "
                    f"iterations (C={self.C!r}, balance={self.balance!r}). The "
                    "gate weights may be inaccurate; scale X or lower C.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
            theta = result.x
            self.n_iter_ = int(result.nit)
        else:
            theta[:] = 0.0
            self.n_iter_ = 0

        coef, intercept, noise_coef, noise_intercept = _unpack(
            theta, n_features, n_experts, with_load
        )
        self.coef_ = coef.copy()
        self.intercept_ = intercept - intercept.mean()
        if self.noise > 0:
            if with_load:
                self.noise_coef_ = noise_coef.copy()
                self.noise_intercept_ = noise_intercept.copy()
            else:
                self.noise_coef_ = np.zeros((n_features, n_experts))
                self.noise_intercept_ = np.zeros(n_experts)
        return self

    def _logits(self, X):
        logits = np.ascontiguousarray(X, dtype=np.float64) @ self.coef_
        logits += self.intercept_
        return logits

    def _log_proba(self, X):
        return log_softmax(self._logits(X))

    def _routing_log_proba(self, X, random_state):
        if self.noise == 0:
            return self._log_proba(X)
        X = np.ascontiguousarray(X, dtype=np.float64)
        noise_logits = X @ self.noise_coef_
        noise_logits += self.noise_intercept_
        standard_normal = check_random_state(random_state).standard_normal(
            noise_logits.shape
        )
        noisy_logits = perturb_logits(
            self._logits(X), noise_logits, standard_normal, float(self.noise)
        )
        return log_softmax(noisy_logits)

    def _penalty(self):
        return float(np.sum(self.coef_**2)) / (2.0 * self.C)

    def _permute_experts(self, order):
        self.coef_ = self.coef_[:, order]
        self.intercept_ = self.intercept_[order]
        if hasattr(self, "noise_coef_"):
            self.noise_coef_ = self.noise_coef_[:, order]
            self.noise_intercept_ = self.noise_intercept_[order]

    def _n_parameters(self):
        n_parameters = (self.n_experts_ - 1) * (self.n_features_in_ + 1)
        if getattr(self, "_noise_learned", False):
            n_parameters += self.n_experts_ * (self.n_features_in_ + 1)
        return n_parameters
