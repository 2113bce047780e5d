"""Tests for the displays and the summary table of skmoe.inspection."""

# SPDX-License-Identifier: BSD-3-Clause

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.datasets import load_tone
from skmoe.inspection import (
    ConvergenceDisplay,
    ExpertCurveDisplay,
    GateRegionDisplay,
    summarize,
)
from skmoe.inspection._common import _expert_colors


def _make_2d_regression(n_samples=200, seed=0):
    """Return a 2-D regression whose slope in x1 flips with the sign of x0."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n_samples, 2))
    y = np.where(X[:, 0] > 0, 3 * X[:, 1], -X[:, 1]) + 0.1 * rng.randn(n_samples)
    return X, y


def _make_2d_classification(n_samples=200, n_classes=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-2, 2, size=(n_samples, 2))
    angle = np.arctan2(X[:, 1], X[:, 0]) + np.pi
    y = np.floor(angle / (2 * np.pi) * n_classes).astype(int) % n_classes
    return X, np.array(["a", "b", "c", "d"])[y]


@pytest.fixture(scope="module")
def tone_data():
    return load_tone(return_X_y=True)


@pytest.fixture(scope="module")
def tone_regressor(tone_data):
    X, y = tone_data
    return MixtureOfExpertsRegressor(n_experts=2, gate="gmm", random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def regressor_2d():
    X, y = _make_2d_regression()
    moe = MixtureOfExpertsRegressor(n_experts=3, gate="gmm", random_state=0)
    return moe.fit(X, y), X, y


@pytest.fixture(scope="module")
def classifier_2d():
    X, y = _make_2d_classification(n_classes=3)
    moe = MixtureOfExpertsClassifier(n_experts=2, gate="gmm", random_state=0)
    return moe.fit(X, y), X, y


@pytest.fixture(scope="module")
def classifier_1d():
    rng = np.random.RandomState(0)
    X = rng.uniform(-3, 3, size=(150, 1))
    y = np.where(np.abs(X[:, 0]) < 1, "inner", "outer")
    moe = MixtureOfExpertsClassifier(n_experts=3, gate="gmm", random_state=0)
    return moe.fit(X, y), X, y


# GateRegionDisplay


def test_gate_region_display_draws_regions(pyplot, regressor_2d):
    moe, X, y = regressor_2d

    disp = GateRegionDisplay.from_estimator(moe, X, grid_resolution=30)

    assert isinstance(disp.figure_, pyplot.Figure)
    assert disp.ax_.figure is disp.figure_
    assert disp.surface_.get_array().shape == (30, 30, 4)
    assert disp.ax_.get_xlabel() == "feature 0"
    assert disp.ax_.get_ylabel() == "feature 1"
    assert len(disp.boundaries_) >= 2
    assert len(disp.scatter_) == 1
    assert len(disp.legend_.get_texts()) == moe.n_experts_
    assert disp.colorbar_ is None


def test_gate_region_display_colours_heaviest_expert(pyplot, regressor_2d):
    moe, X, _ = regressor_2d

    disp = GateRegionDisplay.from_estimator(moe, X, grid_resolution=20, eps=0.5)

    grid = np.column_stack([disp.xx0.ravel(), disp.xx1.ravel()])
    gate_proba = moe.gate_proba(grid)
    expected_rgb = _expert_colors(moe.n_experts_)[gate_proba.argmax(axis=1), :3]
    image = disp.surface_.get_array().reshape(-1, 4)
    assert_allclose(image[:, :3], expected_rgb)
    # More opaque where the gate is surer of its heaviest expert.
    confidence = gate_proba.max(axis=1)
    assert image[confidence.argmax(), 3] > image[confidence.argmin(), 3]
    assert disp.xx0.min() == pytest.approx(X[:, 0].min() - 0.5)
    assert disp.xx1.max() == pytest.approx(X[:, 1].max() + 0.5)


def test_gate_region_display_feature_names(pyplot, regressor_2d):
    _, X, y = regressor_2d
    X_frame = pd.DataFrame(X, columns=["speed", "load"])
    moe = MixtureOfExpertsRegressor(n_experts=2, gate="gmm", random_state=0)
    moe.fit(X_frame, y)

    disp = GateRegionDisplay.from_estimator(moe, X_frame, grid_resolution=10)

    assert disp.ax_.get_xlabel() == "speed"
    assert disp.ax_.get_ylabel() == "load"


def test_gate_region_display_uses_given_ax(pyplot, regressor_2d):
    moe, X, _ = regressor_2d
    _, ax = pyplot.subplots()

    disp = GateRegionDisplay.from_estimator(
        moe, X, grid_resolution=10, ax=ax, xlabel="first", ylabel="second"
    )

    assert disp.ax_ is ax
    assert ax.get_xlabel() == "first"
    assert ax.get_ylabel() == "second"


def test_gate_region_display_continuous_y_colorbar(pyplot, regressor_2d):
    moe, X, y = regressor_2d

    disp = GateRegionDisplay.from_estimator(
        moe, X, y=pd.Series(y, name="response"), grid_resolution=10
    )

    assert disp.colorbar_ is not None
    assert disp.colorbar_.ax.get_xlabel() == "response"
    assert_allclose(disp.scatter_[0].get_array(), y)


def test_gate_region_display_class_markers(pyplot, classifier_2d):
    moe, X, y = classifier_2d

    disp = GateRegionDisplay.from_estimator(moe, X, y=y, grid_resolution=10)

    assert len(disp.scatter_) == 3
    assert sum(len(points.get_offsets()) for points in disp.scatter_) == len(y)
    legend_texts = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert legend_texts == ["a", "b", "c"]


def test_gate_region_display_without_scatter(pyplot, regressor_2d):
    moe, X, _ = regressor_2d

    disp = GateRegionDisplay.from_estimator(moe, X, grid_resolution=10, scatter=False)

    assert disp.scatter_ == []
    assert len(disp.ax_.collections) == sum(
        len(contour.collections) if hasattr(contour, "collections") else 1
        for contour in disp.boundaries_
    )


def test_gate_region_display_one_region_has_no_boundary(pyplot):
    gate_proba = np.zeros((5, 5, 2))
    gate_proba[..., 0] = 0.9
    gate_proba[..., 1] = 0.1
    xx0, xx1 = np.meshgrid(np.arange(5.0), np.arange(5.0))
    disp = GateRegionDisplay(xx0=xx0, xx1=xx1, gate_proba=gate_proba)

    disp.plot()

    assert disp.boundaries_ == []
    assert disp.ax_.get_xlabel() == ""


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"grid_resolution": 1}, ValueError, "grid_resolution=1"),
        ({"grid_resolution": 2.5}, ValueError, "grid_resolution=2.5"),
        ({"eps": -1.0}, ValueError, "eps=-1.0"),
    ],
)
def test_gate_region_display_invalid_params(pyplot, regressor_2d, kwargs, error, match):
    moe, X, _ = regressor_2d

    with pytest.raises(error, match=match):
        GateRegionDisplay.from_estimator(moe, X, **kwargs)


def test_gate_region_display_unfitted_estimator(pyplot, regressor_2d):
    _, X, _ = regressor_2d

    with pytest.raises(NotFittedError):
        GateRegionDisplay.from_estimator(MixtureOfExpertsRegressor(), X)


def test_gate_region_display_rejects_other_estimators(pyplot, regressor_2d):
    _, X, y = regressor_2d

    with pytest.raises(TypeError, match="got LinearRegression"):
        GateRegionDisplay.from_estimator(LinearRegression().fit(X, y), X)


def test_gate_region_display_wrong_n_features_in_X(pyplot, regressor_2d):
    moe, X, _ = regressor_2d
    X_3 = np.column_stack([X, X[:, 0]])

    with pytest.raises(ValueError, match=r"got X with shape \(200, 3\)"):
        GateRegionDisplay.from_estimator(moe, X_3)


def test_gate_region_display_rejects_1d_estimator(pyplot, tone_regressor, tone_data):
    X, _ = tone_data

    with pytest.raises(ValueError, match="got an estimator with n_features_in_=1"):
        GateRegionDisplay.from_estimator(tone_regressor, X)


def test_gate_region_display_y_length_mismatch(pyplot, regressor_2d):
    moe, X, y = regressor_2d

    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GateRegionDisplay.from_estimator(moe, X, y=y[:-1])


# ExpertCurveDisplay


def test_expert_curve_display_regressor(pyplot, tone_regressor, tone_data):
    X, y = tone_data

    disp = ExpertCurveDisplay.from_estimator(tone_regressor, X, y, grid_resolution=50)

    assert disp.axes_.shape == (2,)
    assert disp.figure_ is disp.axes_[0].figure
    assert len(disp.expert_lines_) == tone_regressor.n_experts_
    assert len(disp.gate_lines_) == tone_regressor.n_experts_
    assert len(disp.axes_[0].get_lines()) == tone_regressor.n_experts_ + 1
    assert len(disp.axes_[1].get_lines()) == tone_regressor.n_experts_
    assert disp.band_ is not None
    assert disp.scatter_ is not None
    assert disp.axes_[1].get_xlabel() == "feature 0"
    assert disp.axes_[1].get_ylabel() == "gate weight"
    assert disp.axes_[0].get_ylabel() == "target"
    legend_texts = [t.get_text() for t in disp.legend_.get_texts()]
    assert "mixture mean" in legend_texts
    assert "expert 1" in legend_texts


def test_expert_curve_display_values(pyplot, tone_regressor, tone_data):
    X, y = tone_data

    disp = ExpertCurveDisplay.from_estimator(tone_regressor, X, y, grid_resolution=50)

    grid = np.linspace(X.min(), X.max(), 50).reshape(-1, 1)
    mean, std = tone_regressor.predict(grid, return_std=True)
    assert_allclose(disp.mean_line_.get_xdata(), grid[:, 0])
    assert_allclose(disp.mean_line_.get_ydata(), mean)
    assert_allclose(disp.mixture_std, std)
    experts = tone_regressor.predict_experts(grid)
    gate_proba = tone_regressor.gate_proba(grid)
    for k in range(tone_regressor.n_experts_):
        assert_allclose(disp.expert_lines_[k].get_ydata(), experts[:, k])
        assert_allclose(disp.gate_lines_[k].get_ydata(), gate_proba[:, k])


def test_expert_curve_display_pandas_names(pyplot, tone_regressor):
    bunch = load_tone(as_frame=True)
    moe = MixtureOfExpertsRegressor(n_experts=2, gate="gmm", random_state=0)
    moe.fit(bunch.data, bunch.target)

    disp = ExpertCurveDisplay.from_estimator(moe, bunch.data, bunch.target)

    assert disp.axes_[1].get_xlabel() == "stretchratio"
    assert disp.axes_[0].get_ylabel() == "tuned"


def test_expert_curve_display_uses_given_axes(pyplot, tone_regressor, tone_data):
    X, y = tone_data
    _, axes = pyplot.subplots(2, 1)

    disp = ExpertCurveDisplay.from_estimator(tone_regressor, X, y, ax=axes)

    assert disp.axes_[0] is axes[0]
    assert disp.axes_[1] is axes[1]


def test_expert_curve_display_splits_single_ax(pyplot, tone_regressor, tone_data):
    X, y = tone_data
    figure, ax = pyplot.subplots()

    disp = ExpertCurveDisplay.from_estimator(tone_regressor, X, y, ax=ax)

    assert disp.axes_[0] is ax
    assert disp.axes_[1] is not ax
    assert disp.axes_[1].figure is figure
    assert len(figure.axes) == 2


def test_expert_curve_display_invalid_ax(pyplot, tone_regressor, tone_data):
    X, y = tone_data
    _, axes = pyplot.subplots(3, 1)

    with pytest.raises(ValueError, match="sequence of two Axes"):
        ExpertCurveDisplay.from_estimator(tone_regressor, X, y, ax=axes)


def test_expert_curve_display_binary_classifier(pyplot, classifier_1d):
    moe, X, y = classifier_1d

    disp = ExpertCurveDisplay.from_estimator(moe, X, y, grid_resolution=40)

    grid = np.linspace(X.min(), X.max(), 40).reshape(-1, 1)
    assert_allclose(disp.mean_line_.get_ydata(), moe.predict_proba(grid)[:, 1])
    experts = moe.predict_experts(grid)
    for k in range(moe.n_experts_):
        assert_allclose(disp.expert_lines_[k].get_ydata(), experts[:, k, 1])
    assert disp.band_ is None
    assert disp.axes_[0].get_ylabel() == "P(y = outer)"
    assert_array_equal(np.unique(disp.y), [0.0, 1.0])


def test_expert_curve_display_class_of_interest(pyplot, classifier_1d):
    moe, X, y = classifier_1d

    disp = ExpertCurveDisplay.from_estimator(moe, X, y, class_of_interest="inner")

    assert disp.axes_[0].get_ylabel() == "P(y = inner)"
    assert disp.y.sum() == np.sum(y == "inner")


def test_expert_curve_display_unknown_class(pyplot, classifier_1d):
    moe, X, y = classifier_1d

    with pytest.raises(ValueError, match="class_of_interest='middle' is not one"):
        ExpertCurveDisplay.from_estimator(moe, X, y, class_of_interest="middle")


def test_expert_curve_display_multiclass_needs_class(pyplot):
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 3, size=(120, 1))
    y = np.floor(X[:, 0]).astype(int)
    moe = MixtureOfExpertsClassifier(n_experts=2, gate="gmm", random_state=0).fit(X, y)

    with pytest.raises(ValueError, match="class_of_interest is required"):
        ExpertCurveDisplay.from_estimator(moe, X, y)


def test_expert_curve_display_regressor_rejects_class(
    pyplot, tone_regressor, tone_data
):
    X, y = tone_data

    with pytest.raises(ValueError, match="class_of_interest applies to classifiers"):
        ExpertCurveDisplay.from_estimator(tone_regressor, X, y, class_of_interest=1)


def test_expert_curve_display_rejects_2d_estimator(pyplot, regressor_2d):
    moe, X, y = regressor_2d

    with pytest.raises(ValueError, match="got an estimator with n_features_in_=2"):
        ExpertCurveDisplay.from_estimator(moe, X, y)


def test_expert_curve_display_rejects_2d_X(pyplot, tone_regressor, tone_data):
    X, y = tone_data

    with pytest.raises(ValueError, match=r"got X with shape \(150, 2\)"):
        ExpertCurveDisplay.from_estimator(tone_regressor, np.hstack([X, X]), y)


def test_expert_curve_display_unfitted_estimator(pyplot, tone_data):
    X, y = tone_data

    with pytest.raises(NotFittedError):
        ExpertCurveDisplay.from_estimator(MixtureOfExpertsRegressor(), X, y)


# ConvergenceDisplay


def test_convergence_display_plots_history(pyplot, tone_regressor):
    disp = ConvergenceDisplay.from_estimator(tone_regressor)

    history = tone_regressor.log_likelihood_history_
    assert_allclose(disp.line_.get_ydata(), history)
    assert_array_equal(disp.line_.get_xdata(), np.arange(1, len(history) + 1))
    assert disp.ax_.get_xlabel() == "EM iteration"
    assert disp.ax_.get_ylabel() == "EM objective per sample"
    assert disp.ax_.get_title() == "MixtureOfExpertsRegressor"
    assert disp.figure_ is disp.ax_.figure


def test_convergence_display_marks_convergence(pyplot, tone_regressor):
    assert tone_regressor.converged_

    disp = ConvergenceDisplay.from_estimator(tone_regressor)

    assert disp.converged_marker_ is not None
    assert disp.converged_marker_.get_xdata()[0] == tone_regressor.n_iter_


def test_convergence_display_not_converged(pyplot):
    disp = ConvergenceDisplay(
        log_likelihood_history=[-3.0, -2.5, -2.4], converged=False
    )

    disp.plot(name="two experts")

    assert disp.converged_marker_ is None
    assert disp.ax_.get_title() == "two experts"
    assert "not converged" in disp.line_.get_label()


def test_convergence_display_uses_given_ax(pyplot, tone_regressor):
    _, ax = pyplot.subplots()

    disp = ConvergenceDisplay.from_estimator(tone_regressor, ax=ax, color="red")

    assert disp.ax_ is ax
    assert disp.line_.get_color() == "red"


def test_convergence_display_unfitted_estimator(pyplot):
    with pytest.raises(NotFittedError):
        ConvergenceDisplay.from_estimator(MixtureOfExpertsClassifier())


# summarize


def test_summarize_regressor_values(tone_regressor, tone_data):
    X, y = tone_data

    summary = summarize(tone_regressor, X, y)

    assert summary.index.name == "expert"
    assert list(summary.index) == [0, 1]
    assert list(summary.columns) == [
        "gate_share",
        "n_routed",
        "noise_std",
        "residual_std",
        "expert_score",
    ]
    assert summary["n_routed"].sum() == len(y)
    assert summary["gate_share"].sum() == pytest.approx(1.0)
    routed_to = tone_regressor.apply(X)
    experts = tone_regressor.predict_experts(X)
    assert_allclose(summary["gate_share"], tone_regressor.gate_proba(X).mean(axis=0))
    assert_allclose(summary["noise_std"], np.sqrt(tone_regressor.noise_variance_))
    for k in range(2):
        rows = routed_to == k
        residual = y[rows] - experts[rows, k]
        assert summary.loc[k, "n_routed"] == rows.sum()
        assert summary.loc[k, "residual_std"] == pytest.approx(
            np.sqrt(np.mean(residual**2))
        )
        assert summary.loc[k, "expert_score"] == pytest.approx(
            r2_score(y[rows], experts[rows, k])
        )


def test_summarize_without_y(tone_regressor, tone_data):
    X, _ = tone_data

    summary = summarize(tone_regressor, X)

    assert list(summary.columns) == ["gate_share", "n_routed", "noise_std"]


def test_summarize_expert_without_rows(tone_regressor, tone_data):
    X, y = tone_data
    rows = tone_regressor.apply(X) == 0

    summary = summarize(tone_regressor, X[rows], y[rows])

    assert summary.loc[1, "n_routed"] == 0
    assert np.isnan(summary.loc[1, "residual_std"])
    assert np.isnan(summary.loc[1, "expert_score"])
    assert np.isfinite(summary.loc[0, "expert_score"])


def test_summarize_classifier_values(classifier_2d):
    moe, X, y = classifier_2d

    summary = summarize(moe, X, y)

    assert list(summary.columns) == [
        "gate_share",
        "n_routed",
        "accuracy",
        "expert_score",
    ]
    assert summary["n_routed"].sum() == len(y)
    assert summary["gate_share"].sum() == pytest.approx(1.0)
    routed_to = moe.apply(X)
    experts = moe.predict_experts(X)
    for k in range(moe.n_experts_):
        rows = routed_to == k
        labels = moe.classes_[experts[rows, k].argmax(axis=1)]
        expected = np.mean(labels == y[rows])
        assert summary.loc[k, "accuracy"] == pytest.approx(expected)
        # The expert's own score is its accuracy on the same rows.
        assert summary.loc[k, "expert_score"] == pytest.approx(expected)


def test_summarize_unknown_class(classifier_2d):
    moe, X, y = classifier_2d
    y_new = y.copy()
    y_new[0] = "z"

    with pytest.raises(ValueError, match=r"not fitted on: \['z'\]"):
        summarize(moe, X, y_new)


def test_summarize_unfitted_estimator(tone_data):
    X, y = tone_data

    with pytest.raises(NotFittedError):
        summarize(MixtureOfExpertsRegressor(), X, y)


# Optional matplotlib


def test_inspection_imports_without_matplotlib():
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "import skmoe.inspection\n"
        "try:\n"
        "    skmoe.inspection.ConvergenceDisplay("
        "log_likelihood_history=[0.0]).plot()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert "ConvergenceDisplay.plot requires matplotlib" in result.stdout
    assert 'pip install "skmoe[plot]"' in result.stdout
