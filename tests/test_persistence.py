"""Persistence, reproducibility and input immutability of the mixture estimators."""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe.gating import SoftmaxGate

GATES = ["softmax", "kmeans", "gmm"]

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _regimes(n_samples=120, seed=0):
    """Return two well separated linear regimes: y = -2x on x < 0, 3x + 5 on x > 0."""
    rng = np.random.RandomState(seed)
    X = np.r_[rng.uniform(-4, -1, n_samples // 2), rng.uniform(1, 4, n_samples // 2)]
    y = np.where(X < 0, -2.0 * X, 3.0 * X + 5.0) + rng.normal(0, 0.1, n_samples)
    return np.c_[X, rng.normal(size=n_samples)], y


def _classes(n_samples=120, seed=0):
    """Return two separated blobs, each with its own linear class boundary."""
    X, _ = _regimes(n_samples, seed)
    y = np.where(X[:, 0] < 0, X[:, 1] > 0.5, X[:, 1] < -0.5).astype(np.int64)
    return X, y


def _outputs(estimator, X):
    """Return every prediction array of a fitted estimator, by name."""
    outputs = {
        "predict": estimator.predict(X),
        "gate_proba": estimator.gate_proba(X),
        "predict_experts": estimator.predict_experts(X),
    }
    if isinstance(estimator, MixtureOfExpertsClassifier):
        outputs["predict_proba"] = estimator.predict_proba(X)
    else:
        outputs["predict_std"] = estimator.predict(X, return_std=True)[1]
    return outputs


def _run_python(code, tmp_path, env=None):
    """Run code in a fresh Python process in tmp_path and return its stdout."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


### Pickle and joblib round trips in a fresh process


FITTED = [
    pytest.param(MixtureOfExpertsRegressor, "softmax", id="regressor-softmax"),
    pytest.param(MixtureOfExpertsRegressor, "kmeans", id="regressor-kmeans"),
    pytest.param(MixtureOfExpertsRegressor, "gmm", id="regressor-gmm"),
    pytest.param(MixtureOfExpertsClassifier, "softmax", id="classifier-softmax"),
    pytest.param(MixtureOfExpertsClassifier, "gmm", id="classifier-gmm"),
]

_LOAD_AND_PREDICT = """
    import pickle
    import sys

    import joblib
    import numpy as np

    X = np.load("X.npy")
    with open("model.pkl", "rb") as file:
        models = {"pickle": pickle.load(file)}
    models["joblib"] = joblib.load("model.joblib")
    for name, model in models.items():
        arrays = {"predict": model.predict(X), "gate_proba": model.gate_proba(X),
                  "predict_experts": model.predict_experts(X)}
        if hasattr(model, "predict_proba"):
            arrays["predict_proba"] = model.predict_proba(X)
        else:
            arrays["predict_std"] = model.predict(X, return_std=True)[1]
        np.savez(name + ".npz", **arrays)
    print("skmoe" in sys.modules)
"""


@pytest.mark.parametrize("estimator_class, gate", FITTED)
def test_mixture_pickle_round_trip_new_process(tmp_path, estimator_class, gate):
    X, y = _classes() if estimator_class is MixtureOfExpertsClassifier else _regimes()
    estimator = estimator_class(n_experts=3, gate=gate, top_k=2, max_iter=10,
                                random_state=0).fit(X, y)
    expected = _outputs(estimator, X)
    np.save(tmp_path / "X.npy", X)
    with open(tmp_path / "model.pkl", "wb") as file:
        pickle.dump(estimator, file)
    joblib.dump(estimator, tmp_path / "model.joblib")

    stdout = _run_python(_LOAD_AND_PREDICT, tmp_path)

    assert stdout.strip() == "True"
    for name in ["pickle", "joblib"]:
        loaded = np.load(tmp_path / f"{name}.npz")
        assert sorted(loaded.files) == sorted(expected)
        for output, values in expected.items():
            assert_array_equal(loaded[output], values, err_msg=f"{name} {output}")


def test_regressor_pickle_keeps_fitted_attributes():
    X, y = _regimes()
    estimator = MixtureOfExpertsRegressor(n_experts=2, max_iter=10, random_state=0)
    estimator.fit(X, y)

    loaded = pickle.loads(pickle.dumps(estimator))

    assert loaded.get_params() == estimator.get_params()
    assert loaded.n_experts_ == estimator.n_experts_
    assert_array_equal(loaded.noise_variance_, estimator.noise_variance_)
    assert_array_equal(loaded.log_likelihood_history_,
                       estimator.log_likelihood_history_)
    assert_array_equal(loaded.expert_weights_, estimator.expert_weights_)
    assert loaded.score(X, y) == estimator.score(X, y)


### A read-only install: no writable Numba cache


def test_skmoe_imports_and_fits_without_writable_numba_cache(tmp_path):
    blocker = tmp_path / "regular_file"
    blocker.write_text("a regular file cannot hold a cache folder\n")
    code = """
        import warnings

        import numpy as np

        from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor

        warnings.simplefilter("ignore")
        rng = np.random.RandomState(0)
        X = rng.normal(size=(80, 2))
        y = np.where(X[:, 0] < 0, -X[:, 0], 2 * X[:, 0])
        for gate in ["softmax", "gmm"]:
            regressor = MixtureOfExpertsRegressor(
                n_experts=2, gate=gate, top_k=1, max_iter=5, random_state=0
            ).fit(X, y)
            classifier = MixtureOfExpertsClassifier(
                n_experts=2, gate=gate, max_iter=5, random_state=0
            ).fit(X, y > 1)
            assert np.all(np.isfinite(regressor.predict(X)))
            assert np.all(np.isfinite(classifier.predict_proba(X)))
        print("fitted")
    """

    stdout = _run_python(
        code, tmp_path, env={"NUMBA_CACHE_DIR": str(blocker / "numba_cache")}
    )

    assert stdout.strip() == "fitted"
    assert blocker.is_file()


### Reproducibility


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_same_random_state_gives_identical_models(estimator_class, gate):
    X, y = _classes() if estimator_class is MixtureOfExpertsClassifier else _regimes()
    params = {"n_experts": 3, "gate": gate, "max_iter": 10, "n_init": 2,
              "init": "random", "random_state": 7}

    first = estimator_class(**params).fit(X, y)
    second = estimator_class(**params).fit(X, y)

    assert_array_equal(first.log_likelihood_history_, second.log_likelihood_history_)
    for name, values in _outputs(first, X).items():
        assert_array_equal(_outputs(second, X)[name], values, err_msg=name)


_FIT_AND_PREDICT = """
    import numpy as np

    from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor

    X, y = np.load("X.npy"), np.load("y.npy")
    for name, estimator_class in [("regressor", MixtureOfExpertsRegressor),
                                  ("classifier", MixtureOfExpertsClassifier)]:
        target = y if name == "regressor" else (y > 2).astype(np.int64)
        for gate in ["softmax", "kmeans", "gmm"]:
            estimator = estimator_class(n_experts=3, gate=gate, max_iter=10,
                                        n_init=2, random_state=7).fit(X, target)
            np.savez(f"{name}-{gate}.npz", predict=estimator.predict(X),
                     gate_proba=estimator.gate_proba(X))
"""


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_mixture_fit_in_new_process_is_identical(tmp_path):
    X, y = _regimes()
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)

    _run_python(_FIT_AND_PREDICT, tmp_path, env={"PYTHONHASHSEED": "123"})

    for name, estimator_class in [("regressor", MixtureOfExpertsRegressor),
                                  ("classifier", MixtureOfExpertsClassifier)]:
        target = y if name == "regressor" else (y > 2).astype(np.int64)
        for gate in GATES:
            estimator = estimator_class(n_experts=3, gate=gate, max_iter=10, n_init=2,
                                        random_state=7).fit(X, target)
            saved = np.load(tmp_path / f"{name}-{gate}.npz")
            assert_array_equal(saved["predict"], estimator.predict(X),
                               err_msg=f"{name} {gate}")
            assert_array_equal(saved["gate_proba"], estimator.gate_proba(X),
                               err_msg=f"{name} {gate}")


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_random_state_instance_gives_identical_models(estimator_class):
    X, y = _classes() if estimator_class is MixtureOfExpertsClassifier else _regimes()

    first = estimator_class(n_experts=2, max_iter=5, init="random",
                            random_state=np.random.RandomState(3)).fit(X, y)
    second = estimator_class(n_experts=2, max_iter=5, init="random",
                             random_state=np.random.RandomState(3)).fit(X, y)

    assert_array_equal(first.predict(X), second.predict(X))


@pytest.mark.parametrize("estimator_class, expert", [
    pytest.param(MixtureOfExpertsRegressor, Ridge(alpha=0.1), id="regressor"),
    pytest.param(MixtureOfExpertsClassifier, DecisionTreeClassifier(max_depth=2),
                 id="classifier"),
])
def test_mixture_n_jobs_does_not_change_model(estimator_class, expert):
    X, y = _classes() if estimator_class is MixtureOfExpertsClassifier else _regimes()
    params = {"n_experts": 3, "expert": expert, "max_iter": 10, "n_init": 2,
              "random_state": 0}

    serial = estimator_class(n_jobs=1, **params).fit(X, y)
    parallel = estimator_class(n_jobs=2, **params).fit(X, y)

    assert_allclose(parallel.log_likelihood_history_, serial.log_likelihood_history_,
                    rtol=1e-12)
    for name, values in _outputs(serial, X).items():
        assert_allclose(_outputs(parallel, X)[name], values, rtol=1e-12, atol=1e-12,
                        err_msg=name)


@pytest.mark.parametrize("gate", GATES)
def test_regressor_shuffled_rows_give_same_predictions(gate):
    X, y = _regimes()
    order = np.random.RandomState(1).permutation(X.shape[0])
    params = {"n_experts": 2, "gate": gate, "max_iter": 500, "tol": 1e-12,
              "random_state": 0}

    original = MixtureOfExpertsRegressor(**params).fit(X, y)
    shuffled = MixtureOfExpertsRegressor(**params).fit(X[order], y[order])

    assert_allclose(shuffled.predict(X), original.predict(X), rtol=1e-6, atol=1e-6)
    assert_allclose(shuffled.predict_experts(X), original.predict_experts(X),
                    rtol=1e-6, atol=1e-6)
    assert_allclose(shuffled.gate_proba(X), original.gate_proba(X), atol=1e-6)
    for k in range(2):
        assert_allclose(shuffled.experts_[k].coef_, original.experts_[k].coef_,
                        rtol=1e-6, atol=1e-6)


# A random start draws one Dirichlet row per sample, so shuffling changes it,
# and from those starts the gmm gate ends in different local optima.
@pytest.mark.parametrize("gate, init", [
    ("softmax", "kmeans"), ("kmeans", "kmeans"), ("gmm", "kmeans"),
    ("softmax", "random"),
])
def test_classifier_shuffled_rows_give_same_probabilities(gate, init):
    X, y = _classes()
    order = np.random.RandomState(1).permutation(X.shape[0])
    params = {"n_experts": 2, "gate": gate, "init": init, "max_iter": 500,
              "tol": 1e-12, "expert": LogisticRegression(tol=1e-10), "random_state": 0}

    original = MixtureOfExpertsClassifier(**params).fit(X, y)
    shuffled = MixtureOfExpertsClassifier(**params).fit(X[order], y[order])

    assert_allclose(shuffled.predict_proba(X), original.predict_proba(X), atol=1e-6)
    assert_allclose(shuffled.gate_proba(X), original.gate_proba(X), atol=1e-6)


def test_classifier_kmeans_init_reaches_random_init_objective():
    """Check the k-means start does not stop EM at constant class experts.

    A start that clusters the labels with X gives each expert one class, a
    fixed point where the experts are constant and the gate alone classifies.
    """
    X, y = _classes()
    params = {"n_experts": 2, "max_iter": 500, "tol": 1e-12,
              "expert": LogisticRegression(tol=1e-10), "random_state": 0}

    kmeans_start = MixtureOfExpertsClassifier(init="kmeans", **params).fit(X, y)
    random_start = MixtureOfExpertsClassifier(init="random", **params).fit(X, y)

    assert (kmeans_start.log_likelihood_history_[-1]
            >= random_start.log_likelihood_history_[-1] - 1e-6)


### warm_start


def test_regressor_warm_start_continues_from_last_fit():
    X, y = _regimes()
    params = {"n_experts": 3, "tol": 0.0, "init": "random", "random_state": 0}

    full = MixtureOfExpertsRegressor(max_iter=10, **params).fit(X, y)
    warm = MixtureOfExpertsRegressor(max_iter=5, warm_start=True, **params).fit(X, y)
    first_history = warm.log_likelihood_history_.copy()
    warm.fit(X, y)

    assert warm.n_iter_ == 5
    assert_allclose(np.r_[first_history, warm.log_likelihood_history_],
                    full.log_likelihood_history_, rtol=1e-8)
    assert_allclose(warm.predict(X), full.predict(X), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_warm_start_does_not_lower_objective(estimator_class):
    X, y = _classes() if estimator_class is MixtureOfExpertsClassifier else _regimes()
    estimator = estimator_class(n_experts=2, max_iter=3, tol=0.0, init="random",
                                warm_start=True, random_state=0).fit(X, y)
    history = [estimator.log_likelihood_history_[-1]]

    for _ in range(3):
        estimator.fit(X, y)
        history.append(estimator.log_likelihood_history_[-1])

    assert np.all(np.diff(history) >= -1e-10), history


def test_regressor_warm_start_new_n_experts():
    X, y = _regimes()
    estimator = MixtureOfExpertsRegressor(n_experts=2, max_iter=5, warm_start=True,
                                          random_state=0).fit(X, y)
    estimator.set_params(n_experts=3)

    with pytest.warns(UserWarning, match=r"number of experts changed from 2 to 3; "
                                         r"fitting from a new initialisation"):
        estimator.fit(X, y)

    assert estimator.n_experts_ == 3


def test_regressor_cold_start_ignores_previous_fit():
    X, y = _regimes()
    params = {"n_experts": 2, "max_iter": 5, "init": "random", "random_state": 0}

    refitted = MixtureOfExpertsRegressor(**params).fit(X, 2 * y).fit(X, y)
    fresh = MixtureOfExpertsRegressor(**params).fit(X, y)

    assert_array_equal(refitted.log_likelihood_history_, fresh.log_likelihood_history_)
    assert_array_equal(refitted.predict(X), fresh.predict(X))


### Inputs are not modified


def _expert_state(expert):
    """Return hashes of an estimator's parameters and attributes, to compare."""
    return joblib.hash(expert.get_params(deep=True)), joblib.hash(vars(expert))


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("estimator_class",
                         [MixtureOfExpertsRegressor, MixtureOfExpertsClassifier])
def test_mixture_does_not_modify_inputs(estimator_class, gate):
    X, y = _classes() if estimator_class is MixtureOfExpertsClassifier else _regimes()
    X = np.asfortranarray(X)
    sample_weight = np.random.RandomState(0).uniform(0.5, 2.0, X.shape[0])
    expert = (make_pipeline(StandardScaler(), LogisticRegression())
              if estimator_class is MixtureOfExpertsClassifier
              else make_pipeline(StandardScaler(), Ridge()))
    gate_object = SoftmaxGate(C=10.0) if gate == "softmax" else gate
    inputs = {"X": X.copy(order="K"), "y": y.copy(),
              "sample_weight": sample_weight.copy()}
    expert_state = _expert_state(expert)
    gate_state = _expert_state(gate_object) if gate == "softmax" else None

    estimator = estimator_class(n_experts=2, expert=expert, gate=gate_object,
                                max_iter=5, random_state=0)
    estimator.fit(X, y, sample_weight=sample_weight)
    _outputs(estimator, X)
    estimator.score(X, y, sample_weight=sample_weight)
    estimator.log_likelihood(X, y)

    assert_array_equal(X, inputs["X"])
    assert X.flags.f_contiguous
    assert_array_equal(y, inputs["y"])
    assert_array_equal(sample_weight, inputs["sample_weight"])
    assert _expert_state(expert) == expert_state
    assert not hasattr(expert[-1], "coef_")
    assert all(fitted is not expert for fitted in estimator.experts_)
    if gate_state is not None:
        assert _expert_state(gate_object) == gate_state
        assert not hasattr(gate_object, "coef_")


def test_mixture_does_not_modify_expert_list_or_dataframe():
    X, y = _regimes()
    frame = pd.DataFrame(X, columns=["x", "noise"])
    frame_copy = frame.copy()
    target = pd.Series(y, name="y")
    target_copy = target.copy()
    experts = [LinearRegression(), Ridge(alpha=3.0)]
    experts_copy = copy.deepcopy(experts)
    states = [_expert_state(expert) for expert in experts]

    estimator = MixtureOfExpertsRegressor(expert=experts, max_iter=5, random_state=0)
    estimator.fit(frame, target)
    estimator.predict(frame)

    pd.testing.assert_frame_equal(frame, frame_copy)
    pd.testing.assert_series_equal(target, target_copy)
    assert len(experts) == 2
    assert [_expert_state(expert) for expert in experts] == states
    assert [repr(expert) for expert in experts] == [repr(e) for e in experts_copy]
    assert estimator.expert is experts


def test_classifier_does_not_modify_string_labels():
    X, y = _classes()
    labels = np.where(y == 1, "yes", "no").astype(object)
    labels_copy = labels.copy()

    estimator = MixtureOfExpertsClassifier(n_experts=2, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        estimator.fit(X, labels)

    assert_array_equal(labels, labels_copy)
    assert set(estimator.predict(X)) <= {"yes", "no"}
