"""Input checks and colours shared by the skmoe displays and summarize."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pandas as pd
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

_PLOT_EXTRA_HINT = 'pip install "skmoe[plot]"'


def _check_matplotlib_support(caller_name):
    """Raise an ImportError with the install command when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            f"{caller_name} requires matplotlib, which is not installed. "
            f"Install it with `{_PLOT_EXTRA_HINT}` or `pip install matplotlib`."
        ) from exc


def _check_fitted_mixture(estimator, caller_name):
    """Raise unless `estimator` is a fitted skmoe mixture of experts."""
    if not hasattr(estimator, "gate_proba") or not hasattr(
        estimator, "predict_experts"
    ):
        raise TypeError(
            f"{caller_name} needs a MixtureOfExpertsRegressor or "
            f"MixtureOfExpertsClassifier; got {type(estimator).__name__}. "
            "Pass the fitted mixture itself (for a Pipeline, its last step)."
        )
    check_is_fitted(estimator)


def _validate_display_X(estimator, X, n_features, caller_name):
    """Check the shape of `X` for a display of `n_features` features.

    Returns
    -------
    X_array : ndarray of shape (n_samples, n_features)
        `X` as a finite float array.

    feature_names : list of str or None
        The column names of a DataFrame `X`, else the estimator's
        `feature_names_in_`, else None.
    """
    n_features_fitted = estimator.n_features_in_
    if n_features_fitted != n_features:
        raise ValueError(
            f"{caller_name} shows estimators fitted on exactly {n_features} "
            f"feature(s); got an estimator with n_features_in_="
            f"{n_features_fitted}. Fit it on {n_features} feature(s) to use "
            "this display."
        )
    X_array = check_array(X, dtype=np.float64, ensure_min_samples=1)
    if X_array.shape[1] != n_features:
        raise ValueError(
            f"{caller_name} needs X with {n_features} feature(s); got X with "
            f"shape {X_array.shape}."
        )

    if hasattr(X, "columns"):
        feature_names = [str(name) for name in X.columns]
    elif hasattr(estimator, "feature_names_in_"):
        feature_names = [str(name) for name in estimator.feature_names_in_]
    else:
        feature_names = None
    return X_array, feature_names


def _as_estimator_input(estimator, X_array):
    """Wrap `X_array` in a DataFrame when `estimator` was fitted on one.

    Without this, scikit-learn warns that X has no feature names.
    """
    if not hasattr(estimator, "feature_names_in_"):
        return X_array
    return pd.DataFrame(X_array, columns=estimator.feature_names_in_)


def _legend_position(ax, vertical, inside_loc=None):
    """Return the legend keywords for a `vertical` ("upper" or "lower") corner.

    The legend goes right of the axes when the figure has a constrained
    layout, which makes room for it. In other figures it could be cut off,
    so it goes inside the axes, at `inside_loc` or else in the right corner.
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if isinstance(ax.figure.get_layout_engine(), ConstrainedLayoutEngine):
        anchor_y = 1.0 if vertical == "upper" else 0.0
        return {
            "loc": f"{vertical} left",
            "bbox_to_anchor": (1.02, anchor_y),
            "borderaxespad": 0.0,
        }
    return {"loc": inside_loc or f"{vertical} right"}


def _expert_colors(n_experts):
    """Return an (n_experts, 4) RGBA array from matplotlib's qualitative maps."""
    import matplotlib as mpl

    if n_experts <= 10:
        return mpl.colormaps["tab10"](np.arange(n_experts))
    if n_experts <= 20:
        return mpl.colormaps["tab20"](np.arange(n_experts))
    return mpl.colormaps["turbo"](np.linspace(0.0, 1.0, n_experts))
