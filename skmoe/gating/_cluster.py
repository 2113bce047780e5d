"""Gate with hard regions from a clusterer fitted once, at initialisation."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils.validation import has_fit_parameter

from skmoe._validation import HasMethods, _fit_context
from skmoe.gating._base import BaseGate

__all__ = ["ClusterGate"]

# Restarts of the default KMeans: sklearn's default before 1.4. The partition
# is computed once per mixture init, not once per EM iteration.
_DEFAULT_KMEANS_N_INIT = 10


def _draw_seed(random_state):
    """Return an int seed for the clusterer, drawn from a RandomState if given.

    An int or None passes through. A RandomState instance is not handed to the
    clusterer, so the fitted clusterer stores a plain seed and does not share
    the caller's generator.
    """
    if random_state is None or isinstance(random_state, Integral):
        return random_state
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


class ClusterGate(BaseGate):
    """Gate with hard regions from a clusterer, fitted once.

    The clusterer partitions the input space into ``n_experts`` regions
    when the mixture is initialised, which turns the mixture of local
    experts [1]_ into a piecewise model with fixed regions. Each row is
    routed to the expert of its cluster with weight one. The regions stay
    fixed during EM, so only the experts are refitted. ``gate="kmeans"`` of
    :class:`skmoe.MixtureOfExpertsRegressor` and
    :class:`skmoe.MixtureOfExpertsClassifier` is this gate with the default
    clusterer.

    Parameters
    ----------
    clusterer : estimator, default=None
        Clusterer with ``fit`` and ``predict`` and a ``n_clusters`` or
        ``n_components`` parameter, which the gate sets to the number of
        experts; for example :class:`~sklearn.cluster.KMeans`,
        :class:`~sklearn.cluster.MiniBatchKMeans`,
        :class:`~sklearn.cluster.BisectingKMeans`,
        :class:`~sklearn.cluster.Birch` or
        :class:`~sklearn.mixture.GaussianMixture`. The gate fits a clone.
        None uses k-means [2]_, ``KMeans(n_init=10)``.

    Attributes
    ----------
    clusterer_ : estimator
        Fitted clone of ``clusterer``.

    n_experts_ : int
        Number of experts, the number of columns of ``resp`` in fit.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit. Defined only when ``X`` has
        feature names that are all strings.

    See Also
    --------
    skmoe.gating.SoftmaxGate : Soft regions from a multinomial logit,
        refitted in each M-step.
    skmoe.gating.GaussianGate : Soft regions from a Gaussian mixture on X,
        refitted in each M-step.

    Notes
    -----
    ``fit`` uses ``resp`` only for its number of columns: the partition
    comes from X alone. The clusterer receives ``sample_weight`` when its
    ``fit`` accepts it. Otherwise it is fitted on the rows with positive
    weight, and a UserWarning reports that the weight values were ignored.

    When the clusterer's ``random_state`` is None, the gate sets it to a seed
    drawn from the ``random_state`` of the mixture, so a fixed seed gives a
    fixed partition.

    A cluster that receives no rows (for example when X has fewer distinct
    rows than experts) gives an expert with no rows. A label outside
    ``0 .. n_experts - 1`` from the clusterer's ``predict`` gives the row
    equal weights ``1 / n_experts``.

    The parameter count for BIC and AIC is ``n_experts * n_features``, one
    centre per region, whatever the clusterer stores.

    References
    ----------
    .. [1] R. A. Jacobs, M. I. Jordan, S. J. Nowlan, G. E. Hinton. Adaptive
       mixtures of local experts. Neural Computation 3(1), 1991.
    .. [2] S. P. Lloyd. Least squares quantization in PCM. IEEE Transactions
       on Information Theory 28(2), 1982.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe.gating import ClusterGate
    >>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    >>> resp = np.full((6, 2), 0.5)
    >>> gate = ClusterGate().fit(X, resp)
    >>> gate.predict_proba([[0.05], [5.05]]).sum(axis=1)
    array([1., 1.])
    >>> labels = gate.predict([[0.05], [5.05]])
    >>> bool(labels[0] != labels[1])
    True
    """

    _refit_in_m_step = False

    _parameter_constraints: dict = {
        "clusterer": [HasMethods(["fit"]), None],
    }

    def __init__(self, clusterer=None):
        self.clusterer = clusterer

    @_fit_context(
        # The clusterer's own parameters are validated by its fit.
        prefer_skip_nested_validation=False
    )
    def fit(self, X, resp, sample_weight=None):
        """Fit the clusterer on X with as many clusters as resp has columns.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        resp : array-like of shape (n_samples, n_experts)
            Soft expert assignments. Only the number of columns is used.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights. None gives every row weight one.

        Returns
        -------
        self : object
            Fitted gate.
        """
        return super().fit(X, resp, sample_weight=sample_weight)

    def _m_step(self, X, resp, sample_weight, *, top_k, random_state, tol=None):
        n_experts = resp.shape[1]
        positive = sample_weight > 0
        if not positive.any():
            raise ValueError(
                "ClusterGate requires at least one row with positive "
                "sample_weight, got all weights zero."
            )
        clusterer = self._make_clusterer(n_experts, random_state)

        if has_fit_parameter(clusterer, "sample_weight"):
            clusterer.fit(X, sample_weight=sample_weight)
        else:
            if np.ptp(sample_weight[positive]) > 0:
                warnings.warn(
                    f"ClusterGate: the clusterer {clusterer!r} does not accept "
                    "sample_weight in fit, so it was fitted on the rows with "
                    "positive weight without their weight values. Use a "
                    "clusterer whose fit takes sample_weight, such as KMeans, "
                    "to use the weights.",
                    UserWarning,
                    stacklevel=2,
                )
            clusterer.fit(X[positive])

        self.clusterer_ = clusterer
        self.n_experts_ = n_experts
        self.n_features_in_ = X.shape[1]
        return self

    def _make_clusterer(self, n_experts, random_state):
        """Clone the clusterer with n_experts clusters and a seeded random_state."""
        if self.clusterer is None:
            return KMeans(
                n_clusters=n_experts,
                n_init=_DEFAULT_KMEANS_N_INIT,
                random_state=_draw_seed(random_state),
            )

        if not hasattr(self.clusterer, "predict"):
            raise TypeError(
                f"The 'clusterer' parameter of ClusterGate must have a predict "
                f"method to route new rows, got {self.clusterer!r}. Use a "
                "clusterer with predict, such as KMeans, MiniBatchKMeans, Birch "
                "or GaussianMixture."
            )

        clusterer = clone(self.clusterer)
        params = clusterer.get_params(deep=False)
        if "n_clusters" in params:
            clusterer.set_params(n_clusters=n_experts)
        elif "n_components" in params:
            clusterer.set_params(n_components=n_experts)
        else:
            raise TypeError(
                f"The 'clusterer' parameter of ClusterGate must have a "
                f"'n_clusters' or 'n_components' parameter, which the gate sets "
                f"to the number of experts, got {self.clusterer!r}. Use a "
                "clusterer such as KMeans or GaussianMixture."
            )
        if "random_state" in params and params["random_state"] is None:
            clusterer.set_params(random_state=_draw_seed(random_state))
        return clusterer

    def _log_proba(self, X):
        n_experts = self.n_experts_
        labels = np.asarray(self.clusterer_.predict(X)).astype(np.intp, copy=False)

        log_proba = np.full((X.shape[0], n_experts), -np.inf)
        in_range = (labels >= 0) & (labels < n_experts)
        experts = self._expert_of_cluster()[labels[in_range]]
        log_proba[np.flatnonzero(in_range), experts] = 0.0
        log_proba[~in_range] = -np.log(n_experts)
        return log_proba

    def _expert_of_cluster(self):
        """Return the expert index of each cluster label."""
        identity = np.arange(self.n_experts_)
        return getattr(self, "_cluster_expert", identity)

    def _permute_experts(self, order):
        # New expert j is old expert order[j], so cluster c moves to the
        # position of its old expert in ``order``.
        position = np.empty_like(order)
        position[order] = np.arange(order.size)
        self._cluster_expert = position[self._expert_of_cluster()]

    def _n_parameters(self):
        return self.n_experts_ * self.n_features_in_

    def _reset(self):
        for name in ("clusterer_", "n_experts_", "_cluster_expert"):
            if hasattr(self, name):
                delattr(self, name)
