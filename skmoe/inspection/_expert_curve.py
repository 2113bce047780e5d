"""Display of the experts and gate weights of a mixture on one feature."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils import check_consistent_length

from skmoe.inspection._common import (
    _as_estimator_input,
    _check_fitted_mixture,
    _check_matplotlib_support,
    _expert_colors,
    _legend_position,
    _validate_display_X,
)

__all__ = ["ExpertCurveDisplay"]


def _check_two_axes(ax):
    """Return `ax` as an array of two Axes (top, bottom) or None."""
    from matplotlib.axes import Axes

    if ax is None or isinstance(ax, Axes):
        return ax
    axes = np.ravel(np.asarray(ax, dtype=object))
    if axes.size != 2 or not all(isinstance(a, Axes) for a in axes):
        raise ValueError(
            "ax must be None, one matplotlib Axes or a sequence of two Axes "
            f"(curves, gate weights); got {ax!r}."
        )
    return axes


def _resolve_class_index(estimator, class_of_interest):
    """Return the column of `classes_` for `class_of_interest`."""
    classes = estimator.classes_
    if class_of_interest is None:
        if len(classes) == 2:
            return 1
        raise ValueError(
            f"class_of_interest is required for a classifier with {len(classes)} "
            f"classes; pass one of {list(classes)}."
        )
    matches = np.flatnonzero(classes == class_of_interest)
    if matches.size == 0:
        raise ValueError(
            f"class_of_interest={class_of_interest!r} is not one of the "
            f"estimator's classes {list(classes)}."
        )
    return int(matches[0])


class ExpertCurveDisplay:
    """Experts, gate weights and mixture of a mixture of experts on one feature.

    The top axes show the data, each expert's prediction and the mixture's
    prediction. For a regressor they also show the band of the mixture mean
    plus or minus two standard deviations. The bottom axes show each
    expert's gate weight, in the same colour as its curve.

    Use :meth:`from_estimator` to create a display from a fitted mixture. The
    constructor takes precomputed arrays and draws nothing.

    Parameters
    ----------
    x_grid : ndarray of shape (n_points,)
        Increasing feature values at which the curves are evaluated.

    expert_response : ndarray of shape (n_points, n_experts)
        Each expert's prediction at `x_grid` (a classifier's experts: their
        probability of one class).

    gate_proba : ndarray of shape (n_points, n_experts)
        Gate weights at `x_grid`.

    mixture_mean : ndarray of shape (n_points,)
        The mixture's prediction at `x_grid` (a classifier: its probability
        of the same class).

    mixture_std : ndarray of shape (n_points,), default=None
        Standard deviation of the mixture at `x_grid`. If not None, a band
        of `mixture_mean` plus or minus two standard deviations is drawn.

    X : ndarray of shape (n_samples,), default=None
        Feature values of the data points.

    y : ndarray of shape (n_samples,), default=None
        Target values of the data points (a classifier: 1.0 for the class
        shown, else 0.0).

    xlabel : str, default=None
        Default label of the x axis.

    ylabel : str, default=None
        Default label of the y axis of the top axes.

    Attributes
    ----------
    expert_lines_ : list of matplotlib Line2D
        One dashed line per expert, in the top axes.

    mean_line_ : matplotlib Line2D
        The mixture's prediction.

    band_ : matplotlib PolyCollection or None
        The band of the mean plus or minus two standard deviations, or None
        without `mixture_std`.

    scatter_ : matplotlib PathCollection or None
        The data points, or None when they are not drawn.

    gate_lines_ : list of matplotlib Line2D
        One line of gate weights per expert, in the bottom axes.

    legend_ : matplotlib Legend
        Legend of the top axes.

    axes_ : ndarray of matplotlib Axes of shape (2,)
        The top (curves) and bottom (gate weights) axes.

    figure_ : matplotlib Figure
        Figure containing the axes.

    See Also
    --------
    GateRegionDisplay : Gate regions on two features.
    ConvergenceDisplay : EM objective per iteration.

    Examples
    --------
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_tone
    >>> from skmoe.inspection import ExpertCurveDisplay
    >>> X, y = load_tone(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    >>> disp = ExpertCurveDisplay.from_estimator(moe, X, y)
    >>> len(disp.expert_lines_), len(disp.gate_lines_)
    (2, 2)
    >>> disp.axes_.shape
    (2,)
    """

    def __init__(
        self,
        *,
        x_grid,
        expert_response,
        gate_proba,
        mixture_mean,
        mixture_std=None,
        X=None,
        y=None,
        xlabel=None,
        ylabel=None,
    ):
        self.x_grid = x_grid
        self.expert_response = expert_response
        self.gate_proba = gate_proba
        self.mixture_mean = mixture_mean
        self.mixture_std = mixture_std
        self.X = X
        self.y = y
        self.xlabel = xlabel
        self.ylabel = ylabel

    def plot(self, ax=None, *, scatter=True, xlabel=None, ylabel=None, **kwargs):
        """Plot the experts, the mixture and the gate weights.

        Parameters
        ----------
        ax : matplotlib Axes or sequence of two Axes, default=None
            Where to draw. Two Axes are used as (curves, gate weights). One
            Axes takes the curves, and the gate weights get new axes split
            off below it. If None, a new figure with two axes is created. The
            legend goes right of the axes when the figure has a constrained
            layout (as a new one has), else where it covers the fewest points.

        scatter : bool, default=True
            Whether to draw the data points `X`, `y` when they are stored.

        xlabel : str, default=None
            Label of the x axis. If None, the display's `xlabel` is used.

        ylabel : str, default=None
            Label of the y axis of the curves. If None, the display's
            `ylabel` is used.

        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the expert
            curves (for example `linewidth`).

        Returns
        -------
        display : :class:`~skmoe.inspection.ExpertCurveDisplay`
            Object that stores the computed values and the artists.

        See Also
        --------
        ExpertCurveDisplay.from_estimator : Compute and plot the experts and
            gate weights of a fitted mixture.
        """
        _check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt

        axes = _check_two_axes(ax)
        if axes is None:
            _, axes = plt.subplots(
                2,
                1,
                sharex=True,
                figsize=(7.0, 6.0),
                height_ratios=(3, 1),
                layout="constrained",
            )
        elif not isinstance(axes, np.ndarray):
            from mpl_toolkits.axes_grid1 import make_axes_locatable

            divider = make_axes_locatable(axes)
            gate_ax = divider.append_axes("bottom", size="35%", pad=0.1, sharex=axes)
            axes = np.array([axes, gate_ax], dtype=object)
        curve_ax, gate_ax = axes

        x_grid = np.asarray(self.x_grid)
        expert_response = np.asarray(self.expert_response)
        gate_proba = np.asarray(self.gate_proba)
        n_experts = expert_response.shape[1]
        colors = _expert_colors(n_experts)

        self.scatter_ = None
        if scatter and self.X is not None and self.y is not None:
            self.scatter_ = curve_ax.scatter(
                self.X, self.y, s=12, color="0.45", alpha=0.6, label="data", zorder=1
            )

        self.band_ = None
        if self.mixture_std is not None:
            mean = np.asarray(self.mixture_mean)
            std = np.asarray(self.mixture_std)
            self.band_ = curve_ax.fill_between(
                x_grid,
                mean - 2 * std,
                mean + 2 * std,
                color="0.3",
                alpha=0.18,
                linewidth=0,
                label="mixture ± 2 std",
                zorder=0,
            )

        line_kwargs = {"linestyle": "--", "linewidth": 1.5, **kwargs}
        self.expert_lines_ = [
            curve_ax.plot(
                x_grid,
                expert_response[:, k],
                color=colors[k],
                label=f"expert {k}",
                zorder=2,
                **line_kwargs,
            )[0]
            for k in range(n_experts)
        ]
        (self.mean_line_,) = curve_ax.plot(
            x_grid,
            self.mixture_mean,
            color="black",
            linewidth=2.0,
            label="mixture mean",
            zorder=3,
        )
        self._limit_curve_axes(curve_ax)
        self.legend_ = curve_ax.legend(
            fontsize="small", **_legend_position(curve_ax, "upper", inside_loc="best")
        )

        self.gate_lines_ = [
            gate_ax.plot(x_grid, gate_proba[:, k], color=colors[k], linewidth=1.5)[0]
            for k in range(n_experts)
        ]
        gate_ax.set_ylim(-0.03, 1.03)
        gate_ax.set_ylabel("gate weight")
        gate_ax.set_xlim(x_grid.min(), x_grid.max())
        curve_ax.tick_params(labelbottom=False)

        xlabel = self.xlabel if xlabel is None else xlabel
        ylabel = self.ylabel if ylabel is None else ylabel
        if xlabel is not None:
            gate_ax.set_xlabel(xlabel)
        if ylabel is not None:
            curve_ax.set_ylabel(ylabel)

        self.axes_ = np.array([curve_ax, gate_ax], dtype=object)
        self.figure_ = curve_ax.figure
        return self

    def _limit_curve_axes(self, curve_ax):
        """Fit the y range to the data and the mixture mean.

        Experts (polynomials, say) can run far off outside the region they
        are responsible for, and so can the band where the gate mixes such an
        expert in, which would squash the rest of the plot. The band sets the
        range only when there are no data points.
        """
        mean = np.asarray(self.mixture_mean, dtype=np.float64)
        values = [mean]
        if self.y is not None:
            values.append(np.asarray(self.y, dtype=np.float64))
        elif self.mixture_std is not None:
            std = np.asarray(self.mixture_std, dtype=np.float64)
            values += [mean - 2 * std, mean + 2 * std]
        low = min(v.min() for v in values)
        high = max(v.max() for v in values)
        margin = 0.1 * (high - low) if high > low else 1.0
        curve_ax.set_ylim(low - margin, high + margin)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y=None,
        *,
        class_of_interest=None,
        grid_resolution=200,
        scatter=True,
        xlabel=None,
        ylabel=None,
        ax=None,
        **kwargs,
    ):
        """Plot the experts and gate weights of a fitted mixture of experts.

        Parameters
        ----------
        estimator : MixtureOfExpertsRegressor or MixtureOfExpertsClassifier
            Mixture fitted on exactly one feature.

        X : array-like of shape (n_samples, 1)
            Data that sets the range of the curves.

        y : array-like of shape (n_samples,), default=None
            Targets of `X`. If given, the data points are drawn.

        class_of_interest : int, float, bool or str, default=None
            Classifier only: the class whose probability is shown. If None,
            a binary classifier shows `classes_[1]`, and a multiclass
            classifier raises a ValueError.

        grid_resolution : int, default=200
            Number of points on which the curves are evaluated, evenly
            spaced from the smallest to the largest value of `X`.

        scatter : bool, default=True
            Whether to draw the data points when `y` is given.

        xlabel : str, default=None
            Label of the x axis. If None, the feature's name is used (a
            DataFrame column or `feature_names_in_`), else "feature 0".

        ylabel : str, default=None
            Label of the y axis of the curves. If None, the name of a pandas
            `y`, else "target" (a classifier: "P(y = <class>)").

        ax : matplotlib Axes or sequence of two Axes, default=None
            Where to draw, as in :meth:`plot`.

        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the expert
            curves.

        Returns
        -------
        display : :class:`~skmoe.inspection.ExpertCurveDisplay`
            Object that stores the computed values and the artists.

        See Also
        --------
        ExpertCurveDisplay.plot : Plot precomputed experts and gate weights.
        """
        caller_name = f"{cls.__name__}.from_estimator"
        _check_matplotlib_support(caller_name)
        _check_fitted_mixture(estimator, caller_name)
        if not isinstance(grid_resolution, Integral) or grid_resolution < 2:
            raise ValueError(
                "grid_resolution must be an integer >= 2; got "
                f"grid_resolution={grid_resolution!r}."
            )
        X_array, feature_names = _validate_display_X(estimator, X, 1, caller_name)
        if y is not None:
            check_consistent_length(X_array, y)

        x_grid = np.linspace(X_array.min(), X_array.max(), grid_resolution)
        grid = _as_estimator_input(estimator, x_grid.reshape(-1, 1))
        gate_proba = np.asarray(estimator.gate_proba(grid))
        expert_response = np.asarray(estimator.predict_experts(grid))

        target_name = getattr(y, "name", None)
        y_points = None if y is None else np.asarray(y)
        mixture_std = None
        if is_classifier(estimator):
            class_index = _resolve_class_index(estimator, class_of_interest)
            label = estimator.classes_[class_index]
            expert_response = expert_response[:, :, class_index]
            mixture_mean = np.asarray(estimator.predict_proba(grid))[:, class_index]
            if y_points is not None:
                y_points = (y_points == label).astype(np.float64)
            default_ylabel = f"P(y = {label})"
        else:
            if class_of_interest is not None:
                raise ValueError(
                    "class_of_interest applies to classifiers only; got "
                    f"class_of_interest={class_of_interest!r} for a "
                    f"{type(estimator).__name__}. Leave it as None."
                )
            mixture_mean, mixture_std = estimator.predict(grid, return_std=True)
            default_ylabel = "target" if target_name is None else str(target_name)

        display = cls(
            x_grid=x_grid,
            expert_response=expert_response,
            gate_proba=gate_proba,
            mixture_mean=np.asarray(mixture_mean),
            mixture_std=None if mixture_std is None else np.asarray(mixture_std),
            X=X_array[:, 0],
            y=y_points,
            xlabel="feature 0" if feature_names is None else feature_names[0],
            ylabel=default_ylabel,
        )
        return display.plot(
            ax=ax, scatter=scatter, xlabel=xlabel, ylabel=ylabel, **kwargs
        )

