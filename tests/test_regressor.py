"""MixtureOfExpertsRegressor: recovery of known models, prediction, input checks."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
from scipy.special import log_softmax, logsumexp
from scipy.stats import norm
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVR

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import load_motorcycle, load_tone

# Parameters of a 3-expert linear mixture with a softmax gate on 2 features.
_TRUE_GATE_COEF = np.array([[3.0, -3.0, 0.0], [0.0, 0.0, 3.0]])
_TRUE_GATE_INTERCEPT = np.array([0.0, 0.0, -1.0])
_TRUE_EXPERT_COEF = np.array([[2.0, 0.0], [-1.0, 1.0], [0.0, -2.0]])
_TRUE_EXPERT_INTERCEPT = np.array([1.0, -2.0, 4.0])
_TRUE_NOISE_STD = np.array([0.3, 0.5, 0.4])


def _sample_softmax_mixture(n_samples, rng):
    """Draw rows from the true mixture and return X, y and the true log p(y | x)."""
    X = rng.normal(size=(n_samples, 2))
    log_gate = log_softmax(X @ _TRUE_GATE_COEF + _TRUE_GATE_INTERCEPT, axis=1)
    cumulative = np.cumsum(np.exp(log_gate), axis=1)
    expert = (rng.uniform(size=(n_samples, 1)) > cumulative).sum(axis=1)
    means = X @ _TRUE_EXPERT_COEF.T + _TRUE_EXPERT_INTERCEPT
    y = means[np.arange(n_samples), expert] + rng.normal(size=n_samples) * (
        _TRUE_NOISE_STD[expert]
    )
    log_density = norm.logpdf(y[:, None], means, _TRUE_NOISE_STD)
    return X, y, logsumexp(log_gate + log_density, axis=1)


def _polynomial_expert(degree=2):
    return make_pipeline(
        StandardScaler(), PolynomialFeatures(degree), LinearRegression()
    )


@pytest.fixture(scope="module")
def softmax_mixture_fit():
    rng = np.random.RandomState(0)
    X_train, y_train, true_train = _sample_softmax_mixture(1000, rng)
    X_test, y_test, true_test = _sample_softmax_mixture(1000, rng)
    moe = MixtureOfExpertsRegressor(3, max_iter=50, random_state=0)
    moe.fit(X_train, y_train)
    return moe, (X_train, y_train, true_train), (X_test, y_test, true_test)


@pytest.fixture(scope="module")
def tone_fit():
    X, y = load_tone(return_X_y=True)
    return MixtureOfExpertsRegressor(2, max_iter=100, random_state=0).fit(X, y), X, y


### Recovery of known structure


def test_regressor_tone_recovers_two_lines(tone_fit):
    # Measured with random_state=0: flat line 0.044 * x + 1.913, diagonal line
    # 0.996 * x - 0.030, noise std 0.047 and 0.137. Each tolerance is about
    # twice the measured distance to the textbook lines y = 2 and y = x, or
    # 0.05 where that distance is below 0.01.
    moe, _, _ = tone_fit
    lines = sorted(
        (float(expert.coef_[0]), float(expert.intercept_)) for expert in moe.experts_
    )
    (flat_slope, flat_intercept), (diagonal_slope, diagonal_intercept) = lines

    assert moe.converged_
    assert abs(flat_slope) < 0.1
    assert abs(flat_intercept - 2.0) < 0.15
    assert abs(diagonal_slope - 1.0) < 0.05
    assert abs(diagonal_intercept) < 0.1


def test_regressor_tone_flat_line_has_smaller_noise(tone_fit):
    moe, _, _ = tone_fit
    flat = int(np.argmin([abs(expert.coef_[0]) for expert in moe.experts_]))
    noise_std = np.sqrt(moe.noise_variance_)

    assert noise_std[flat] < 0.1
    assert noise_std[1 - flat] < 0.2
    assert noise_std[flat] < noise_std[1 - flat]


def test_regressor_tone_same_lines_from_random_init(tone_fit):
    moe, X, y = tone_fit
    for seed in (1, 2):
        other = MixtureOfExpertsRegressor(
            2, init="random", max_iter=100, random_state=seed
        ).fit(X, y)
        for fitted, reference in zip(other.experts_, moe.experts_):
            np.testing.assert_allclose(fitted.coef_, reference.coef_, atol=1e-2)
            np.testing.assert_allclose(
                fitted.intercept_, reference.intercept_, atol=1e-2
            )


def test_regressor_synthetic_train_likelihood(softmax_mixture_fit):
    # The true parameters are one point of the model, so the penalised
    # maximum scores at least as high on its training rows, less the true
    # gate's penalty |W|^2 / (2C) per row (0.0135 here). Measured: +0.0071.
    moe, (X, y, true_log_likelihood), _ = softmax_mixture_fit
    fitted = moe.log_likelihood(X, y).mean()
    true_penalty = np.sum(_TRUE_GATE_COEF**2) / (2 * moe.gate_.C) / X.shape[0]

    assert true_log_likelihood.mean() == pytest.approx(-0.8175, abs=1e-4)
    assert fitted >= true_log_likelihood.mean() - true_penalty


def test_regressor_synthetic_held_out_likelihood(softmax_mixture_fit):
    # With p = 18 free parameters and n = 1000 rows, the expected held-out
    # shortfall is about p / (2n) = 0.009 nats per row. Measured: 0.0115.
    moe, _, (X, y, true_log_likelihood) = softmax_mixture_fit
    fitted = moe.log_likelihood(X, y).mean()

    assert fitted >= true_log_likelihood.mean() - 0.03


def test_regressor_synthetic_recovers_experts(softmax_mixture_fit):
    moe, _, _ = softmax_mixture_fit
    fitted = np.array(
        [np.r_[expert.coef_, expert.intercept_] for expert in moe.experts_]
    )
    true = np.c_[_TRUE_EXPERT_COEF, _TRUE_EXPERT_INTERCEPT]
    # Match fitted and true experts by their intercepts, which are far apart.
    order = np.argsort(fitted[:, -1])
    true_order = np.argsort(true[:, -1])

    np.testing.assert_allclose(fitted[order], true[true_order], atol=0.2)
    np.testing.assert_allclose(
        np.sqrt(moe.noise_variance_[order]), _TRUE_NOISE_STD[true_order], atol=0.05
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_motorcycle_cv_beats_one_expert():
    X, y = load_motorcycle(return_X_y=True)
    one_expert, three_experts = [], []
    for train, test in KFold(5, shuffle=True, random_state=0).split(X):
        scaler = StandardScaler().fit(X[train])
        X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])

        single = _polynomial_expert().fit(X_train, y[train])
        residual_std = np.std(y[train] - single.predict(X_train))
        one_expert.append(
            norm.logpdf(y[test], single.predict(X_test), residual_std).mean()
        )

        moe = MixtureOfExpertsRegressor(
            3, expert=_polynomial_expert(), gate="gmm", max_iter=30, random_state=0
        )
        moe.fit(X_train, y[train])
        three_experts.append(moe.log_likelihood(X_test, y[test]).mean())

    # Measured: one expert -5.237, three experts -4.564 nats per row, and the
    # three experts win in every fold. Other seeds, inits and the softmax gate
    # gave -4.44 to -4.94 for three experts.
    assert np.mean(one_expert) == pytest.approx(-5.237, abs=1e-3)
    assert np.mean(three_experts) > np.mean(one_expert) + 0.3
    assert np.all(np.array(three_experts) > np.array(one_expert))


### Prediction


def test_regressor_predict_std_mixture_formula(tone_fit):
    moe, X, _ = tone_fit
    gate_proba = moe.gate_proba(X)
    predictions = moe.predict_experts(X)
    expected_mean = np.sum(gate_proba * predictions, axis=1)
    # Law of total variance: within-expert noise plus spread of the means.
    spread = (predictions - expected_mean[:, None]) ** 2
    expected_variance = np.sum(gate_proba * (moe.noise_variance_ + spread), axis=1)

    mean, std = moe.predict(X, return_std=True)

    np.testing.assert_allclose(mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(std, np.sqrt(expected_variance), rtol=1e-9)
    np.testing.assert_array_equal(moe.predict(X), mean)


def test_regressor_log_likelihood_by_hand(tone_fit):
    moe, X, y = tone_fit
    log_density = norm.logpdf(
        y[:, None], moe.predict_experts(X), np.sqrt(moe.noise_variance_)
    )
    expected = logsumexp(np.log(moe.gate_proba(X)) + log_density, axis=1)

    log_likelihood = moe.log_likelihood(X, y)

    assert log_likelihood.shape == (X.shape[0],)
    np.testing.assert_allclose(log_likelihood, expected, rtol=1e-10)


def test_regressor_final_objective_is_log_likelihood(tone_fit):
    # The objective also subtracts the softmax gate's penalty per row.
    moe, X, y = tone_fit
    penalty = np.sum(moe.gate_.coef_**2) / (2 * moe.gate_.C) / X.shape[0]

    assert moe.log_likelihood_history_[-1] == pytest.approx(
        moe.log_likelihood(X, y).mean() - penalty, rel=1e-10
    )


### Model selection


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_grid_search_sets_best_params():
    rng = np.random.RandomState(0)
    X = rng.uniform(-3, 3, size=(150, 1))
    y = np.where(X[:, 0] < 0, -10 * X[:, 0], 10 * np.sin(2 * X[:, 0]))
    y += rng.normal(0, 0.5, size=150)
    pipeline = make_pipeline(
        StandardScaler(),
        MixtureOfExpertsRegressor(expert=SVR(), max_iter=5, random_state=0),
    )
    grid = {
        "mixtureofexpertsregressor__n_experts": [1, 2],
        "mixtureofexpertsregressor__expert__C": [0.1, 100.0],
    }

    search = GridSearchCV(pipeline, grid, cv=3).fit(X, y)
    best = search.best_estimator_[-1]

    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["mixtureofexpertsregressor__expert__C"] == 100.0
    assert best.n_experts == search.best_params_["mixtureofexpertsregressor__n_experts"]
    assert best.expert.C == search.best_params_["mixtureofexpertsregressor__expert__C"]
    assert best.n_experts_ == best.n_experts
    assert all(expert.C == best.expert.C for expert in best.experts_)
    assert search.best_score_ == np.max(search.cv_results_["mean_test_score"])


### Invalid input


def _small_regression_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 2))
    return X, X[:, 0] + rng.normal(0, 0.1, size=20)


def _with_value(X, row, column, value):
    X = X.copy()
    X[row, column] = value
    return X


@pytest.mark.parametrize(
    "params, make_input, error, match",
    [
        ({}, lambda X, y: (_with_value(X, 3, 1, np.nan), y), ValueError, "NaN"),
        ({}, lambda X, y: (_with_value(X, 3, 1, np.inf), y), ValueError, "infinity"),
        ({}, lambda X, y: (X, np.r_[y[:-1], np.nan]), ValueError, "NaN"),
        ({}, lambda X, y: (X[:, 0], y), ValueError, "Expected 2D array, got 1D"),
        ({}, lambda X, y: (X[:, :, None], y), ValueError, "dim 3"),
        ({}, lambda X, y: (X, y[:-1]), ValueError, "19"),
        ({}, lambda X, y: (X, np.c_[y, y]), ValueError, r"\(20, 2\)"),
        ({"n_experts": 0}, lambda X, y: (X, y), ValueError, "n_experts.*Got 0"),
        ({"n_experts": -1}, lambda X, y: (X, y), ValueError, "n_experts.*Got -1"),
        ({"n_experts": 21}, lambda X, y: (X, y), ValueError, "n_experts=21"),
        ({"gate": "tree"}, lambda X, y: (X, y), ValueError, "gate.*Got 'tree'"),
        ({"gate": 3}, lambda X, y: (X, y), TypeError, "gate.*Got 3"),
        ({"top_k": 3}, lambda X, y: (X, y), ValueError, "top_k=3"),
    ],
)
def test_regressor_fit_invalid_input_raises(params, make_input, error, match):
    X, y = make_input(*_small_regression_data())
    moe = MixtureOfExpertsRegressor(n_experts=2, max_iter=5, random_state=0)
    moe.set_params(**params)

    with pytest.raises(error, match=match):
        moe.fit(X, y)


@pytest.fixture(scope="module")
def small_fit():
    X, y = _small_regression_data()
    moe = MixtureOfExpertsRegressor(2, gate="kmeans", max_iter=50, random_state=0)
    return moe.fit(X, y), X, y


def test_regressor_predict_wrong_feature_count_raises(small_fit):
    moe, X, y = small_fit

    with pytest.raises(ValueError, match="X has 3 features.*expecting 2 features"):
        moe.predict(np.c_[X, X[:, :1]])
    with pytest.raises(ValueError, match="X has 1 features.*expecting 2 features"):
        moe.log_likelihood(X[:, :1], y)


def test_regressor_predict_nan_raises(small_fit):
    moe, X, y = small_fit

    with pytest.raises(ValueError, match="NaN"):
        moe.predict(_with_value(X, 0, 0, np.nan))


def test_regressor_log_likelihood_short_y_raises(small_fit):
    moe, X, y = small_fit

    with pytest.raises(ValueError, match="y has 19 rows but X has 20"):
        moe.log_likelihood(X, y[:-1])
