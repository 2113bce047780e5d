"""Bad input and degenerate data for both mixture-of-experts estimators."""

# SPDX-License-Identifier: BSD-3-Clause

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

from conftest import data_path
from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor

GATES = ["softmax", "kmeans", "gmm"]
N_SAMPLES = 30

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _regression_data(n_samples=N_SAMPLES, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 2))
    y = np.where(X[:, 0] < 0, -2.0 * X[:, 0], 3.0 * X[:, 0])
    y += rng.normal(0, 0.1, n_samples)
    return X, y


def _classification_data(n_samples=N_SAMPLES, seed=0):
    X, y = _regression_data(n_samples, seed)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _data_for(estimator_class, n_samples=N_SAMPLES):
    if estimator_class is MixtureOfExpertsClassifier:
        return _classification_data(n_samples)
    return _regression_data(n_samples)


def _assert_finite_predictions(estimator, X):
    """Assert that every prediction method returns finite, normalised values."""
    prediction = estimator.predict(X)
    assert prediction.shape == (X.shape[0],)
    gate_proba = estimator.gate_proba(X)
    assert np.all(np.isfinite(gate_proba))
    assert_allclose(gate_proba.sum(axis=1), 1.0)
    assert np.all(np.isfinite(estimator.log_likelihood_history_))
    if isinstance(estimator, MixtureOfExpertsClassifier):
        proba = estimator.predict_proba(X)
        assert np.all(np.isfinite(proba))
        assert_allclose(proba.sum(axis=1), 1.0)
    else:
        assert np.all(np.isfinite(prediction))
        _, std = estimator.predict(X, return_std=True)
        assert np.all(np.isfinite(std))


### Bad input to fit


def _pattern(match, estimator_class):
    """Compile a FIT_CASES pattern for one estimator, with "." matching newlines."""
    return re.compile(match.replace("{name}", estimator_class.__name__), re.DOTALL)


def _with_value(X, y, row, column, value):
    X = X.copy()
    X[row, column] = value
    return X


def _y_with_value(y, row, value):
    y = y.astype(np.float64)
    y[row] = value
    return y


# Each case: (name, params, function (X, y) -> (X, y, fit kwargs), error, match).
# Both estimators run every case; "{name}" in a pattern is the estimator's name.
FIT_CASES = [
    ("nan_in_X", {}, lambda X, y: (_with_value(X, y, 3, 1, np.nan), y, {}),
     ValueError, r"X contains NaN in 1 row\(s\), the first at row 3\. .*impute"),
    ("inf_in_X", {}, lambda X, y: (_with_value(X, y, 5, 0, np.inf), y, {}),
     ValueError, r"X contains infinity in 1 row\(s\), the first at row 5\. "
                 r".*Drop those rows"),
    ("minus_inf_in_X", {}, lambda X, y: (_with_value(X, y, 7, 0, -np.inf), y, {}),
     ValueError, r"X contains infinity in 1 row\(s\), the first at row 7"),
    ("nan_and_inf_in_X", {},
     lambda X, y: (_with_value(_with_value(X, y, 2, 0, np.nan), y, 9, 1, np.inf), y,
                   {}),
     ValueError, r"X contains NaN and infinity in 2 row\(s\), the first at row 2"),
    ("nan_in_y", {}, lambda X, y: (X, _y_with_value(y, 2, np.nan), {}),
     ValueError, r"y contains NaN in 1 row\(s\), the first at row 2\. Drop"),
    ("inf_in_y", {}, lambda X, y: (X, _y_with_value(y, 4, np.inf), {}),
     ValueError, r"y contains infinity in 1 row\(s\), the first at row 4\. Drop"),
    ("y_too_short", {}, lambda X, y: (X, y[:-1], {}),
     ValueError, r"X has 30 rows but y has 29 values\. Pass one target value per row"),
    ("y_too_long", {}, lambda X, y: (X, np.r_[y, y[:3]], {}),
     ValueError, r"X has 30 rows but y has 33 values"),
    ("y_two_columns", {}, lambda X, y: (X, np.c_[y, y], {}),
     ValueError, r"got shape \(30, 2\)\. .*sklearn\.multioutput\.MultiOutput"),
    ("X_one_dimensional", {}, lambda X, y: (X[:, 0], y, {}),
     ValueError, r"Expected 2D array, got 1D array instead.*reshape\(-1, 1\)"),
    ("X_no_rows", {}, lambda X, y: (X[:0], y[:0], {}),
     ValueError, r"Found array with 0 sample\(s\) \(shape=\(0, 2\)\)"),
    ("X_no_columns", {}, lambda X, y: (X[:, :0], y, {}),
     ValueError, r"Found array with 0 feature\(s\) \(shape=\(30, 0\)\)"),
    ("X_sparse", {}, lambda X, y: (sp.csr_matrix(X), y, {}),
     TypeError, r"Sparse data was passed for X, but dense data is required.*toarray"),
    ("n_experts_zero", {"n_experts": 0}, lambda X, y: (X, y, {}),
     ValueError, r"'n_experts' parameter of {name} must be an int in the range "
                 r"\[1, inf\)\. Got 0 instead"),
    ("n_experts_negative", {"n_experts": -2}, lambda X, y: (X, y, {}),
     ValueError, r"'n_experts' parameter .* Got -2 instead"),
    ("n_experts_float", {"n_experts": 2.5}, lambda X, y: (X, y, {}),
     ValueError, r"'n_experts' parameter .* Got 2\.5 instead"),
    ("n_experts_above_n_samples", {"n_experts": 31}, lambda X, y: (X, y, {}),
     ValueError, r"n_samples=30, n_experts=31\. Use fewer experts or more rows"),
    ("expert_list_above_n_samples", {"expert": "31 defaults"},
     lambda X, y: (X, y, {}),
     ValueError, r"n_samples=30, n_experts=31"),
    ("top_k_zero", {"top_k": 0}, lambda X, y: (X, y, {}),
     ValueError, r"'top_k' parameter of {name} must be None or an int in the range "
                 r"\[1, inf\)\. Got 0 instead"),
    ("top_k_above_n_experts", {"n_experts": 2, "top_k": 3}, lambda X, y: (X, y, {}),
     ValueError, r"top_k=3 and n_experts=2\. Use top_k <= n_experts, or None"),
    ("gate_unknown", {"gate": "softmx"}, lambda X, y: (X, y, {}),
     ValueError, r"'gate' parameter of {name} must be a str among .*'softmax'.* "
                 r"Got 'softmx' instead"),
    ("gate_wrong_type", {"gate": KMeans(n_clusters=2)}, lambda X, y: (X, y, {}),
     ValueError, r"'gate' parameter of {name} must be .*BaseGate'\. "
                 r"Got KMeans\(n_clusters=2\) instead"),
    ("init_unknown", {"init": "k-means++"}, lambda X, y: (X, y, {}),
     ValueError, r"'init' parameter of {name} must be a str among .*'random'.*\. "
                 r"Got 'k-means\+\+' instead"),
    ("routing_unknown", {"routing": "expert"}, lambda X, y: (X, y, {}),
     ValueError, r"'routing' parameter of {name} .* Got 'expert' instead"),
    ("max_iter_zero", {"max_iter": 0}, lambda X, y: (X, y, {}),
     ValueError, r"'max_iter' parameter .* Got 0 instead"),
    ("tol_negative", {"tol": -1.0}, lambda X, y: (X, y, {}),
     ValueError, r"'tol' parameter .* Got -1\.0 instead"),
    ("n_init_zero", {"n_init": 0}, lambda X, y: (X, y, {}),
     ValueError, r"'n_init' parameter .* Got 0 instead"),
    ("expert_empty_list", {"expert": []}, lambda X, y: (X, y, {}),
     ValueError, r"'expert' parameter of {name} is an empty list\. Pass one estimator"),
    ("expert_list_with_string", {"expert": "list with a string"},
     lambda X, y: (X, y, {}),
     TypeError, r"expert\[1\] of {name} must be an estimator with fit and predict "
                r"methods, got 'ridge' of type str"),
    ("sample_weight_negative", {},
     lambda X, y: (X, y, {"sample_weight": np.r_[np.ones(4), -2.0, np.ones(25)]}),
     ValueError, r"sample_weight contains 1 negative value\(s\), the first -2 at "
                 r"row 4\. "
                 r"Pass non-negative weights"),
    ("sample_weight_all_zero", {}, lambda X, y: (X, y, {"sample_weight": np.zeros(30)}),
     ValueError, r"sample_weight sums to zero \(all 30 weights are zero\)\. Give at "
                 r"least one row a positive weight"),
    ("sample_weight_too_short", {},
     lambda X, y: (X, y, {"sample_weight": np.ones(29)}),
     ValueError, r"sample_weight has shape \(29,\), but X has 30 rows\. Pass one "
                 r"non-negative weight per row"),
    ("sample_weight_two_dimensional", {},
     lambda X, y: (X, y, {"sample_weight": np.ones((30, 2))}),
     ValueError, r"sample_weight has shape \(30, 2\), but X has 30 rows"),
]


def _resolve_params(estimator_class, params):
    """Replace the placeholders of FIT_CASES by estimators of the right kind."""
    default = (LogisticRegression() if estimator_class is MixtureOfExpertsClassifier
               else LinearRegression())
    if params.get("expert") == "31 defaults":
        return {**params, "expert": [default] * 31}
    if params.get("expert") == "list with a string":
        return {**params, "expert": [default, "ridge"]}
    return params


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
@pytest.mark.parametrize(
    "params, make_input, error, match",
    [pytest.param(*case[1:], id=case[0]) for case in FIT_CASES],
)
def test_mixture_fit_rejects_bad_input(estimator_class, params, make_input, error,
                                       match):
    X, y = _data_for(estimator_class)
    X, y, fit_kwargs = make_input(X, y)
    params = {"max_iter": 3, "random_state": 0, **params}
    estimator = estimator_class(**_resolve_params(estimator_class, params))

    with pytest.raises(error, match=_pattern(match, estimator_class)):
        estimator.fit(X, y, **fit_kwargs)


# Cases that hold for one estimator only: (estimator class, params, y maker, error,
# match).
ESTIMATOR_CASES = [
    pytest.param(MixtureOfExpertsRegressor, {"expert": LogisticRegression()}, None,
                 TypeError, r"Expert 0 of MixtureOfExpertsRegressor is a classifier "
                            r"\(LogisticRegression\(\)\)\. Pass regressors, or use "
                            r"MixtureOfExpertsClassifier",
                 id="regressor_with_classifier_expert"),
    pytest.param(MixtureOfExpertsRegressor,
                 {"expert": [LinearRegression(), SVC()]}, None,
                 TypeError, r"Expert 1 of MixtureOfExpertsRegressor is a classifier "
                            r"\(SVC\(\)\)",
                 id="regressor_with_classifier_in_list"),
    pytest.param(MixtureOfExpertsClassifier, {"expert": SVC()}, None,
                 TypeError, r"Expert 0 of MixtureOfExpertsClassifier \(SVC\(\)\) has "
                            r"no predict_proba.*CalibratedClassifierCV\(SVC\(\)\)",
                 id="classifier_expert_without_predict_proba"),
    pytest.param(MixtureOfExpertsClassifier, {"expert": LinearRegression()}, None,
                 TypeError, r"Expert 0 of MixtureOfExpertsClassifier is not a "
                            r"classifier \(LinearRegression\(\)\)\. Pass classifiers, "
                            r"or use MixtureOfExpertsRegressor",
                 id="classifier_with_regressor_expert"),
    pytest.param(MixtureOfExpertsClassifier, {"expert": SVR()}, None,
                 TypeError, r"is not a classifier \(SVR\(\)\)",
                 id="classifier_with_svr_expert"),
    pytest.param(MixtureOfExpertsClassifier, {},
                 lambda X, y: np.zeros_like(y),
                 ValueError, r"at least 2 classes, but the data contains only one "
                             r"class: 0\.",
                 id="classifier_single_class"),
    pytest.param(MixtureOfExpertsClassifier, {},
                 lambda X, y: X[:, 0] + 0.5,
                 ValueError, r"Unknown label type: continuous.*regression target",
                 id="classifier_continuous_target"),
    pytest.param(MixtureOfExpertsRegressor, {},
                 lambda X, y: np.array(["a"] * 30, dtype=object),
                 ValueError, r"could not convert string to float: 'a'",
                 id="regressor_string_target"),
]


@pytest.mark.parametrize("estimator_class, params, make_y, error, match",
                         ESTIMATOR_CASES)
def test_mixture_fit_rejects_wrong_estimator_kind(estimator_class, params, make_y,
                                                   error, match):
    X, y = _data_for(estimator_class)
    if make_y is not None:
        y = make_y(X, y)
    estimator = estimator_class(max_iter=3, random_state=0, **params)

    with pytest.raises(error, match=_pattern(match, estimator_class)):
        estimator.fit(X, y)


def test_classifier_fit_rejects_weight_on_one_class():
    X, y = _classification_data()
    sample_weight = (y == 1).astype(np.float64)

    with pytest.raises(ValueError, match=r"positive sample_weight on at least 2 "
                                         r"classes, but only class 1 has positive"):
        MixtureOfExpertsClassifier(max_iter=3).fit(X, y, sample_weight=sample_weight)


### Bad input after fit


def _fitted(estimator_class, X=None, y=None, **params):
    if X is None:
        X, y = _data_for(estimator_class)
    return estimator_class(n_experts=2, max_iter=5, random_state=0, **params).fit(X, y)


def _prediction_methods(estimator):
    methods = ["predict", "gate_proba", "apply", "predict_experts"]
    if isinstance(estimator, MixtureOfExpertsClassifier):
        methods += ["predict_proba", "predict_log_proba"]
    return methods


# Each case: (name, function X -> bad X, error, match).
PREDICT_CASES = [
    ("fewer_features", lambda X: X[:, :1], ValueError,
     r"X has 1 features, but {name} is expecting 2 features as input"),
    ("more_features", lambda X: np.c_[X, X[:, 0]], ValueError,
     r"X has 3 features, but {name} is expecting 2 features as input"),
    ("nan_in_X", lambda X: _with_value(X, None, 6, 0, np.nan), ValueError,
     r"X contains NaN in 1 row\(s\), the first at row 6\. {name} does not accept"),
    ("inf_in_X", lambda X: _with_value(X, None, 1, 1, -np.inf), ValueError,
     r"X contains infinity in 1 row\(s\), the first at row 1"),
    ("sparse_X", lambda X: sp.csr_matrix(X), TypeError,
     r"Sparse data was passed for X, but dense data is required"),
    ("one_dimensional_X", lambda X: X[:, 0], ValueError,
     r"Expected 2D array, got 1D array instead"),
]


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
@pytest.mark.parametrize(
    "make_X, error, match",
    [pytest.param(*case[1:], id=case[0]) for case in PREDICT_CASES],
)
def test_mixture_predict_rejects_bad_X(estimator_class, make_X, error, match):
    X, y = _data_for(estimator_class)
    estimator = _fitted(estimator_class, X, y)
    bad_X = make_X(X)

    for method in _prediction_methods(estimator):
        with pytest.raises(error, match=_pattern(match, estimator_class)):
            getattr(estimator, method)(bad_X)


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_predict_rejects_renamed_columns(estimator_class):
    X, y = _data_for(estimator_class)
    estimator = _fitted(estimator_class, pd.DataFrame(X, columns=["age", "income"]), y)
    renamed = pd.DataFrame(X, columns=["age", "salary"])

    for method in _prediction_methods(estimator):
        with pytest.raises(ValueError, match=r"Feature names unseen at fit time:\n"
                                             r"- salary\nFeature names seen at fit "
                                             r"time, yet now missing:\n- income"):
            getattr(estimator, method)(renamed)


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_predict_before_fit_raises(estimator_class):
    X, _ = _data_for(estimator_class)

    with pytest.raises(NotFittedError, match=rf"This {estimator_class.__name__} "
                                             r"instance is not fitted yet"):
        estimator_class().predict(X)


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_log_likelihood_rejects_wrong_y_length(estimator_class):
    X, y = _data_for(estimator_class)
    estimator = _fitted(estimator_class, X, y)

    with pytest.raises(ValueError, match=r"y has 29 rows but X has 30; pass one"):
        estimator.log_likelihood(X, y[:-1])


def test_regressor_log_likelihood_rejects_nan_y():
    X, y = _regression_data()
    estimator = _fitted(MixtureOfExpertsRegressor, X, y)

    with pytest.raises(ValueError, match=r"y contains NaN or infinity; remove or "
                                         r"impute those rows"):
        estimator.log_likelihood(X, _y_with_value(y, 0, np.nan))


def test_classifier_log_likelihood_rejects_unseen_label():
    X, y = _classification_data()
    estimator = _fitted(MixtureOfExpertsClassifier, X, y)

    with pytest.raises(ValueError, match=r"y contains labels not seen in fit: "
                                         r"array\(\[7\]\)"):
        estimator.log_likelihood(X, np.where(np.arange(30) == 3, 7, y))


def test_regressor_bic_rejects_expert_without_parameters():
    X, y = _regression_data()
    estimator = _fitted(MixtureOfExpertsRegressor, X, y, expert=SVR())

    with pytest.raises(TypeError, match=r"expert 0 \(SVR\(\)\) has none that skmoe "
                                        r"can count.*cross_val_score"):
        estimator.bic(X, y)


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_column_vector_y_warns_and_flattens(estimator_class):
    X, y = _data_for(estimator_class)
    flat = _fitted(estimator_class, X, y)

    with pytest.warns(DataConversionWarning, match=r"A column-vector y was passed "
                                                   r"when a 1d array was expected"):
        column = _fitted(estimator_class, X, y[:, None])

    assert_array_equal(column.predict(X), flat.predict(X))


### Degenerate data that must fit and predict finite values


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_gmm_gate_identical_rows_block(estimator_class):
    rng = np.random.RandomState(0)
    X = np.vstack([np.ones((20, 2)), rng.normal(size=(50, 2))])
    y = np.r_[np.full(20, 2.0), 3.0 * X[20:, 0] + rng.normal(0, 0.1, 50)]
    if estimator_class is MixtureOfExpertsClassifier:
        y = (y > 1.0).astype(np.int64)

    estimator = estimator_class(n_experts=3, gate="gmm", max_iter=20, random_state=0)
    estimator.fit(X, y)

    _assert_finite_predictions(estimator, X)
    assert estimator.n_experts_ == 3


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_fits_more_experts_than_distinct_rows(estimator_class, gate):
    X = np.repeat(np.arange(9.0), 2)[:17, None]
    y = np.sin(X[:, 0])
    if estimator_class is MixtureOfExpertsClassifier:
        y = (y > 0).astype(np.int64)

    estimator = estimator_class(n_experts=10, gate=gate, max_iter=10, random_state=0)
    with warnings.catch_warnings():
        # Empty or single-row regions are re-seeded or made constant, with warnings.
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(X, y)

    _assert_finite_predictions(estimator, X)
    assert estimator.n_experts_ == 10
    assert_allclose(estimator.expert_weights_.sum(), 1.0)


@pytest.mark.parametrize("gate", GATES)
def test_regressor_fits_small_far_cluster_over_seeds(gate):
    for seed in range(10):
        rng = np.random.RandomState(seed)
        X = np.vstack([0.1 * rng.normal(size=(18, 2)),
                       3.0 + 0.1 * rng.normal(size=(2, 2))])
        y = X.sum(axis=1) + rng.normal(0, 0.01, 20)
        estimator = MixtureOfExpertsRegressor(
            n_experts=2, gate=gate, max_iter=20, random_state=seed
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            estimator.fit(X, y)

        _assert_finite_predictions(estimator, X)
        assert np.all(estimator.noise_variance_ > 0), f"seed {seed}"


@pytest.mark.parametrize("constant", [0.0, 5.0, -1e6])
@pytest.mark.parametrize("gate", GATES)
def test_regressor_fits_constant_target(gate, constant):
    X, _ = _regression_data(50)
    y = np.full(50, constant)

    estimator = MixtureOfExpertsRegressor(n_experts=3, gate=gate, max_iter=10,
                                          random_state=0).fit(X, y)

    _assert_finite_predictions(estimator, X)
    assert_allclose(estimator.predict(X), constant, atol=1e-6 * max(abs(constant), 1.0))
    assert np.all(estimator.noise_variance_ > 0)


@pytest.mark.parametrize("gate", GATES)
def test_regressor_fits_all_rows_identical(gate):
    X = np.ones((25, 2))
    y = np.random.RandomState(0).normal(size=25)

    # A tight tol makes the softmax gate solve each M-step fully, so that its
    # weights equal the experts' shares of the rows and the mixture mean is
    # the sample mean to 1e-6.
    estimator = MixtureOfExpertsRegressor(n_experts=2, gate=gate, max_iter=10,
                                          tol=1e-10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(X, y)

    _assert_finite_predictions(estimator, X)
    assert_allclose(estimator.predict(X), y.mean(), rtol=1e-6)


def test_regressor_one_expert_scale_1e7():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    X[:, 1] *= 1e7
    y = X @ np.array([1.0, 2e-7, 3.0]) + rng.normal(0, 0.1, 100)

    estimator = MixtureOfExpertsRegressor(n_experts=1, random_state=0).fit(X, y)
    reference = LinearRegression().fit(X, y)

    assert_allclose(estimator.experts_[0].coef_, reference.coef_, rtol=1e-6, atol=0)
    assert_allclose(estimator.experts_[0].intercept_, reference.intercept_, rtol=1e-6)
    assert_allclose(estimator.predict(X), reference.predict(X), rtol=1e-6)


@pytest.mark.parametrize("gate", GATES)
def test_regressor_fits_feature_at_scale_1e7(gate):
    X, y = _regression_data(60)
    X = np.c_[X, 1e7 * np.random.RandomState(1).normal(size=60)]

    estimator = MixtureOfExpertsRegressor(n_experts=3, gate=gate, max_iter=10,
                                          random_state=0).fit(X, y)

    _assert_finite_predictions(estimator, X)


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_float32_input_equals_float64(estimator_class, gate):
    X, y = _data_for(estimator_class, 60)
    X32 = X.astype(np.float32)
    X64 = X32.astype(np.float64)

    single = estimator_class(n_experts=2, gate=gate, max_iter=5, random_state=0)
    double = estimator_class(n_experts=2, gate=gate, max_iter=5, random_state=0)
    single.fit(X32, y)
    double.fit(X64, y)

    assert single.predict(X32).dtype == double.predict(X64).dtype
    assert_array_equal(single.gate_proba(X32), double.gate_proba(X64))
    assert_array_equal(single.log_likelihood_history_, double.log_likelihood_history_)
    _assert_finite_predictions(single, X32)


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_fits_duplicated_and_constant_columns(estimator_class, gate):
    X, y = _data_for(estimator_class, 50)
    X = np.c_[X, X[:, 0], X[:, 0], np.full(50, 4.0)]

    estimator = estimator_class(n_experts=3, gate=gate, max_iter=10, random_state=0)
    estimator.fit(X, y)

    _assert_finite_predictions(estimator, X)


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_fits_one_expert_per_row(estimator_class):
    X, y = _data_for(estimator_class, 8)
    if estimator_class is MixtureOfExpertsClassifier:
        y = np.arange(8) % 2

    estimator = estimator_class(n_experts=8, gate="kmeans", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(X, y)

    _assert_finite_predictions(estimator, X)
    assert estimator.constant_experts_.all()


def _california():
    """Return the numeric columns of California housing without NaN, log target."""
    table = pd.read_csv(data_path("california_housing.csv"))
    table = table.select_dtypes("number").dropna()
    y = np.log(table.pop("median_house_value").to_numpy())
    return table.to_numpy(), y


@pytest.mark.parametrize("standardise", [False, True], ids=["raw", "standardised"])
def test_regressor_california_housing_16_experts_stays_finite(standardise):
    X, y = _california()
    if standardise:
        X = StandardScaler().fit_transform(X)

    # NOTE: two EM iterations only, because each softmax-gate M-step on this
    # table runs up to 2000 L-BFGS-B iterations (raw columns reach 1e4).
    estimator = MixtureOfExpertsRegressor(n_experts=16, gate="softmax", max_iter=2,
                                          random_state=0).fit(X, y)

    assert estimator.log_likelihood_history_.shape == (estimator.n_iter_,)
    assert np.all(np.isfinite(estimator.log_likelihood_history_))
    prediction = estimator.predict(X)
    assert np.all(np.isfinite(prediction))
    assert estimator.score(X, y) > 0.5
