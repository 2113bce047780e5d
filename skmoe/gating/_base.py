"""Base class and protocol shared by the gates of a mixture of experts."""

# SPDX-License-Identifier: BSD-3-Clause

from abc import ABCMeta, abstractmethod

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from skmoe._validation import validate_data

__all__ = ["BaseGate"]


class BaseGate(BaseEstimator, metaclass=ABCMeta):
    """Base class for gates: models of the expert weights g_k(x).

    A gate is fitted to soft targets ``resp`` of shape (n_samples, n_experts),
    the EM responsibilities, and returns log gate weights whose rows sum to one
    after exponentiation. The number of experts is read from ``resp.shape[1]``.

    Besides the public ``fit`` / ``predict_log_proba`` / ``predict_proba``,
    a gate implements a small private protocol that the EM driver of
    :class:`skmoe.MixtureOfExpertsRegressor` and
    :class:`skmoe.MixtureOfExpertsClassifier` calls on already validated
    float64 arrays:

    - ``_refit_in_m_step`` (class attribute): False for a gate that is fitted
      once, at initialisation, and kept fixed during EM.
    - ``_m_step(X, resp, sample_weight, *, top_k, random_state, tol=None)``:
      refit, warm-started from the current parameters when the gate is
      fitted. An iterative gate may stop at a gradient of size ``tol``, the
      mixture's EM tolerance; None asks for the full solution, as ``fit``.
    - ``_routing_log_proba(X, random_state)``: the log gate weights used for
      routing during training. Equal to ``predict_log_proba`` unless the gate
      adds training noise.
    - ``_penalty()``: the penalty P subtracted from the EM objective.
    - ``_n_parameters()``: the number of free parameters, for BIC and AIC.
    - ``_log_marginal_density(X)``: log p(x) for a generative gate, whose EM
      objective is the joint log-likelihood; None for a discriminative gate.
    - ``_permute_experts(order)``: reorder the experts in place so that new
      expert j is old expert ``order[j]``.
    """

    _refit_in_m_step = True

    def fit(self, X, resp, sample_weight=None):
        """Fit the gate to soft expert assignments.

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
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=1)
        resp = _check_resp(resp, X.shape[0])
        sample_weight = _check_gate_sample_weight(sample_weight, X.shape[0])
        self._reset()
        return self._m_step(X, resp, sample_weight, top_k=None, random_state=None)

    def predict_log_proba(self, X):
        """Compute the log gate weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_experts)
            log g_k(x) for each row and expert; -inf where a gate gives an
            expert no weight.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._log_proba(X)

    def predict_proba(self, X):
        """Compute the gate weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_experts)
            g_k(x) for each row and expert; each row sums to one.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """Return the index of the heaviest expert for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        expert_index : ndarray of shape (n_samples,)
            Index of the expert with the largest gate weight.
        """
        return np.argmax(self.predict_log_proba(X), axis=1)

    # Protocol used by the EM driver; arrays are validated float64.

    def _reset(self):
        """Forget fitted parameters so the next ``_m_step`` starts cold."""

    @abstractmethod
    def _m_step(self, X, resp, sample_weight, *, top_k, random_state, tol=None):
        """Refit on validated arrays, warm-started when already fitted."""

    @abstractmethod
    def _log_proba(self, X):
        """Return log gate weights for validated X."""

    def _routing_log_proba(self, X, random_state):
        return self._log_proba(X)

    def _penalty(self):
        return 0.0

    @abstractmethod
    def _n_parameters(self):
        """Return the number of free parameters of the fitted gate."""

    def _log_marginal_density(self, X):
        return None

    def _permute_experts(self, order):
        raise NotImplementedError(
            f"{type(self).__name__} does not implement _permute_experts."
        )


def _check_resp(resp, n_samples):
    """Validate soft targets: finite, non-negative, one row per sample."""
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != n_samples:
        raise ValueError(
            f"resp must have shape (n_samples, n_experts) = ({n_samples}, K), "
            f"got shape {resp.shape}."
        )
    if not np.all(np.isfinite(resp)) or np.any(resp < 0):
        raise ValueError(
            "resp must contain finite, non-negative values; each row contains the "
            "soft assignment of one sample to the experts."
        )
    return np.ascontiguousarray(resp)


def _check_gate_sample_weight(sample_weight, n_samples):
    """Return float64 row weights, ones when None."""
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float64)
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), "
            f"got shape {sample_weight.shape}."
        )
    if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
        raise ValueError("sample_weight must contain finite, non-negative values.")
    return sample_weight
