"""Mixture-of-experts regressor with Gaussian experts."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.base import RegressorMixin, is_classifier
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import column_or_1d

from skmoe._base import _BaseMixtureOfExperts
from skmoe._kernels import gaussian_log_density
from skmoe._validation import validate_data

__all__ = ["MixtureOfExpertsRegressor"]

# Each noise variance is floored at this fraction of the weighted variance of
# y, so that an expert fitting its rows exactly keeps a finite likelihood.
_NOISE_FLOOR_FRACTION = 1e-6


class MixtureOfExpertsRegressor(RegressorMixin, _BaseMixtureOfExperts):
    """Mixture-of-experts regressor fitted by EM.

    A gate splits the input space into soft regions and one expert (any
    scikit-learn regressor) is fitted per region. The model of the target is

    .. math::

        p(y \\mid x) = \\sum_k g_k(x)\\, \\mathcal{N}(y;\\, f_k(x),\\, \\sigma_k^2)

    where :math:`g_k` are the gate weights, :math:`f_k` the expert's
    ``predict`` and :math:`\\sigma_k^2` its noise variance. The parameters are
    fitted by expectation-maximisation (Jacobs et al. 1991; Jordan & Jacobs
    1994): each expert is refitted with ``sample_weight`` equal to its
    responsibilities, the gate to the responsibilities as soft targets.

    Parameters
    ----------
    n_experts : int, default=4
        Number of experts. Ignored when ``expert`` is a list, whose length is
        used instead.

    expert : estimator or list of estimators, default=None
        The regressor cloned for each expert, or one estimator per expert.
        None uses :class:`~sklearn.linear_model.LinearRegression`. The objects
        passed are never fitted themselves.

    gate : {"softmax", "kmeans", "gmm"} or gate object, default="softmax"
        The gate: "softmax" is :class:`~skmoe.gating.SoftmaxGate` (a
        multinomial logit refitted in each M-step), "kmeans" is
        :class:`~skmoe.gating.ClusterGate` (hard k-means regions on X, fitted
        once), "gmm" is :class:`~skmoe.gating.GaussianGate` (Gaussian regions
        refitted in closed form). A gate object from :mod:`skmoe.gating` is
        cloned.

    top_k : int, default=None
        None gives dense routing. With an int k, each row keeps its k largest
        responsibilities in training and its k largest gate weights in
        prediction (renormalised), so an expert is fitted and evaluated only on
        the rows routed to it.

    routing : {"token_choice", "expert_choice"}, default="token_choice"
        Training routing under ``top_k``: "token_choice" lets each row pick
        its experts; "expert_choice" lets each expert take the
        ``ceil(top_k * n_samples / n_experts)`` rows with its largest
        responsibilities (Zhou et al. 2022). Prediction always routes each row
        by its own top-k gate weights.

    max_iter : int, default=100
        Maximum number of EM iterations per initialisation.

    tol : float, default=1e-4
        EM stops when the objective (log-likelihood per unit of sample weight)
        changes by less than ``tol`` between two iterations.

    n_init : int, default=1
        Number of initialisations; the one with the largest final objective
        is kept.

    init : {"kmeans", "random"}, default="kmeans"
        Initial responsibilities: hard labels of k-means on the standardised
        ``[X, y]``, or rows drawn from a flat Dirichlet distribution.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the gate noise, and every expert parameter
        ending in ``random_state`` that is left None. Pass an int for
        reproducible results.

    n_jobs : int, default=None
        Number of joblib workers for the expert fits of each M-step. None
        means 1 unless in a :func:`joblib.parallel_config` context; -1 uses
        all processors. Results do not depend on ``n_jobs``.

    verbose : int, default=0
        1 prints the initialisation and iteration numbers, 2 also the elapsed
        time and the change of the objective.

    verbose_interval : int, default=10
        Number of iterations between two progress messages.

    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` continues EM from the
        current experts and gate (one initialisation) instead of starting anew.

    Attributes
    ----------
    experts_ : list of estimators
        The fitted experts, ordered by their mean prediction on the training
        rows, each weighted by the expert's responsibilities.

    gate_ : gate object
        The fitted gate.

    n_experts_ : int
        Number of experts.

    noise_variance_ : ndarray of shape (`n_experts_`,)
        Noise variance of each expert: its responsibility-weighted residual
        variance, floored at 1e-6 times the variance of y.

    expert_weights_ : ndarray of shape (`n_experts_`,)
        Share of the training responsibility mass of each expert.

    constant_experts_ : ndarray of shape (`n_experts_`,) of bool
        Whether an expert was replaced by a constant because its region held
        fewer than two rows.

    n_iter_ : int
        Number of EM iterations of the kept initialisation.

    converged_ : bool
        Whether the kept initialisation met ``tol`` before ``max_iter``.

    log_likelihood_history_ : ndarray of shape (`n_iter_`,)
        EM objective after each iteration of the kept initialisation.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when X has feature
        names that are all strings.

    See Also
    --------
    MixtureOfExpertsClassifier : The classification counterpart.
    sklearn.mixture.GaussianMixture : Mixture density of X alone, also fitted by EM.

    Notes
    -----
    EM maximises the objective

    .. math::

        L = \\frac{\\sum_i w_i \\log p(y_i \\mid x_i) - P}{\\sum_i w_i}

    where :math:`w_i` are the sample weights and :math:`P` the softmax gate's
    penalty :math:`\\lVert W \\rVert^2 / (2C)`. With ``gate="gmm"`` the joint
    :math:`\\log p(x_i, y_i)` replaces the conditional one. With dense routing,
    no gate noise or balance loss, and experts whose weighted fit is an exact
    maximiser (such as LinearRegression), L never decreases. Top-k routing,
    gate noise and experts fitted approximately (SVR, MLP) break that
    guarantee, and ``converged_`` then only means that L changed by less than
    ``tol``.

    An expert whose ``fit`` has no ``sample_weight`` is trained on the rows it
    is most responsible for, with a warning. A Pipeline expert receives the
    weights through metadata routing when it is enabled, otherwise through its
    last step. An expert whose responsibility mass collapses is re-seeded on
    the rows the mixture explains worst, with a warning.

    References
    ----------
    .. [1] R. A. Jacobs, M. I. Jordan, S. J. Nowlan and G. E. Hinton, "Adaptive
       mixtures of local experts", Neural Computation 3(1), 1991.
    .. [2] M. I. Jordan and R. A. Jacobs, "Hierarchical mixtures of experts and
       the EM algorithm", Neural Computation 6(2), 1994.
    .. [3] N. Shazeer et al., "Outrageously large neural networks: the
       sparsely-gated mixture-of-experts layer", ICLR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-3, 3, size=(300, 1))
    >>> y = np.where(X[:, 0] < 0, -2 * X[:, 0], 3 * X[:, 0]) + rng.normal(0, 0.1, 300)
    >>> moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    >>> moe.score(X, y)
    0.99...
    >>> moe.predict([[-1.0], [2.0]]).round(1)
    array([2., 6.])
    """

    def _default_expert(self):
        return LinearRegression()

    def _check_expert(self, estimator, index):
        if is_classifier(estimator):
            raise TypeError(
                f"Expert {index} of MixtureOfExpertsRegressor is a classifier "
                f"({estimator!r}). Pass regressors, or use "
                "MixtureOfExpertsClassifier for a classification target."
            )

    def _validate_fit_data(self, X, y):
        X, y = validate_data(
            self, X, y, dtype=np.float64, y_numeric=True, ensure_all_finite=False
        )
        return X, y.astype(np.float64, copy=False)

    def _validate_target(self, y, n_samples):
        y = column_or_1d(np.asarray(y, dtype=np.float64), warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(
                f"y has {y.shape[0]} rows but X has {n_samples}; pass one target "
                "value per row of X."
            )
        if not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or infinity; remove or impute those rows.")
        return y

    def _target_columns(self, y):
        return y[:, None]

    def _expert_outputs(self, experts, X, row_masks=None):
        predictions = np.zeros((X.shape[0], len(experts)), dtype=np.float64)
        for k, estimator in enumerate(experts):
            if row_masks is None:
                predictions[:, k] = np.ravel(estimator.predict(X))
            elif row_masks[:, k].any():
                rows = row_masks[:, k]
                predictions[rows, k] = np.ravel(estimator.predict(X[rows]))
        return predictions

    def _target_outputs(self, experts, X, y, row_masks=None):
        return self._expert_outputs(experts, X, row_masks)

    def _fit_dispersion(self, outputs, y, sample_weight, train_resp, mass):
        # One expert at a time, so that no (n_samples, n_experts) temporary
        # is made.
        variance = np.zeros_like(mass)
        for k in np.flatnonzero(mass > 0):
            residual = y - outputs[:, k]
            residual *= residual
            variance[k] = (sample_weight * train_resp[:, k]) @ residual / mass[k]

        row_weight = sample_weight * train_resp.sum(axis=1)
        y_var = np.average((y - np.average(y, weights=row_weight)) ** 2,
                           weights=row_weight)
        # A constant y has zero variance: fall back to a floor relative to the
        # magnitude of y, then to one, so the floor is never zero.
        scale = y_var if y_var > 0 else max(np.average(y**2, weights=row_weight), 1.0)
        floor = _NOISE_FLOOR_FRACTION * scale
        return np.maximum(variance, floor)

    def _log_density(self, outputs, y, dispersion):
        return gaussian_log_density(
            np.ascontiguousarray(y), np.ascontiguousarray(outputs), dispersion
        )

    def _expert_order(self, outputs, sample_weight, train_resp, mass):
        # Each expert's mean prediction over the rows it is responsible for:
        # the E-step evaluated every expert on those rows.
        means = np.divide(
            np.einsum("i,ik,ik->k", sample_weight, train_resp, outputs),
            mass,
            out=np.zeros_like(mass),
            where=mass > 0,
        )
        return np.argsort(means, kind="stable")

    def _set_dispersion(self, dispersion):
        self.noise_variance_ = dispersion

    def _get_dispersion(self):
        return self.noise_variance_

    def _n_dispersion_parameters(self):
        return self.n_experts_

    def _prediction_row_bytes(self):
        # Gate weights, expert predictions and the products of the two.
        return 4 * 8 * self.n_experts_

    def predict(self, X, return_std=False):
        """Predict the mixture mean, and optionally its standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        return_std : bool, default=False
            Whether to return the standard deviation of the predictive
            mixture as well.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
            ``sum_k g_k(x) f_k(x)``.

        y_std : ndarray of shape (n_samples,)
            Standard deviation of the mixture
            ``sqrt(sum_k g_k(x) (sigma_k^2 + f_k(x)^2) - y_mean^2)``. Only
            returned when ``return_std`` is True.
        """
        X = self._validate_predict_X(X)
        mean = np.empty(X.shape[0])
        std = np.empty(X.shape[0]) if return_std else None
        for rows in self._prediction_batches(X.shape[0]):
            gate_proba, predictions = self._routed_outputs(X[rows])
            mean[rows] = np.sum(gate_proba * predictions, axis=1)
            if return_std:
                second_moment = np.sum(
                    gate_proba * (self.noise_variance_ + predictions**2), axis=1
                )
                std[rows] = np.sqrt(np.maximum(second_moment - mean[rows] ** 2, 0.0))
        if not return_std:
            return mean
        return mean, std

    def predict_experts(self, X):
        """Predict with every expert on every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        predictions : ndarray of shape (n_samples, `n_experts_`)
            ``f_k(x)`` of each expert, also outside the top-k routing.
        """
        X = self._validate_predict_X(X)
        return self._expert_outputs(self.experts_, X)
