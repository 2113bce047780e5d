"""Experts as users pass them: pipelines, weights, lists, nested mixtures, BIC."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning, UnsetMetadataPassedError
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.svm import SVC, SVR, LinearSVC

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe._experts import fit_expert
from skmoe.gating import SoftmaxGate


def _regression_data(n_samples=200, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-3, 3, size=(n_samples, 2))
    y = np.where(X[:, 0] < 0, -2.0 * X[:, 0] + X[:, 1], 3.0 * X[:, 0] - X[:, 1])
    return X, y + rng.normal(0, 0.3, size=n_samples)


def _blob_classification_data(labels_per_blob, n_per_blob=60, seed=0):
    """Draw three blobs along the first feature, labelled from labels_per_blob."""
    rng = np.random.RandomState(seed)
    X, y = [], []
    for centre, labels in zip((-6.0, 0.0, 6.0), labels_per_blob):
        X.append(rng.normal([centre, 0.0], 0.7, size=(n_per_blob, 2)))
        y.append(np.asarray(labels)[np.arange(n_per_blob) % len(labels)])
    return np.vstack(X), np.concatenate(y)


def _fitted_attribute_names(estimator):
    return [
        name for name in vars(estimator)
        if name.endswith("_") and not name.startswith("_")
    ]


### Sample weights reach the experts


def test_experts_pipeline_last_step_gets_weights():
    X, y = _regression_data()
    sample_weight = np.random.RandomState(1).uniform(0.1, 3.0, size=X.shape[0])
    expert = make_pipeline(StandardScaler(), LinearRegression())
    moe = MixtureOfExpertsRegressor(2, expert=expert, gate="kmeans", random_state=0)
    moe.fit(X, y, sample_weight=sample_weight)
    # The kmeans gate's regions are hard, so expert k is fitted on exactly
    # its region with the user's weights.
    regions = moe.apply(X)

    for k, fitted in enumerate(moe.experts_):
        rows = regions == k
        by_hand = clone(expert).fit(
            X[rows], y[rows], linearregression__sample_weight=sample_weight[rows]
        )
        unweighted = clone(expert).fit(X[rows], y[rows])

        np.testing.assert_allclose(fitted[-1].coef_, by_hand[-1].coef_, rtol=1e-10)
        np.testing.assert_allclose(
            fitted[-1].intercept_, by_hand[-1].intercept_, rtol=1e-10
        )
        assert not np.allclose(fitted[-1].coef_, unweighted[-1].coef_, rtol=1e-3)


def test_experts_metadata_routing_gets_weights():
    X, y = _regression_data()
    sample_weight = np.random.RandomState(1).uniform(0.1, 3.0, size=X.shape[0])
    with config_context(enable_metadata_routing=True):
        expert = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=True),
            LinearRegression().set_fit_request(sample_weight=True),
        )
        moe = MixtureOfExpertsRegressor(2, expert=expert, gate="kmeans", random_state=0)
        moe.fit(X, y, sample_weight=sample_weight)
        regions = moe.apply(X)

        for k, fitted in enumerate(moe.experts_):
            rows = regions == k
            by_hand = clone(expert).fit(
                X[rows], y[rows], sample_weight=sample_weight[rows]
            )

            # Routing also weights the scaler, unlike last-step passing.
            np.testing.assert_allclose(
                fitted[0].mean_,
                np.average(X[rows], axis=0, weights=sample_weight[rows]),
                rtol=1e-10,
            )
            np.testing.assert_allclose(fitted[-1].coef_, by_hand[-1].coef_, rtol=1e-10)


def test_experts_routing_without_request_raises():
    X, y = _regression_data()
    with config_context(enable_metadata_routing=True):
        moe = MixtureOfExpertsRegressor(
            2, expert=make_pipeline(StandardScaler(), LinearRegression()), max_iter=3
        )
        with pytest.raises(UnsetMetadataPassedError, match="sample_weight"):
            moe.fit(X, y)


def test_experts_routing_one_unset_expert_raises():
    # One misconfigured expert in a list raises instead of becoming constant.
    X, y = _regression_data()
    with config_context(enable_metadata_routing=True):
        requested = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=True),
            LinearRegression().set_fit_request(sample_weight=True),
        )
        unset = make_pipeline(StandardScaler(), LinearRegression())
        moe = MixtureOfExpertsRegressor(expert=[requested, unset], max_iter=3)

        with pytest.raises(UnsetMetadataPassedError, match="StandardScaler"):
            moe.fit(X, y)


def test_experts_direct_sample_weight_equals_hand_fit():
    X, y = _regression_data()
    sample_weight = np.random.RandomState(1).uniform(0.1, 3.0, size=X.shape[0])
    moe = MixtureOfExpertsRegressor(
        2, expert=Ridge(alpha=1.0), gate="kmeans", random_state=0
    ).fit(X, y, sample_weight=sample_weight)
    regions = moe.apply(X)

    for k, fitted in enumerate(moe.experts_):
        rows = regions == k
        by_hand = Ridge(alpha=1.0).fit(
            X[rows], y[rows], sample_weight=sample_weight[rows]
        )
        np.testing.assert_allclose(fitted.coef_, by_hand.coef_, rtol=1e-10)


class _RowRecorder(Ridge):
    """Ridge that records the arrays its fit receives."""

    def fit(self, X, y, sample_weight=None):
        self.fit_X_ = X
        self.fit_weight_ = sample_weight
        return super().fit(X, y, sample_weight=sample_weight)


@pytest.mark.parametrize("routed", [False, True])
def test_fit_expert_rows_of_zero_weight(routed):
    X, y = _regression_data()
    weight = np.linspace(0.0, 1.0, X.shape[0])
    weight[::4] = 0.0
    positive = weight > 0

    fitted, reason, _ = fit_expert(_RowRecorder(), X, y, weight, None, "direct",
                                   False, routed)

    assert reason is None
    if routed:
        np.testing.assert_array_equal(fitted.fit_X_, X[positive])
        np.testing.assert_array_equal(fitted.fit_weight_, weight[positive])
    else:
        # Under a soft gate X itself reaches the expert, not a copy.
        assert fitted.fit_X_ is X
        np.testing.assert_array_equal(fitted.fit_weight_, weight)
    by_hand = Ridge().fit(X[positive], y[positive], sample_weight=weight[positive])
    np.testing.assert_allclose(fitted.coef_, by_hand.coef_, rtol=1e-10)


def test_fit_expert_zero_weight_class_left_out():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(90, 3))
    y = np.repeat([0, 1, 2], 30)
    weight = rng.uniform(0.1, 1.0, size=90)
    weight[y == 2] = 0.0

    fitted, reason, _ = fit_expert(SVC(probability=True, random_state=0), X, y,
                                   weight, None, "direct", True, False)

    assert reason is None
    np.testing.assert_array_equal(fitted.classes_, [0, 1])
    assert fitted.predict_proba(X).shape == (90, 2)


### Experts without sample_weight or predict_proba


def test_experts_without_sample_weight_warn_once():
    X, y = _regression_data()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        moe = MixtureOfExpertsRegressor(
            3, expert=KNeighborsRegressor(n_neighbors=5), max_iter=20, random_state=0
        ).fit(X, y)
    user_warnings = [
        str(w.message) for w in record
        if issubclass(w.category, UserWarning)
        and not issubclass(w.category, ConvergenceWarning)
    ]

    assert len(user_warnings) == 1
    assert "KNeighborsRegressor(" in user_warnings[0]
    assert "sample_weight" in user_warnings[0]
    assert "hard assignments" in user_warnings[0]
    # Hard assignments: the training rows of the experts partition X.
    training_rows = np.vstack([expert._fit_X for expert in moe.experts_])
    assert training_rows.shape == X.shape
    np.testing.assert_array_equal(
        np.unique(training_rows, axis=0), np.unique(X, axis=0)
    )


def test_experts_without_sample_weight_train_on_their_region():
    X, y = _regression_data()
    with pytest.warns(UserWarning, match="KNeighborsRegressor"):
        moe = MixtureOfExpertsRegressor(
            2, expert=KNeighborsRegressor(n_neighbors=3), gate="kmeans", random_state=0
        ).fit(X, y)
    regions = moe.apply(X)

    for k, fitted in enumerate(moe.experts_):
        np.testing.assert_array_equal(fitted._fit_X, X[regions == k])


@pytest.mark.parametrize("expert, name", [(LinearSVC(), "LinearSVC"), (SVC(), "SVC")])
def test_experts_without_predict_proba_raise(expert, name):
    X, y = _blob_classification_data([[0, 1]] * 3)
    moe = MixtureOfExpertsClassifier(2, expert=expert)

    with pytest.raises(TypeError, match=rf"{name}\(\).*no predict_proba") as error:
        moe.fit(X, y)
    assert "CalibratedClassifierCV" in str(error.value)


def test_experts_regressor_in_classifier_raises():
    X, y = _blob_classification_data([[0, 1]] * 3)
    moe = MixtureOfExpertsClassifier(2, expert=LinearRegression())

    with pytest.raises(TypeError, match=r"not a classifier \(LinearRegression\(\)\)"):
        moe.fit(X, y)


def test_experts_classifier_in_regressor_raises():
    X, y = _regression_data()
    moe = MixtureOfExpertsRegressor(
        2, expert=[LinearRegression(), LogisticRegression()]
    )

    with pytest.raises(TypeError, match=r"Expert 1 .*classifier \(LogisticRegression"):
        moe.fit(X, y)


### Constant experts and class columns


def test_experts_single_class_region_becomes_constant():
    X, y = _blob_classification_data([[0], [0, 1], [1, 0]])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        moe = MixtureOfExpertsClassifier(3, gate="kmeans", random_state=0).fit(X, y)
    constant_warnings = [str(w.message) for w in record if "constant" in str(w.message)]
    constant = np.flatnonzero(moe.constant_experts_)

    assert constant.size == 1
    assert len(constant_warnings) == 1
    assert f"expert {constant[0]} " in constant_warnings[0]
    assert "a single class in its region" in constant_warnings[0]
    assert isinstance(moe.experts_[constant[0]], DummyClassifier)
    left_blob = X[:, 0] < -3
    np.testing.assert_array_equal(np.unique(moe.apply(X[left_blob])), constant)
    proba = moe.predict_proba(X)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba[left_blob, 0], 1.0)
    assert np.all(np.isfinite(moe.log_likelihood(X, y)))


def test_experts_class_subset_columns_mapped():
    labels = np.array(["ant", "bee", "cat"])
    X, y = _blob_classification_data([labels[[0, 1]], labels[[1, 2]], labels[[0, 2]]])
    moe = MixtureOfExpertsClassifier(3, gate="kmeans", random_state=0).fit(X, y)
    expert_proba = moe.predict_experts(X)

    np.testing.assert_array_equal(moe.classes_, labels)
    assert expert_proba.shape == (X.shape[0], 3, 3)
    for k, fitted in enumerate(moe.experts_):
        assert fitted.classes_.size == 2
        missing = np.setdiff1d(np.arange(3), fitted.classes_)
        np.testing.assert_array_equal(expert_proba[:, k, missing], 0.0)
        np.testing.assert_allclose(
            expert_proba[:, k, fitted.classes_], fitted.predict_proba(X), rtol=1e-12
        )
    np.testing.assert_allclose(
        moe.predict_proba(X),
        np.einsum("nk,nkc->nc", moe.gate_proba(X), expert_proba),
        rtol=1e-12,
    )
    np.testing.assert_allclose(moe.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)
    assert moe.score(X, y) > 0.45


### The user's objects


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_experts_user_objects_never_fitted():
    X, y = _regression_data()
    scaler, regression = StandardScaler(), LinearRegression()
    pipeline = make_pipeline(scaler, regression)
    listed = [Ridge(), LinearRegression()]
    gate = SoftmaxGate(C=10.0)

    MixtureOfExpertsRegressor(2, expert=pipeline, gate=gate, max_iter=5).fit(X, y)
    MixtureOfExpertsRegressor(expert=listed, max_iter=5).fit(X, y)

    for estimator in [pipeline, scaler, regression, gate, *listed]:
        assert _fitted_attribute_names(estimator) == []


def test_experts_list_clone_and_params_round_trip():
    listed = [LinearRegression(), Ridge(alpha=3.0)]
    moe = MixtureOfExpertsRegressor(expert=listed, max_iter=5)

    cloned = clone(moe)
    params = moe.get_params(deep=True)
    rebuilt = MixtureOfExpertsRegressor().set_params(**params)

    assert cloned.expert is not listed
    assert all(new is not old for new, old in zip(cloned.expert, listed))
    assert [repr(e) for e in cloned.expert] == [repr(e) for e in listed]
    assert rebuilt.get_params(deep=True) == params
    assert rebuilt.expert is listed


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_experts_list_gives_one_expert_each():
    X, y = _regression_data()
    moe = MixtureOfExpertsRegressor(
        n_experts=5, expert=[LinearRegression(), Ridge(alpha=3.0)], max_iter=10
    ).fit(X, y)
    names = sorted(type(expert).__name__ for expert in moe.experts_)
    ridge = next(expert for expert in moe.experts_ if isinstance(expert, Ridge))

    assert moe.n_experts_ == 2
    assert names == ["LinearRegression", "Ridge"]
    assert ridge.alpha == 3.0


def test_experts_nested_params_set_through_mixture():
    moe = MixtureOfExpertsRegressor(expert=SVR(C=1.0))
    moe.set_params(expert__C=5.0, expert__epsilon=0.2)

    assert moe.get_params(deep=True)["expert__C"] == 5.0
    assert moe.expert.epsilon == 0.2


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_experts_nested_mixture_fits_and_predicts():
    rng = np.random.RandomState(0)
    X = rng.uniform(-4, 4, size=(300, 1))
    # Four linear pieces: two inner experts per outer expert suffice.
    pieces = [X[:, 0] < -2, X[:, 0] < 0, X[:, 0] < 2]
    y = np.select(pieces, [-3 * X[:, 0], 1.0 + X[:, 0], 2.0], 6 - X[:, 0])
    y += rng.normal(0, 0.1, size=300)
    inner = MixtureOfExpertsRegressor(2, max_iter=10, random_state=0)
    moe = MixtureOfExpertsRegressor(2, expert=inner, max_iter=10, random_state=0)
    moe.fit(X, y)
    single = MixtureOfExpertsRegressor(2, max_iter=10, random_state=0).fit(X, y)

    assert all(isinstance(e, MixtureOfExpertsRegressor) for e in moe.experts_)
    assert all(e.n_experts_ == 2 for e in moe.experts_)
    assert np.all(np.isfinite(moe.predict(X)))
    assert moe.score(X, y) > 0.9
    assert moe.score(X, y) > single.score(X, y)


### Parameter counts of BIC and AIC


def _fit_quietly(moe, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return moe.fit(X, y)


def test_experts_bic_aic_linear_softmax_by_hand():
    X, y = _regression_data()
    n_samples, n_features = X.shape
    n_experts = 3
    moe = _fit_quietly(MixtureOfExpertsRegressor(n_experts, random_state=0), X, y)
    n_parameters = (
        (n_experts - 1) * (n_features + 1)  # softmax gate, one expert as reference
        + n_experts * (n_features + 1)  # LinearRegression coef_ and intercept_
        + n_experts  # noise variances
    )
    log_likelihood = moe.log_likelihood(X, y).sum()

    assert n_parameters == 18
    assert moe.bic(X, y) == pytest.approx(
        -2 * log_likelihood + n_parameters * np.log(n_samples), rel=1e-12
    )
    assert moe.aic(X, y) == pytest.approx(
        -2 * log_likelihood + 2 * n_parameters, rel=1e-12
    )


def _bic_parameter_count(moe, X, y):
    """Recover the parameter count from BIC and the log-likelihood."""
    log_likelihood = moe.log_likelihood(X, y).sum()
    return (moe.bic(X, y) + 2 * log_likelihood) / np.log(X.shape[0])


def test_experts_bic_counts_mlp_parameters():
    X, y = _regression_data()
    expert = MLPRegressor(hidden_layer_sizes=(5,), max_iter=50, random_state=0)
    moe = _fit_quietly(
        MixtureOfExpertsRegressor(2, expert=expert, max_iter=3, random_state=0), X, y
    )
    # Per expert: weights 2*5 + 5*1, biases 5 + 1.
    expected = 3 + 2 * (2 * 5 + 5 + 5 + 1) + 2

    assert _bic_parameter_count(moe, X, y) == pytest.approx(expected, abs=1e-6)


def test_experts_bic_counts_pipeline_parameters():
    X, y = _regression_data()
    expert = make_pipeline(
        StandardScaler(), PolynomialFeatures(2, include_bias=False), LinearRegression()
    )
    moe = _fit_quietly(
        MixtureOfExpertsRegressor(2, expert=expert, max_iter=10, random_state=0), X, y
    )
    # Per expert: 5 polynomial terms of 2 features and an intercept. The
    # scaler's mean_ and scale_ describe X, not y given x, so they are not counted.
    expected = 3 + 2 * (5 + 1) + 2

    assert _bic_parameter_count(moe, X, y) == pytest.approx(expected, abs=1e-6)


def test_experts_bic_counts_nested_mixture():
    X, y = _regression_data()
    inner = MixtureOfExpertsRegressor(2, max_iter=5, random_state=0)
    moe = _fit_quietly(
        MixtureOfExpertsRegressor(2, expert=inner, max_iter=5, random_state=0), X, y
    )
    inner_count = 3 + 2 * 3 + 2  # gate, two LinearRegression experts, noise variances
    expected = 3 + 2 * inner_count + 2

    assert _bic_parameter_count(moe, X, y) == pytest.approx(expected, abs=1e-6)


def test_experts_bic_svr_suggests_cross_validation():
    X, y = _regression_data()
    moe = _fit_quietly(
        MixtureOfExpertsRegressor(2, expert=SVR(), max_iter=3, random_state=0), X, y
    )

    with pytest.raises(TypeError, match=r"SVR\(\).*cross-validation"):
        moe.bic(X, y)
    with pytest.raises(TypeError, match=r"SVR\(\).*cross-validation"):
        moe.aic(X, y)
