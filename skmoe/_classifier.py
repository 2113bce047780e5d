"""Mixture-of-experts classifier with probabilistic experts."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.base import ClassifierMixin, is_classifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from skmoe._base import _BaseMixtureOfExperts
from skmoe._experts import predict_expert_proba
from skmoe._validation import validate_data

__all__ = ["MixtureOfExpertsClassifier"]

# Expert probabilities are floored here before the log, so that an expert
# certain of the wrong class gives a finite log-density.
_PROBA_FLOOR = 1e-10


class MixtureOfExpertsClassifier(ClassifierMixin, _BaseMixtureOfExperts):
    """Mixture-of-experts classifier fitted by EM.

    A gate splits the input space into soft regions and one expert (any
    scikit-learn classifier with ``predict_proba``) is fitted per region. The
    class probabilities are

    .. math::

        p(y \\mid x) = \\sum_k g_k(x)\\, p_k(y \\mid x)

    where :math:`g_k` are the gate weights and :math:`p_k` the expert's
    ``predict_proba``, its columns mapped into the mixture's ``classes_``. The
    parameters are fitted by expectation-maximisation (Jacobs et al. 1991;
    Jordan & Jacobs 1994).

    Parameters
    ----------
    n_experts : int, default=4
        Number of experts. Ignored when ``expert`` is a list, whose length is
        used instead.

    expert : estimator or list of estimators, default=None
        The classifier cloned for each expert, or one classifier per expert.
        Each needs ``predict_proba``; for an SVC use
        ``CalibratedClassifierCV(SVC())``. None uses
        :class:`~sklearn.linear_model.LogisticRegression`. The objects passed
        are never fitted themselves.

    gate : {"softmax", "kmeans", "gmm"} or gate object, default="softmax"
        The gate: "softmax" is :class:`~skmoe.gating.SoftmaxGate`, "kmeans"
        is :class:`~skmoe.gating.ClusterGate`, "gmm" is
        :class:`~skmoe.gating.GaussianGate`. A gate object is cloned.

    top_k : int, default=None
        None gives dense routing. With an int k, each row keeps its k largest
        responsibilities in training and its k largest gate weights in
        prediction (renormalised).

    routing : {"token_choice", "expert_choice"}, default="token_choice"
        Training routing under ``top_k``: each row picks its experts, or each
        expert takes the ``ceil(top_k * n_samples / n_experts)`` rows with its
        largest responsibilities (Zhou et al. 2022).

    max_iter : int, default=100
        Maximum number of EM iterations per initialisation.

    tol : float, default=1e-4
        EM stops when the objective changes by less than ``tol``.

    n_init : int, default=1
        Number of initialisations; the best final objective is kept.

    init : {"kmeans", "random"}, default="kmeans"
        Initial responsibilities: hard k-means labels on the standardised X,
        or flat Dirichlet draws. Unlike the regressor, the k-means start
        leaves the target out, because regions split by class make every
        expert a constant class detector.

    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the gate noise and every unset expert
        ``random_state``.

    n_jobs : int, default=None
        Number of joblib workers for the expert fits of each M-step.

    verbose : int, default=0
        1 prints the initialisation and iteration numbers, 2 also the elapsed
        time and the change of the objective.

    verbose_interval : int, default=10
        Number of iterations between two progress messages.

    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` continues EM from the
        current experts and gate.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    experts_ : list of estimators
        The fitted experts, ordered by decreasing gate mass on the training
        rows. They are fitted on label-encoded targets, so their ``classes_``
        are column indices into ``classes_``.

    gate_ : gate object
        The fitted gate.

    n_experts_ : int
        Number of experts.

    expert_weights_ : ndarray of shape (`n_experts_`,)
        Share of the training responsibility mass of each expert.

    constant_experts_ : ndarray of shape (`n_experts_`,) of bool
        Whether an expert was replaced by the class prior of its region
        because the region held one class or fewer than two rows.

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
    MixtureOfExpertsRegressor : The regression counterpart.

    Notes
    -----
    EM maximises the log-likelihood per unit of sample weight minus the
    softmax gate's penalty, as described for
    :class:`MixtureOfExpertsRegressor`. Expert probabilities are floored at
    1e-10 inside the log-likelihood. Experts are fitted on label-encoded
    targets; an expert that never sees a class gives it probability zero.

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
    >>> from sklearn.datasets import make_moons
    >>> from skmoe import MixtureOfExpertsClassifier
    >>> X, y = make_moons(n_samples=300, noise=0.2, random_state=0)
    >>> clf = MixtureOfExpertsClassifier(n_experts=3, random_state=0).fit(X, y)
    >>> round(clf.score(X, y), 2)
    0.94
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def _default_expert(self):
        return LogisticRegression()

    def _check_expert(self, estimator, index):
        if not is_classifier(estimator):
            raise TypeError(
                f"Expert {index} of MixtureOfExpertsClassifier is not a classifier "
                f"({estimator!r}). Pass classifiers, or use "
                "MixtureOfExpertsRegressor for a continuous target."
            )
        if not hasattr(estimator, "predict_proba"):
            raise TypeError(
                f"Expert {index} of MixtureOfExpertsClassifier ({estimator!r}) has "
                "no predict_proba, which the mixture needs for its likelihood. "
                "Wrap it in sklearn.calibration.CalibratedClassifierCV, e.g. "
                "CalibratedClassifierCV(SVC())."
            )

    def _validate_fit_data(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_all_finite=False)
        check_classification_targets(y)
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        if self.classes_.size < 2:
            raise ValueError(
                "MixtureOfExpertsClassifier needs samples of at least 2 classes, "
                f"but the data contains only one class: {self.classes_.tolist()[0]!r}."
            )
        return X, self._label_encoder.transform(y)

    def _check_fit_sample_weight(self, sample_weight, X, y):
        sample_weight = super()._check_fit_sample_weight(sample_weight, X, y)
        weighted_classes = np.unique(y[sample_weight > 0])
        if weighted_classes.size < 2:
            raise ValueError(
                "MixtureOfExpertsClassifier needs positive sample_weight on at "
                "least 2 classes, but only class "
                f"{self.classes_[weighted_classes].tolist()[0]!r} has positive weight."
            )
        return sample_weight

    def _validate_target(self, y, n_samples):
        y = column_or_1d(np.asarray(y), warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(
                f"y has {y.shape[0]} rows but X has {n_samples}; pass one label "
                "per row of X."
            )
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(
                f"y contains labels not seen in fit: {np.unique(y[unknown])!r}. "
                f"Known classes: {self.classes_!r}."
            )
        return self._label_encoder.transform(y)

    def _target_columns(self, y):
        # The labels are left out of the k-means start: clusters split by
        # class give experts that each see one class and become constant,
        # leaving the classification to the gate alone.
        return np.empty((y.shape[0], 0))

    def _expert_outputs(self, experts, X, row_masks=None):
        n_classes = self.classes_.size
        proba = np.zeros((X.shape[0], len(experts), n_classes), dtype=np.float64)
        for k, estimator in enumerate(experts):
            if row_masks is None:
                proba[:, k, :] = predict_expert_proba(estimator, X, n_classes)
            elif row_masks[:, k].any():
                rows = row_masks[:, k]
                proba[rows, k, :] = predict_expert_proba(estimator, X[rows], n_classes)
        return proba

    def _target_outputs(self, experts, X, y, row_masks=None):
        # Each expert's probability of the true class, one expert at a time,
        # so that no (n_samples, n_experts, n_classes) array is made.
        n_classes = self.classes_.size
        true_class = np.zeros((X.shape[0], len(experts)), dtype=np.float64)
        for k, estimator in enumerate(experts):
            rows = slice(None) if row_masks is None else np.flatnonzero(row_masks[:, k])
            labels = y[rows]
            if labels.size == 0:
                continue
            proba = predict_expert_proba(estimator, X[rows], n_classes)
            true_class[rows, k] = proba[np.arange(labels.size), labels]
        return true_class

    def _fit_dispersion(self, outputs, y, sample_weight, train_resp, mass):
        return None

    def _log_density(self, outputs, y, dispersion):
        return np.log(np.maximum(outputs, _PROBA_FLOOR))

    def _expert_order(self, outputs, sample_weight, train_resp, mass):
        return np.argsort(-mass, kind="stable")

    def _set_dispersion(self, dispersion):
        pass

    def _get_dispersion(self):
        return None

    def _n_dispersion_parameters(self):
        return 0

    def _prediction_row_bytes(self):
        # The experts' class probabilities, their gate-weighted sum, the gate
        # weights and one expert's own predict_proba.
        n_classes = self.classes_.size
        return 8 * (self.n_experts_ * (n_classes + 2) + 2 * n_classes)

    def predict_proba(self, X):
        """Predict class probabilities of the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            ``sum_k g_k(x) p_k(c | x)``, columns in the order of ``classes_``.
        """
        X = self._validate_predict_X(X)
        mixture_proba = np.empty((X.shape[0], self.classes_.size))
        for rows in self._prediction_batches(X.shape[0]):
            gate_proba, proba = self._routed_outputs(X[rows])
            mixture_proba[rows] = np.einsum("nk,nkc->nc", gate_proba, proba)
        # Rounding in the weighted sum can give 1 + 2e-16, which
        # sklearn.metrics.log_loss rejects.
        return np.clip(mixture_proba, 0.0, 1.0, out=mixture_proba)

    def predict_log_proba(self, X):
        """Predict the log of the class probabilities of the mixture.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log of ``predict_proba(X)``; -inf for a probability of zero.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict the class with the largest mixture probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_experts(self, X):
        """Predict class probabilities with every expert on every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, `n_experts_`, n_classes)
            ``p_k(c | x)`` of each expert, also outside the top-k routing.
        """
        X = self._validate_predict_X(X)
        return self._expert_outputs(self.experts_, X)
