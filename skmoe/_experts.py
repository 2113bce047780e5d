"""Fitting, evaluating and counting the parameters of the experts of a mixture."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn import get_config
from sklearn.base import clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

__all__ = [
    "count_parameters",
    "fit_expert",
    "make_expert_templates",
    "predict_expert_proba",
    "set_expert_random_states",
    "weight_support",
]

# An expert needs at least this many rows with positive weight to be fitted;
# a smaller region gets a constant expert.
_MIN_REGION_ROWS = 2


### Expert templates


def make_expert_templates(expert, n_experts, default):
    """Return the list of unfitted experts: clones of one estimator or of a list."""
    if expert is None:
        return [clone(default) for _ in range(n_experts)]
    if isinstance(expert, (list, tuple)):
        return [clone(estimator) for estimator in expert]
    return [clone(expert) for _ in range(n_experts)]


def set_expert_random_states(experts, random_state):
    """Seed every unset ``*random_state`` parameter of the experts.

    A parameter the user set is kept. Unset ones get integers drawn from
    ``random_state``, so that the same seed gives the same experts in every
    worker process.
    """
    for estimator in experts:
        params = estimator.get_params(deep=True)
        seeds = {}
        for key in sorted(params):
            if key == "random_state" or key.endswith("__random_state"):
                if params[key] is None:
                    seeds[key] = int(random_state.randint(np.iinfo(np.int32).max))
        if seeds:
            estimator.set_params(**seeds)


### Passing the responsibilities to an expert


def weight_support(estimator):
    """Return how ``estimator.fit`` takes row weights.

    Returns
    -------
    support : {"routing", "direct", "last_step", None}
        "routing" when metadata routing is enabled (the estimator routes
        ``sample_weight`` itself, as requested by the user), "direct" when
        ``fit`` has a ``sample_weight`` parameter, "last_step" for a Pipeline
        whose final step has one, None when weights cannot be passed.
    """
    if isinstance(estimator, Pipeline):
        if get_config().get("enable_metadata_routing", False):
            return "routing"
        final = estimator.steps[-1][1]
        if final != "passthrough" and has_fit_parameter(final, "sample_weight"):
            return "last_step"
        return None
    if has_fit_parameter(estimator, "sample_weight"):
        return "direct"
    return None


def _fit_weighted(estimator, X, y, sample_weight, support):
    if support == "last_step":
        name = estimator.steps[-1][0]
        return estimator.fit(X, y, **{f"{name}__sample_weight": sample_weight})
    return estimator.fit(X, y, sample_weight=sample_weight)


def _fit_constant(is_classifier, X, y, sample_weight):
    """Fit the constant expert used for an empty or single-class region."""
    if is_classifier:
        constant = DummyClassifier(strategy="prior")
    else:
        constant = DummyRegressor(strategy="mean")
    if sample_weight.sum() <= 0:
        sample_weight = np.ones_like(sample_weight)
    return constant.fit(X, y, sample_weight=sample_weight)


def fit_expert(estimator, X, y, weight, hard_mask, support, is_classifier, routed):
    """Fit one expert on its region in an M-step.

    Parameters
    ----------
    estimator : estimator
        Unfitted (or previously fitted) expert. It is fitted in place.
    X, y : ndarray
        Training data, y label-encoded for a classifier.
    weight : ndarray of shape (n_samples,)
        ``sample_weight * resp[:, k]``.
    hard_mask : ndarray of shape (n_samples,) of bool or None
        Rows whose heaviest expert is this one. Needed only when ``support``
        is None.
    support : {"routing", "direct", "last_step", None}
        Result of :func:`weight_support` for the estimator.
    is_classifier : bool
        Whether the mixture is a classifier.
    routed : bool
        Whether the weights come from sparse routing (``top_k``, expert
        choice or a hard gate). Then only the rows with positive weight are
        passed, so that the fit costs what the region does. Under a soft gate
        every row is passed with its weight, zero where a responsibility
        underflowed, so that X is not copied, unless a classifier's class
        would reach the expert with weight zero only. An expert that takes
        no weights gets the rows of ``hard_mask`` in both cases.

    Returns
    -------
    fitted : estimator
        The fitted expert, or a fitted Dummy estimator when the region contains
        fewer than two rows or a single class, or when its own fit
        raised a ValueError.
    reason : str or None
        Why the expert is constant, None when it is the user's estimator.
    error : ValueError or None
        The error raised by the expert's own fit, which made it constant.
    """
    rows = weight > 0
    if support is None:
        rows &= hard_mask

    n_rows = int(rows.sum())
    if n_rows < _MIN_REGION_ROWS:
        constant = _fit_constant(is_classifier, X, y, weight)
        return constant, f"{n_rows} row(s) in its region", None
    pass_all_rows = support is not None and not routed
    if is_classifier:
        n_region_classes = np.unique(y[rows]).size
        if n_region_classes < 2:
            constant = _fit_constant(is_classifier, X, y, weight)
            return constant, "a single class in its region", None
        # A class whose rows all have weight zero must not reach the expert:
        # SVC(probability=True) keeps it in classes_ but leaves it out of
        # predict_proba's columns.
        pass_all_rows &= n_region_classes == np.count_nonzero(np.bincount(y))

    if n_rows == rows.size or pass_all_rows:
        # X itself, not a copy, as scikit-learn's ensembles pass it to their
        # estimators. A read-only view would make LinearRegression copy X
        # twice.
        X_region, y_region, region_weight = X, y, weight
    else:
        X_region, y_region, region_weight = X[rows], y[rows], weight[rows]
    # A ValueError here usually comes from the region's data (a class too rare
    # for the expert's internal cross-validation, too few rows for its
    # neighbours). The driver raises it when every expert fails.
    try:
        if support is None:
            return estimator.fit(X_region, y_region), None, None
        fitted = _fit_weighted(estimator, X_region, y_region, region_weight, support)
        return fitted, None, None
    except UnsetMetadataPassedError:
        # This ValueError reports a misconfigured expert, not bad region data.
        # A constant expert would hide that the weights never reached it.
        raise
    except ValueError as error:
        constant = _fit_constant(is_classifier, X, y, weight)
        return constant, f"a failed fit on its {n_rows} rows ({error})", error


### Expert outputs


def predict_expert_proba(estimator, X, n_classes):
    """Return the expert's class probabilities in the mixture's class columns.

    The experts are fitted on label-encoded targets, so ``estimator.classes_``
    contains column indices of the mixture's ``classes_``. A class the expert
    never saw gets probability zero.
    """
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    columns = np.asarray(estimator.classes_, dtype=np.intp)
    if columns.size == n_classes and np.array_equal(columns, np.arange(n_classes)):
        return proba
    full = np.zeros((X.shape[0], n_classes), dtype=np.float64)
    full[:, columns] = proba
    return full


### Parameter counting for BIC and AIC


def count_parameters(estimator):
    """Count the fitted parameters of an expert, or return None.

    Counts ``coef_``/``intercept_`` (linear models), ``coefs_``/``intercepts_``
    (multi-layer perceptrons), the constant of a Dummy estimator, the
    parameters of a nested mixture, and the sum over the steps of a Pipeline.
    Returns None for an estimator with no countable parameters (an SVR, a
    nearest-neighbours model).
    """
    if hasattr(estimator, "_n_parameters") and hasattr(estimator, "experts_"):
        return estimator._n_parameters()

    if isinstance(estimator, Pipeline):
        counts = [count_parameters(step) for _, step in estimator.steps]
        counts = [count for count in counts if count is not None]
        return sum(counts) if counts else None

    if isinstance(estimator, DummyRegressor):
        return int(np.size(estimator.constant_))
    if isinstance(estimator, DummyClassifier):
        return max(int(np.size(estimator.classes_)) - 1, 0)

    if hasattr(estimator, "coefs_"):
        return int(
            sum(np.size(c) for c in estimator.coefs_)
            + sum(np.size(b) for b in estimator.intercepts_)
        )
    if hasattr(estimator, "coef_"):
        n_parameters = np.size(estimator.coef_)
        if getattr(estimator, "fit_intercept", True):
            n_parameters += np.size(getattr(estimator, "intercept_", 0))
        return int(n_parameters)
    return None
