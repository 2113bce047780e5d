"""Per-expert summary table of a fitted mixture of experts."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.utils import check_array, check_consistent_length

from skmoe.inspection._common import _as_estimator_input, _check_fitted_mixture

__all__ = ["summarize"]


def _score_expert(expert, X_routed, y_routed, min_rows):
    """Return the expert's own `score` on its rows, or NaN with too few rows."""
    if len(y_routed) < min_rows:
        return np.nan
    return float(expert.score(X_routed, y_routed))


def _encode_labels(classes, y):
    """Return the indices of the labels `y` in the sorted array `classes`."""
    unknown = ~np.isin(y, classes)
    if unknown.any():
        raise ValueError(
            f"y contains labels the estimator was not fitted on: "
            f"{np.unique(y[unknown]).tolist()}. Known classes: {classes.tolist()}."
        )
    return np.searchsorted(classes, y)


def summarize(estimator, X, y=None):
    """Summarize each expert of a fitted mixture of experts on data `X`.

    A row of `X` is routed to the expert with the largest gate weight there
    (the estimator's `apply`). The statistics in a region are computed on
    the rows routed to that expert.

    Parameters
    ----------
    estimator : MixtureOfExpertsRegressor or MixtureOfExpertsClassifier
        Fitted mixture of experts.

    X : array-like of shape (n_samples, n_features)
        Data to summarize, for example the training or a held-out set.

    y : array-like of shape (n_samples,), default=None
        Targets of `X`. If None, only the columns that need no target are
        returned.

    Returns
    -------
    summary : pandas.DataFrame of shape (n_experts, n_columns)
        One row per expert, indexed by the expert's number (index name
        ``"expert"``), with the columns:

        - ``gate_share``: mean gate weight of the expert over the rows of `X`.
          The column sums to 1.
        - ``n_routed``: number of rows routed to the expert. The column sums
          to ``n_samples``.
        - ``noise_std`` (regressor): the fitted noise standard deviation of
          the expert, the square root of `noise_variance_`.
        - ``residual_std`` (regressor, with `y`): root mean square of
          ``y - f_k(x)`` over the routed rows, with ``f_k`` the expert's own
          prediction. NaN when no row is routed to the expert.
        - ``accuracy`` (classifier, with `y`): share of the routed rows whose
          class is the expert's own most probable class. NaN when no row is
          routed to the expert.
        - ``expert_score`` (with `y`): the expert's own `score` on its routed
          rows (R2 for a regressor, accuracy for a classifier). NaN when
          fewer rows are routed than the score needs (two for R2, one for
          accuracy).

    See Also
    --------
    GateRegionDisplay : Gate regions on two features.
    ExpertCurveDisplay : Experts and gate weights against one feature.

    Examples
    --------
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_tone
    >>> from skmoe.inspection import summarize
    >>> X, y = load_tone(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    >>> summary = summarize(moe, X, y)
    >>> list(summary.columns)
    ['gate_share', 'n_routed', 'noise_std', 'residual_std', 'expert_score']
    >>> int(summary["n_routed"].sum())
    150
    """
    _check_fitted_mixture(estimator, "summarize")
    X_array = check_array(X, dtype=np.float64)
    classifier = is_classifier(estimator)
    if y is not None:
        check_consistent_length(X_array, y)
        y = np.asarray(y)
        # The experts of a classifier are fitted on the column indices of
        # `classes_`, so their own `score` needs the encoded labels.
        y_expert = _encode_labels(estimator.classes_, y) if classifier else y
    X_input = _as_estimator_input(estimator, X_array)
    n_experts = estimator.n_experts_

    gate_proba = np.asarray(estimator.gate_proba(X_input))
    routed_to = np.asarray(estimator.apply(X_input))
    columns = {
        "gate_share": gate_proba.mean(axis=0),
        "n_routed": np.bincount(routed_to, minlength=n_experts),
    }
    if not classifier:
        columns["noise_std"] = np.sqrt(np.asarray(estimator.noise_variance_))

    if y is not None:
        expert_response = np.asarray(estimator.predict_experts(X_input))
        region_metric = np.full(n_experts, np.nan)
        expert_score = np.full(n_experts, np.nan)
        for k in range(n_experts):
            routed = routed_to == k
            if not routed.any():
                continue
            if classifier:
                expert_labels = estimator.classes_[expert_response[routed, k].argmax(1)]
                region_metric[k] = np.mean(expert_labels == y[routed])
            else:
                residual = y[routed] - expert_response[routed, k]
                region_metric[k] = np.sqrt(np.mean(residual**2))
            expert_score[k] = _score_expert(
                estimator.experts_[k],
                X_array[routed],
                y_expert[routed],
                min_rows=1 if classifier else 2,
            )
        columns["accuracy" if classifier else "residual_std"] = region_metric
        columns["expert_score"] = expert_score

    index = pd.RangeIndex(n_experts, name="expert")
    return pd.DataFrame(columns, index=index)
