"""EM properties of both mixtures: monotone objective, restarts, reproducibility."""

# SPDX-License-Identifier: BSD-3-Clause

import re

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.datasets import load_motorcycle, load_tone


def _standardize(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _piecewise_data(n_samples=300, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n_samples, 2))
    y = np.where(X[:, 0] > 0, X @ [1.0, 2.0], 1.0 - 2.0 * X[:, 0])
    return X, y + rng.normal(0, 0.3, size=n_samples)


def _load(name):
    if name == "tone":
        return load_tone(return_X_y=True)
    if name == "motorcycle":
        X, y = load_motorcycle(return_X_y=True)
        return _standardize(X), y
    return _piecewise_data()


def _classification_data():
    return make_classification(
        n_samples=200, n_features=4, n_informative=3, n_redundant=0,
        n_classes=3, n_clusters_per_class=1, random_state=0,
    )


### Monotone objective


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dataset", ["tone", "motorcycle", "piecewise"])
@pytest.mark.parametrize("gate", ["softmax", "gmm"])
@pytest.mark.parametrize("seed, init", [(0, "kmeans"), (1, "random")])
def test_em_history_never_decreases(dataset, gate, seed, init):
    X, y = _load(dataset)
    moe = MixtureOfExpertsRegressor(
        3, gate=gate, init=init, max_iter=20, tol=0.0, random_state=seed
    ).fit(X, y)
    history = moe.log_likelihood_history_

    assert history.shape == (20,)
    assert np.all(np.isfinite(history))
    assert np.all(np.diff(history) >= -1e-10 * np.abs(history[:-1]))


### Gate weights


@pytest.mark.parametrize("gate", ["softmax", "gmm", "kmeans"])
@pytest.mark.parametrize("estimator_class", [MixtureOfExpertsRegressor,
                                             MixtureOfExpertsClassifier])
def test_em_apply_is_gate_proba_argmax(gate, estimator_class):
    if estimator_class is MixtureOfExpertsRegressor:
        X, y = _piecewise_data()
    else:
        X, y = _classification_data()
    moe = estimator_class(3, gate=gate, max_iter=30, random_state=0).fit(X, y)
    gate_proba = moe.gate_proba(X)

    assert gate_proba.shape == (X.shape[0], 3)
    assert np.all(gate_proba >= 0)
    np.testing.assert_allclose(gate_proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(moe.apply(X), gate_proba.argmax(axis=1))
    # All three experts are used somewhere on the training rows.
    assert np.unique(moe.apply(X)).size == 3


### Reproducibility


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_em_same_random_state_same_model():
    X, y = _piecewise_data()
    params = dict(n_experts=3, init="random", max_iter=15)
    first = MixtureOfExpertsRegressor(random_state=7, **params).fit(X, y)
    second = MixtureOfExpertsRegressor(random_state=7, **params).fit(X, y)
    other = MixtureOfExpertsRegressor(random_state=8, **params).fit(X, y)

    np.testing.assert_array_equal(
        first.log_likelihood_history_, second.log_likelihood_history_
    )
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    np.testing.assert_array_equal(first.noise_variance_, second.noise_variance_)
    for expert, twin in zip(first.experts_, second.experts_):
        np.testing.assert_array_equal(expert.coef_, twin.coef_)
    np.testing.assert_array_equal(first.gate_.coef_, second.gate_.coef_)
    # A different seed starts elsewhere, so the check above is not vacuous.
    assert not np.array_equal(first.log_likelihood_history_[:3],
                              other.log_likelihood_history_[:3])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("estimator_class", [MixtureOfExpertsRegressor,
                                             MixtureOfExpertsClassifier])
def test_em_n_jobs_same_predictions(estimator_class):
    if estimator_class is MixtureOfExpertsRegressor:
        X, y = _piecewise_data()
        predict = "predict"
    else:
        X, y = _classification_data()
        predict = "predict_proba"
    params = dict(n_experts=3, max_iter=10, random_state=0)
    serial = estimator_class(n_jobs=1, **params).fit(X, y)
    parallel = estimator_class(n_jobs=2, **params).fit(X, y)

    np.testing.assert_allclose(
        getattr(parallel, predict)(X), getattr(serial, predict)(X), rtol=1e-12
    )
    np.testing.assert_allclose(
        parallel.log_likelihood_history_, serial.log_likelihood_history_, rtol=1e-12
    )


### Restarts and warm start


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_em_n_init_keeps_best_initialisation():
    # The restarts of one fit draw from one RandomState in turn, so
    # single-init fits sharing a RandomState(0) reproduce them one by one.
    X, y = _load("motorcycle")
    params = dict(n_experts=3, init="random", max_iter=15, tol=0.0)
    restarted = MixtureOfExpertsRegressor(n_init=4, random_state=0, **params).fit(X, y)
    shared = np.random.RandomState(0)
    singles = [
        MixtureOfExpertsRegressor(random_state=shared, **params).fit(X, y)
        for _ in range(4)
    ]
    objectives = np.array([single.log_likelihood_history_[-1] for single in singles])
    best = singles[int(np.argmax(objectives))]

    assert np.ptp(objectives) > 1e-3
    assert restarted.log_likelihood_history_[-1] == objectives.max()
    np.testing.assert_array_equal(
        restarted.log_likelihood_history_, best.log_likelihood_history_
    )
    np.testing.assert_array_equal(restarted.predict(X), best.predict(X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_em_warm_start_continues_previous_fit():
    X, y = _load("motorcycle")
    params = dict(n_experts=3, init="random", tol=0.0, random_state=0)
    moe = MixtureOfExpertsRegressor(max_iter=5, warm_start=True, **params).fit(X, y)
    first_history = moe.log_likelihood_history_.copy()
    moe.fit(X, y)
    second_history = moe.log_likelihood_history_
    cold = MixtureOfExpertsRegressor(max_iter=10, **params).fit(X, y)

    assert second_history[0] >= first_history[-1] - 1e-10 * abs(first_history[-1])
    # Five more iterations from the stored model retrace iterations 6 to 10
    # of a cold fit (the gate's optimiser restarts from permuted parameters).
    np.testing.assert_allclose(
        np.r_[first_history, second_history], cold.log_likelihood_history_, rtol=1e-6
    )


def test_em_warm_start_off_starts_anew():
    X, y = _piecewise_data()
    moe = MixtureOfExpertsRegressor(3, max_iter=30, random_state=0).fit(X, y)
    first_history = moe.log_likelihood_history_.copy()
    moe.fit(X, y)

    np.testing.assert_array_equal(moe.log_likelihood_history_, first_history)


### Warnings and progress output


def test_em_convergence_warning_names_remedies():
    X, y = _piecewise_data()
    moe = MixtureOfExpertsRegressor(3, max_iter=1, random_state=0)

    with pytest.warns(ConvergenceWarning) as record:
        moe.fit(X, y)
    messages = [str(w.message) for w in record if w.category is ConvergenceWarning]

    assert len(messages) == 1
    assert "max_iter=1" in messages[0]
    assert "tol=0.0001" in messages[0]
    assert "n_experts" in messages[0]
    assert not moe.converged_
    assert moe.n_iter_ == 1


def test_em_converged_fit_does_not_warn(recwarn):
    X, y = load_tone(return_X_y=True)
    moe = MixtureOfExpertsRegressor(2, max_iter=100, random_state=0).fit(X, y)

    assert moe.converged_
    assert moe.n_iter_ < 100
    assert not [w for w in recwarn if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_em_verbose_1_prints_inits_and_iterations(capsys):
    X, y = _piecewise_data()
    MixtureOfExpertsRegressor(
        3, max_iter=4, tol=0.0, n_init=2, verbose=1, verbose_interval=2,
        random_state=0,
    ).fit(X, y)
    lines = capsys.readouterr().out.splitlines()

    assert lines == [
        "Initialization 0",
        "  Iteration 2",
        "  Iteration 4",
        "Initialization did not converge.",
        "Initialization 1",
        "  Iteration 2",
        "  Iteration 4",
        "Initialization did not converge.",
    ]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_em_verbose_2_prints_time_and_change(capsys):
    X, y = _piecewise_data()
    moe = MixtureOfExpertsRegressor(
        3, max_iter=2, tol=0.0, verbose=2, verbose_interval=1, random_state=0
    ).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    iteration_lines = [line for line in lines if line.startswith("  Iteration")]
    change = moe.log_likelihood_history_[1] - moe.log_likelihood_history_[0]

    assert lines[0] == "Initialization 0"
    assert len(iteration_lines) == 2
    assert re.fullmatch(
        r"  Iteration 1\t time lapse \d+\.\d{5}s\t objective change inf",
        iteration_lines[0],
    )
    assert re.fullmatch(
        rf"  Iteration 2\t time lapse \d+\.\d{{5}}s\t objective change {change:.5f}",
        iteration_lines[1],
    )
    assert re.fullmatch(
        r"Initialization did not converge\. time lapse \d+\.\d{5}s\t objective "
        rf"{moe.log_likelihood_history_[-1]:.5f}",
        lines[-1],
    )


def test_em_verbose_0_prints_nothing(capsys):
    X, y = load_tone(return_X_y=True)
    MixtureOfExpertsRegressor(2, random_state=0).fit(X, y)

    assert capsys.readouterr().out == ""
