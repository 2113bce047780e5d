"""Display of the gate's regions for a mixture of experts on two features."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_consistent_length
from sklearn.utils.multiclass import type_of_target

from skmoe.inspection._common import (
    _as_estimator_input,
    _check_fitted_mixture,
    _check_matplotlib_support,
    _expert_colors,
    _legend_position,
    _validate_display_X,
)

__all__ = ["GateRegionDisplay"]

# Opacity of a region where the gate is uniform over the experts, and where
# it puts all its weight on one expert.
_MIN_REGION_ALPHA = 0.12
_MAX_REGION_ALPHA = 0.75
_CLASS_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*")


class GateRegionDisplay:
    """Gate regions of a mixture of experts on two features.

    Each point of a grid is coloured by the expert with the largest gate
    weight there, and the colour is paler where that largest weight is low,
    so soft boundaries show as pale bands. Black lines mark where the
    heaviest expert changes.

    Use :meth:`from_estimator` to create a display from a fitted mixture. The
    constructor takes precomputed arrays and draws nothing.

    Parameters
    ----------
    xx0 : ndarray of shape (grid_resolution, grid_resolution)
        First coordinate of the grid, as returned by :func:`numpy.meshgrid`.

    xx1 : ndarray of shape (grid_resolution, grid_resolution)
        Second coordinate of the grid.

    gate_proba : ndarray of shape (grid_resolution, grid_resolution, n_experts)
        Gate weights at each grid point.

    xlabel : str, default=None
        Default label of the x axis.

    ylabel : str, default=None
        Default label of the y axis.

    X : ndarray of shape (n_samples, 2), default=None
        Data points to draw over the regions when `plot` is called with
        `scatter=True`.

    y : array-like of shape (n_samples,), default=None
        Targets of `X`. A continuous target colours the points with a colour
        bar, and class labels give each class its own marker.

    target_name : str, default=None
        Label of the colour bar or of the class legend.

    Attributes
    ----------
    surface_ : matplotlib AxesImage
        The coloured regions.

    boundaries_ : list of matplotlib QuadContourSet
        The outline of each expert's region, where the heaviest expert
        changes. Empty when one expert is the heaviest on the whole grid.

    scatter_ : list of matplotlib PathCollection
        The data points: one collection, one per class, or none.

    legend_ : matplotlib Legend
        Legend of the expert colours.

    colorbar_ : matplotlib Colorbar or None
        Colour bar of a continuous `y`.

    ax_ : matplotlib Axes
        Axes with the regions.

    figure_ : matplotlib Figure
        Figure containing the regions.

    See Also
    --------
    ExpertCurveDisplay : Experts and gate weights against one feature.
    summarize : One row of statistics per expert.

    Examples
    --------
    >>> import numpy as np
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.inspection import GateRegionDisplay
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-2, 2, size=(200, 2))
    >>> y = np.where(X[:, 0] > 0, 3 * X[:, 1], -X[:, 1]) + 0.1 * rng.randn(200)
    >>> moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    >>> disp = GateRegionDisplay.from_estimator(moe, X, y=y)
    >>> disp.surface_.get_array().shape
    (100, 100, 4)
    """

    def __init__(
        self,
        *,
        xx0,
        xx1,
        gate_proba,
        xlabel=None,
        ylabel=None,
        X=None,
        y=None,
        target_name=None,
    ):
        self.xx0 = xx0
        self.xx1 = xx1
        self.gate_proba = gate_proba
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.X = X
        self.y = y
        self.target_name = target_name

    def plot(self, ax=None, *, scatter=True, xlabel=None, ylabel=None, **kwargs):
        """Plot the gate regions.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created. The
            legends go right of the axes when the figure has a constrained
            layout (as a new one has), else inside, in the right corners.

        scatter : bool, default=True
            Whether to draw the stored data points `X` over the regions.

        xlabel : str, default=None
            Label of the x axis. If None, the display's `xlabel` is used.

        ylabel : str, default=None
            Label of the y axis. If None, the display's `ylabel` is used.

        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.imshow`, which draws the
            regions.

        Returns
        -------
        display : :class:`~skmoe.inspection.GateRegionDisplay`
            Object that stores the computed values and the artists.

        See Also
        --------
        GateRegionDisplay.from_estimator : Compute and plot the gate regions
            of a fitted mixture.
        """
        _check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch

        if ax is None:
            _, ax = plt.subplots(layout="constrained")

        gate_proba = np.asarray(self.gate_proba, dtype=np.float64)
        n_experts = gate_proba.shape[-1]
        colors = _expert_colors(n_experts)
        heaviest = gate_proba.argmax(axis=-1)
        confidence = gate_proba.max(axis=-1)

        # The largest weight ranges from 1 / n_experts (uniform gate) to 1.
        if n_experts > 1:
            floor = 1.0 / n_experts
            strength = np.clip((confidence - floor) / (1.0 - floor), 0.0, 1.0)
        else:
            strength = np.ones_like(confidence)
        rgba = colors[heaviest].copy()
        rgba[..., 3] = _MIN_REGION_ALPHA + (
            _MAX_REGION_ALPHA - _MIN_REGION_ALPHA
        ) * strength

        extent = (
            self.xx0.min(),
            self.xx0.max(),
            self.xx1.min(),
            self.xx1.max(),
        )
        image_kwargs = {
            "origin": "lower",
            "extent": extent,
            "aspect": "auto",
            "interpolation": "nearest",
            "zorder": -2,
            **kwargs,
        }
        self.surface_ = ax.imshow(rgba, **image_kwargs)

        # Each expert's region is where its weight beats every other
        # expert's, so its outline is the zero contour of that margin.
        self.boundaries_ = []
        if np.unique(heaviest).size > 1:
            ordered = np.sort(gate_proba, axis=-1)
            largest, second = ordered[..., -1], ordered[..., -2]
            for k in range(n_experts):
                others = np.where(heaviest == k, second, largest)
                margin = gate_proba[..., k] - others
                if margin.max() <= 0:
                    continue
                self.boundaries_.append(
                    ax.contour(
                        self.xx0,
                        self.xx1,
                        margin,
                        levels=[0.0],
                        colors="black",
                        linewidths=0.8,
                        zorder=-1,
                    )
                )

        self.scatter_ = []
        self.colorbar_ = None
        class_handles = []
        if scatter and self.X is not None:
            self._plot_points(ax, class_handles)

        expert_handles = [
            Patch(facecolor=colors[k, :3], alpha=_MAX_REGION_ALPHA, label=f"expert {k}")
            for k in range(n_experts)
        ]
        self.legend_ = ax.legend(
            handles=expert_handles,
            title="heaviest expert\n(paler: gate less sure)",
            fontsize="small",
            title_fontsize="small",
            **_legend_position(ax, "upper"),
        )
        if class_handles:
            ax.add_artist(self.legend_)
            ax.legend(
                handles=class_handles,
                title=self.target_name,
                fontsize="small",
                title_fontsize="small",
                **_legend_position(ax, "lower"),
            )

        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        xlabel = self.xlabel if xlabel is None else xlabel
        ylabel = self.ylabel if ylabel is None else ylabel
        if xlabel is not None:
            ax.set_xlabel(xlabel)
        if ylabel is not None:
            ax.set_ylabel(ylabel)

        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _plot_points(self, ax, class_handles):
        """Draw the data points, coloured or marked by `y` when it is given."""
        from matplotlib.lines import Line2D

        X = np.asarray(self.X)
        point_style = {"s": 18, "edgecolors": "black", "linewidths": 0.5}
        if self.y is None:
            self.scatter_.append(ax.scatter(X[:, 0], X[:, 1], c="white", **point_style))
            return

        y = np.asarray(self.y)
        if type_of_target(y) == "continuous":
            points = ax.scatter(X[:, 0], X[:, 1], c=y, cmap="Greys", **point_style)
            self.scatter_.append(points)
            self.colorbar_ = ax.figure.colorbar(
                points, ax=ax, location="bottom", shrink=0.6
            )
            self.colorbar_.set_label(self.target_name or "target")
            return

        for index, label in enumerate(np.unique(y)):
            marker = _CLASS_MARKERS[index % len(_CLASS_MARKERS)]
            mask = y == label
            self.scatter_.append(
                ax.scatter(
                    X[mask, 0], X[mask, 1], c="white", marker=marker, **point_style
                )
            )
            class_handles.append(
                Line2D(
                    [],
                    [],
                    linestyle="",
                    marker=marker,
                    markerfacecolor="white",
                    markeredgecolor="black",
                    label=str(label),
                )
            )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        y=None,
        grid_resolution=100,
        eps=1.0,
        scatter=True,
        xlabel=None,
        ylabel=None,
        ax=None,
        **kwargs,
    ):
        """Plot the gate regions of a fitted mixture of experts.

        Parameters
        ----------
        estimator : MixtureOfExpertsRegressor or MixtureOfExpertsClassifier
            Mixture fitted on exactly two features.

        X : array-like of shape (n_samples, 2)
            Data that sets the range of the grid and is drawn as points.

        y : array-like of shape (n_samples,), default=None
            Targets of `X`, used only to colour or mark the points.

        grid_resolution : int, default=100
            Number of grid points along each feature.

        eps : float, default=1.0
            Margin added on both sides of the range of each feature of `X`,
            in the units of that feature.

        scatter : bool, default=True
            Whether to draw the points of `X` over the regions.

        xlabel : str, default=None
            Label of the x axis. If None, the first feature's name is used
            (a DataFrame column or `feature_names_in_`), else "feature 0".

        ylabel : str, default=None
            Label of the y axis. If None, the second feature's name is used,
            else "feature 1".

        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.

        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.imshow`.

        Returns
        -------
        display : :class:`~skmoe.inspection.GateRegionDisplay`
            Object that stores the computed values and the artists.

        See Also
        --------
        GateRegionDisplay.plot : Plot precomputed gate regions.
        """
        caller_name = f"{cls.__name__}.from_estimator"
        _check_matplotlib_support(caller_name)
        _check_fitted_mixture(estimator, caller_name)
        if not isinstance(grid_resolution, Integral) or grid_resolution < 2:
            raise ValueError(
                "grid_resolution must be an integer >= 2; got "
                f"grid_resolution={grid_resolution!r}."
            )
        if not isinstance(eps, Real) or eps < 0:
            raise ValueError(f"eps must be a number >= 0; got eps={eps!r}.")
        X_array, feature_names = _validate_display_X(estimator, X, 2, caller_name)
        if y is not None:
            check_consistent_length(X_array, y)

        low = X_array.min(axis=0) - eps
        high = X_array.max(axis=0) + eps
        xx0, xx1 = np.meshgrid(
            np.linspace(low[0], high[0], grid_resolution),
            np.linspace(low[1], high[1], grid_resolution),
        )
        grid = np.column_stack([xx0.ravel(), xx1.ravel()])
        gate_proba = estimator.gate_proba(_as_estimator_input(estimator, grid))
        gate_proba = np.asarray(gate_proba).reshape(*xx0.shape, -1)

        if feature_names is None:
            feature_names = ["feature 0", "feature 1"]
        target_name = getattr(y, "name", None)
        display = cls(
            xx0=xx0,
            xx1=xx1,
            gate_proba=gate_proba,
            xlabel=feature_names[0],
            ylabel=feature_names[1],
            X=X_array,
            y=None if y is None else np.asarray(y),
            target_name=None if target_name is None else str(target_name),
        )
        return display.plot(
            ax=ax, scatter=scatter, xlabel=xlabel, ylabel=ylabel, **kwargs
        )
