"""Display of the EM objective of a mixture of experts per iteration."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from skmoe.inspection._common import _check_fitted_mixture, _check_matplotlib_support

__all__ = ["ConvergenceDisplay"]


class ConvergenceDisplay:
    """EM objective per iteration of a fitted mixture of experts.

    The curve is the estimator's `log_likelihood_history_`: the EM objective
    per unit of sample weight after each iteration of the kept
    initialisation. A star marks the last iteration when EM converged.

    Use :meth:`from_estimator` to create a display from a fitted mixture.

    Parameters
    ----------
    log_likelihood_history : array-like of shape (n_iter,)
        EM objective after each iteration.

    converged : bool, default=None
        Whether EM converged. If True, the last iteration is marked. None
        means unknown and is drawn like False.

    estimator_name : str, default=None
        Name of the estimator, used as the title of the axes.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The EM objective per iteration.

    converged_marker_ : matplotlib Line2D or None
        The star at the last iteration, or None when EM did not converge.

    ax_ : matplotlib Axes
        Axes with the curve.

    figure_ : matplotlib Figure
        Figure containing the curve.

    See Also
    --------
    ExpertCurveDisplay : Experts and gate weights against one feature.

    Examples
    --------
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_tone
    >>> from skmoe.inspection import ConvergenceDisplay
    >>> X, y = load_tone(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y)
    >>> disp = ConvergenceDisplay.from_estimator(moe)
    >>> len(disp.line_.get_xdata()) == moe.n_iter_
    True
    """

    def __init__(self, *, log_likelihood_history, converged=None, estimator_name=None):
        self.log_likelihood_history = log_likelihood_history
        self.converged = converged
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, **kwargs):
        """Plot the EM objective per iteration.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.

        name : str, default=None
            Title of the axes. If None, `estimator_name` is used.

        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        display : :class:`~skmoe.inspection.ConvergenceDisplay`
            Object that stores the computed values and the artists.

        See Also
        --------
        ConvergenceDisplay.from_estimator : Compute and plot the EM objective
            of a fitted mixture per iteration.
        """
        _check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            _, ax = plt.subplots(layout="constrained")

        history = np.asarray(self.log_likelihood_history, dtype=np.float64)
        iterations = np.arange(1, history.size + 1)
        status = "converged" if self.converged else "not converged"
        line_kwargs = {
            "marker": "o",
            "markersize": 3,
            "label": f"EM objective ({status})",
            **kwargs,
        }
        (self.line_,) = ax.plot(iterations, history, **line_kwargs)

        self.converged_marker_ = None
        if self.converged and history.size > 0:
            (self.converged_marker_,) = ax.plot(
                iterations[-1],
                history[-1],
                linestyle="",
                marker="*",
                markersize=14,
                color="black",
                label=f"converged at iteration {history.size}",
            )

        ax.set_xlabel("EM iteration")
        ax.set_ylabel("EM objective per sample")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(loc="best", fontsize="small")
        title = self.estimator_name if name is None else name
        if title is not None:
            ax.set_title(title)

        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, name=None, ax=None, **kwargs):
        """Plot the EM objective per iteration of a fitted mixture of experts.

        Parameters
        ----------
        estimator : MixtureOfExpertsRegressor or MixtureOfExpertsClassifier
            Fitted mixture of experts.

        name : str, default=None
            Title of the axes. If None, the estimator's class name is used.

        ax : matplotlib Axes, default=None
            Axes to draw on. If None, a new figure and axes are created.

        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        display : :class:`~skmoe.inspection.ConvergenceDisplay`
            Object that stores the computed values and the artists.

        See Also
        --------
        ConvergenceDisplay.plot : Plot precomputed EM objective per iteration.
        """
        caller_name = f"{cls.__name__}.from_estimator"
        _check_matplotlib_support(caller_name)
        _check_fitted_mixture(estimator, caller_name)

        display = cls(
            log_likelihood_history=np.asarray(estimator.log_likelihood_history_),
            converged=bool(estimator.converged_),
            estimator_name=type(estimator).__name__,
        )
        return display.plot(ax=ax, name=name, **kwargs)
