"""Gate of the localised mixture of experts: a Gaussian mixture on X."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Real

import numpy as np
from scipy import linalg
from scipy.special import logsumexp

from skmoe._validation import Interval, StrOptions, _fit_context
from skmoe.gating._base import BaseGate

__all__ = ["GaussianGate"]

# A component whose share of the total weight is at most this value is empty.
# It keeps its previous (or, cold, the global) mean and covariance, and its
# mixing weight is floored at this value so that log weights stay finite.
_MIN_WEIGHT = 10 * np.finfo(np.float64).eps

# A feature whose weighted standard deviation is at most this fraction of its
# largest absolute value is constant up to rounding: reg_covar is then added
# to its variance as an absolute value.
_CONSTANT_FEATURE_RTOL = 1e-10

# Cap on squared Mahalanobis distances. A row so far from every component
# that its distances overflow gets equal gate weights instead of NaN.
_MAX_MAHALANOBIS = 1e300


### Parameter estimators used by the M-step


def _estimate_feature_moments(X, sample_weight):
    """Return the weighted mean and variance of each feature, and its scale.

    The scale is the variance, or 1 for a feature that is constant up to
    rounding, so that ``reg_covar * scale`` is never zero.
    """
    total = sample_weight.sum()
    mean = sample_weight @ X / total
    variance = sample_weight @ (X - mean) ** 2 / total
    max_abs = np.max(np.abs(X[sample_weight > 0]), axis=0)
    constant = variance <= (_CONSTANT_FEATURE_RTOL * max_abs) ** 2
    scale = np.where(constant, 1.0, variance)
    return mean, variance, scale


def _estimate_scatter(X, weights_k, nk, mean_k):
    """Return the weighted scatter matrix of X around mean_k, divided by nk."""
    diff = X - mean_k
    return (weights_k[:, np.newaxis] * diff).T @ diff / nk


def _estimate_covariances(X, weights, nk, means, active, covariance_type, reg):
    """Estimate the covariances of the active components, regularised by reg.

    Rows of inactive components are left as zeros for the caller to fill,
    except with "tied", where the shared matrix pools the active components.
    """
    n_experts = means.shape[0]
    n_features = X.shape[1]

    if covariance_type == "tied":
        covariance = np.zeros((n_features, n_features))
        for k in np.flatnonzero(active):
            covariance += nk[k] * _estimate_scatter(X, weights[:, k], nk[k], means[k])
        covariance /= nk[active].sum()
        covariance.flat[:: n_features + 1] += reg
        return covariance

    if covariance_type == "full":
        covariances = np.zeros((n_experts, n_features, n_features))
        for k in np.flatnonzero(active):
            covariances[k] = _estimate_scatter(X, weights[:, k], nk[k], means[k])
            covariances[k].flat[:: n_features + 1] += reg
        return covariances

    variances = np.zeros((n_experts, n_features))
    for k in np.flatnonzero(active):
        variances[k] = weights[:, k] @ (X - means[k]) ** 2 / nk[k] + reg
    if covariance_type == "diag":
        return variances
    return variances.mean(axis=1)


def _compute_precision_cholesky(covariances, covariance_type, reg_covar):
    """Return the Cholesky factors of the precision matrices, as in sklearn.

    For "full" and "tied", each factor P is upper triangular with
    ``P @ P.T`` equal to the inverse covariance. For "diag" and "spherical",
    it is ``1 / sqrt(covariances)``.
    """
    if covariance_type in ("full", "tied"):
        stacked = covariances if covariance_type == "full" else covariances[np.newaxis]
        n_features = stacked.shape[-1]
        precisions_cholesky = np.empty_like(stacked)
        for k, covariance in enumerate(stacked):
            try:
                cholesky = linalg.cholesky(covariance, lower=True)
            except linalg.LinAlgError as exc:
                if covariance_type == "tied":
                    which = "the tied covariance"
                else:
                    which = f"the covariance of component {k}"
                raise ValueError(
                    f"GaussianGate: {which} is not "
                    f"positive definite with reg_covar={reg_covar!r}. Increase "
                    "reg_covar, use fewer experts, or drop collinear features."
                ) from exc
            precisions_cholesky[k] = linalg.solve_triangular(
                cholesky, np.eye(n_features), lower=True
            ).T
        if covariance_type == "tied":
            return precisions_cholesky[0]
        return precisions_cholesky

    not_positive = covariances.reshape(len(covariances), -1).min(axis=1) <= 0
    if np.any(not_positive):
        k = int(np.flatnonzero(not_positive)[0])
        raise ValueError(
            f"GaussianGate: a variance of component {k} is zero with "
            f"reg_covar={reg_covar!r}. Increase reg_covar or use fewer experts."
        )
    return 1.0 / np.sqrt(covariances)


### Log-densities


def _estimate_log_gaussian_prob(X, means, precisions_cholesky, covariance_type):
    """Return log N(x_i; m_k, S_k) for every row and component, (n, K)."""
    n_samples, n_features = X.shape
    n_experts = means.shape[0]
    log_prob = np.empty((n_samples, n_experts))

    for k in range(n_experts):
        if covariance_type == "tied":
            factor = precisions_cholesky
        else:
            factor = precisions_cholesky[k]
        with np.errstate(over="ignore", invalid="ignore"):
            diff = X - means[k]
            if covariance_type in ("full", "tied"):
                y = diff @ factor
                log_det = np.sum(np.log(np.diag(factor)))
            elif covariance_type == "diag":
                y = diff * factor
                log_det = np.sum(np.log(factor))
            else:
                y = diff * factor
                log_det = n_features * np.log(factor)
            mahalanobis = np.einsum("ij,ij->i", y, y)
        mahalanobis = np.nan_to_num(
            mahalanobis, nan=_MAX_MAHALANOBIS, posinf=_MAX_MAHALANOBIS
        )
        np.minimum(mahalanobis, _MAX_MAHALANOBIS, out=mahalanobis)

        log_prob[:, k] = -0.5 * (n_features * np.log(2 * np.pi) + mahalanobis) + log_det

    return log_prob


class GaussianGate(BaseGate):
    """Gate of the localised mixture of experts: a Gaussian mixture on X.

    The gate weights are the posterior component probabilities of a
    Gaussian mixture on the input, ``g_k(x) = pi_k N(x; m_k, S_k) / p(x)``
    with ``p(x) = sum_j pi_j N(x; m_j, S_j)``, as in the alternative model
    of Xu, Jordan and Hinton [1]_. Each M-step refits the mixing weights,
    means and covariances in closed form from the weights
    ``sample_weight * resp``. ``gate="gmm"`` of
    :class:`skmoe.MixtureOfExpertsRegressor` and
    :class:`skmoe.MixtureOfExpertsClassifier` is this gate.

    Parameters
    ----------
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Form of the component covariances, as in
        :class:`~sklearn.mixture.GaussianMixture`:

        - 'full': each component has its own covariance matrix.
        - 'tied': all components share one covariance matrix.
        - 'diag': each component has its own diagonal covariance matrix.
        - 'spherical': each component has its own single variance.

    reg_covar : float, default=1e-6
        Relative regularisation of the covariances. ``reg_covar * Var(x_j)``
        is added to the variance of feature ``j`` of every component, where
        ``Var(x_j)`` is the weighted variance of feature ``j`` over all rows
        (1 for a constant feature). The covariances therefore stay positive
        definite whatever the scale of each feature. On standardised data
        this equals the absolute ``reg_covar`` of
        :class:`~sklearn.mixture.GaussianMixture`.

    Attributes
    ----------
    weights_ : ndarray of shape (n_experts,)
        Mixing weights ``pi_k``.

    means_ : ndarray of shape (n_experts, n_features)
        Component means ``m_k``.

    covariances_ : ndarray
        Component covariances ``S_k``, regularised. The shape depends on
        ``covariance_type``::

            (n_experts,)                        if 'spherical',
            (n_features, n_features)            if 'tied',
            (n_experts, n_features)             if 'diag',
            (n_experts, n_features, n_features) if 'full'

    precisions_cholesky_ : ndarray
        Cholesky factors of the precision matrices, with the shape of
        ``covariances_`` and the convention of
        :class:`~sklearn.mixture.GaussianMixture`: for 'full' and 'tied',
        upper triangular ``P`` with ``P @ P.T`` the inverse covariance; for
        'diag' and 'spherical', ``1 / sqrt(covariances_)``.

    n_experts_ : int
        Number of experts, the number of columns of ``resp`` in fit.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when ``X`` has
        feature names that are all strings.

    See Also
    --------
    skmoe.gating.SoftmaxGate : Multinomial logit gate, refitted by Newton
        or L-BFGS steps in each M-step.
    skmoe.gating.ClusterGate : Hard regions from a clusterer, fitted once.
    sklearn.mixture.GaussianMixture : Gaussian mixture density fitted by EM.

    Notes
    -----
    The gate models the input density, so the mixture of experts becomes a
    model of the joint density ``p(x, y) = sum_k pi_k N(x; m_k, S_k)
    p_k(y | x)``. Its EM increases the joint log-likelihood, and the
    objective recorded by the mixture adds the gate's log-density
    ``log p(x)`` to ``log p(y | x)``. Each M-step is exact: the weighted
    maximum-likelihood estimates, with
    ``N_k = sum_i w_i r_ik``, ``pi_k = N_k / sum_j N_j``,
    ``m_k = sum_i w_i r_ik x_i / N_k`` and
    ``S_k = sum_i w_i r_ik (x_i - m_k)(x_i - m_k)^T / N_k`` plus the
    regularisation. Integer sample weights therefore give the same fit as
    repeated rows.

    A component whose mass ``N_k`` is at most ``10 * eps`` of the total
    keeps its previous mean and covariance. On a cold fit it gets the
    weighted mean and covariance of all rows instead. Its mixing weight is
    floored at ``10 * eps`` before the weights are renormalised. Covariances are
    regularised relative to each feature's scale (see ``reg_covar``), so
    identical rows, constant features, one row per component and fewer rows
    than features all give finite gate weights. With ``reg_covar=0`` such
    data raise a ValueError instead. A row so far from every component that
    its squared Mahalanobis distances overflow gets equal gate weights.

    The parameter count for BIC and AIC is ``(n_experts - 1) +
    n_experts * n_features`` plus the covariance parameters:
    ``n_experts * n_features * (n_features + 1) / 2`` for 'full',
    ``n_features * (n_features + 1) / 2`` for 'tied',
    ``n_experts * n_features`` for 'diag' and ``n_experts`` for 'spherical'.

    References
    ----------
    .. [1] L. Xu, M. I. Jordan, G. E. Hinton. An alternative model for
       mixtures of experts. Advances in Neural Information Processing
       Systems 7, 1995.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.gating import GaussianGate
    >>> X = np.array([[0.0], [0.2], [0.4], [5.0], [5.2], [5.4]])
    >>> resp = np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]])
    >>> gate = GaussianGate().fit(X, resp)
    >>> gate.means_
    array([[0.2],
           [5.2]])
    >>> gate.predict([[0.1], [2.0], [4.9]])
    array([0, 0, 1])
    >>> gate.predict_proba([[0.1], [4.9]]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
    }

    def __init__(self, *, covariance_type="full", reg_covar=1e-6):
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, resp, sample_weight=None):
        """Fit the Gaussian mixture to X with soft component assignments.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        resp : array-like of shape (n_samples, n_experts)
            Soft targets: non-negative, each row sums to one.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights. None gives every row weight one.

        Returns
        -------
        self : object
            Fitted gate.
        """
        return super().fit(X, resp, sample_weight=sample_weight)

    def _m_step(self, X, resp, sample_weight, *, top_k, random_state, tol=None):
        n_features = X.shape[1]
        n_experts = resp.shape[1]
        covariance_type = self.covariance_type

        weights = sample_weight[:, np.newaxis] * resp
        nk = weights.sum(axis=0)
        total = nk.sum()
        if not total > 0:
            raise ValueError(
                "GaussianGate requires a positive total of sample_weight * resp, "
                f"got {float(total)!r}. Give at least one row a positive weight."
            )

        global_mean, global_variance, scale = _estimate_feature_moments(
            X, sample_weight
        )
        reg = self.reg_covar * scale
        active = nk > _MIN_WEIGHT * total

        means = np.zeros((n_experts, n_features))
        means[active] = weights[:, active].T @ X / nk[active, np.newaxis]
        covariances = _estimate_covariances(
            X, weights, nk, means, active, covariance_type, reg
        )

        if not active.all():
            empty = ~active
            previous = self._get_previous_parameters(n_experts, n_features)
            if previous is not None:
                means[empty] = previous[0][empty]
                if covariance_type != "tied":
                    covariances[empty] = previous[1][empty]
            else:
                means[empty] = global_mean
                if covariance_type == "full":
                    covariance = _estimate_scatter(
                        X, sample_weight, sample_weight.sum(), global_mean
                    )
                    covariance.flat[:: n_features + 1] += reg
                    covariances[empty] = covariance
                elif covariance_type == "diag":
                    covariances[empty] = global_variance + reg
                elif covariance_type == "spherical":
                    covariances[empty] = np.mean(global_variance + reg)

        mixing_weights = np.maximum(nk / total, _MIN_WEIGHT)
        mixing_weights /= mixing_weights.sum()

        self.precisions_cholesky_ = _compute_precision_cholesky(
            covariances, covariance_type, self.reg_covar
        )
        self.weights_ = mixing_weights
        self.means_ = means
        self.covariances_ = covariances
        self.n_experts_ = n_experts
        self.n_features_in_ = n_features
        self._fitted_covariance_type = covariance_type
        return self

    def _get_previous_parameters(self, n_experts, n_features):
        """Return the fitted means and covariances if they match, else None."""
        if getattr(self, "_fitted_covariance_type", None) != self.covariance_type:
            return None
        if self.means_.shape != (n_experts, n_features):
            return None
        return self.means_, self.covariances_

    def _estimate_weighted_log_prob(self, X):
        """Return log pi_k + log N(x_i; m_k, S_k), of shape (n, K)."""
        log_gaussian = _estimate_log_gaussian_prob(
            X, self.means_, self.precisions_cholesky_, self._fitted_covariance_type
        )
        return log_gaussian + np.log(self.weights_)

    def _log_proba(self, X):
        weighted_log_prob = self._estimate_weighted_log_prob(X)
        # Normalise after shifting by the row maximum, not by subtracting
        # logsumexp: at magnitudes near _MAX_MAHALANOBIS, logsumexp rounds
        # away the log of the number of tied components.
        shifted = weighted_log_prob - weighted_log_prob.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def _log_marginal_density(self, X):
        return logsumexp(self._estimate_weighted_log_prob(X), axis=1)

    def _permute_experts(self, order):
        self.weights_ = self.weights_[order]
        self.means_ = self.means_[order]
        if self._fitted_covariance_type != "tied":
            self.covariances_ = self.covariances_[order]
            self.precisions_cholesky_ = self.precisions_cholesky_[order]

    def _n_parameters(self):
        n_experts = self.n_experts_
        n_features = self.n_features_in_
        n_covariance = {
            "full": n_experts * n_features * (n_features + 1) // 2,
            "tied": n_features * (n_features + 1) // 2,
            "diag": n_experts * n_features,
            "spherical": n_experts,
        }[self._fitted_covariance_type]
        return (n_experts - 1) + n_experts * n_features + n_covariance

    def _reset(self):
        for name in (
            "weights_",
            "means_",
            "covariances_",
            "precisions_cholesky_",
            "n_experts_",
            "_fitted_covariance_type",
        ):
            if hasattr(self, name):
                delattr(self, name)
