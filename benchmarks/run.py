"""Compare skmoe with the estimators users would pick instead, on real tables.

For every table, repeated K-fold cross-validation with fixed seeds fits each
model on the training folds. On the test fold it records R2 (regression) or
accuracy (classification), and the held-out log-likelihood per row
(regression) or log-loss (classification). It also records the fit and
predict times and the peak memory of the fit. Separately, it times one SVR
(an SVC with Platt scaling for classification) against a mixture of such
experts for a growing number of rows. The results page (Markdown tables and
PNG plots) goes to `--output`.

Usage::

    python benchmarks/run.py [--quick] [--output DIR] [--jobs N] [--tables A,B]

Every model runs on one core: this script sets NUMBA_NUM_THREADS,
OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS to 1 before numpy
is imported, and `--jobs` (default 2) runs that many fits side by side in
separate processes. The tables come from the folder named by SKMOE_DATA (see
benchmarks/README.md); without it only the shipped motorcycle and tone tables
run. The exit status is non-zero only when a skmoe model or the script itself
raises; missed targets are reported, not asserted.
"""

# SPDX-License-Identifier: BSD-3-Clause

import os

# One thread per process, set before numpy, scikit-learn or numba load their
# thread pools; --jobs processes then share the cores.
for _variable in (
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from joblib import Parallel, delayed  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss, r2_score  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    RepeatedKFold,
    RepeatedStratifiedKFold,
    train_test_split,
)
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC, SVR  # noqa: E402

from _data import (  # noqa: E402
    CLASSIFICATION_TABLES,
    REGRESSION_TABLES,
    SHIPPED_TABLES,
    data_folder,
    describe_machine,
    load_subsample,
)
from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor  # noqa: E402

_DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results"

# Settings of the full run and of --quick. `train_cap` limits the training
# rows of every model to a random subsample of the training fold, the same for
# all models. The test fold is never cut. With `reference_rows`, the cheap
# baselines (linear, HistGradientBoosting, RandomForest) are also fitted on
# every training row of a larger table. `table_cap` subsamples whole tables.
_SETTINGS = {
    False: {
        "n_splits": 3,
        "n_repeats": 2,
        "table_cap": None,
        "train_cap": 3_000,
        "reference_rows": True,
        "linear_em": {"max_iter": 50, "tol": 1e-4},
        "memory_tables": None,
        "linear_grid": (2, 4, 8),
        "kernel_grid": (4, 8),
        "gates": ("softmax", "kmeans", "gmm"),
        "expert_kinds": ("linear", "SVR", "MLP"),
        "baselines": ("single", "HistGradientBoosting", "RandomForest", "MLP",
                      "linear-tree"),
        "scaling_rows": {
            "california_housing": (2_000, 4_000, 8_000, 16_000, None),
            "adult": (2_000, 4_000, 8_000, 16_000, 32_000, None),
        },
        "scaling_budget": 120.0,
    },
    True: {
        "n_splits": 2,
        "n_repeats": 1,
        "table_cap": 600,
        "train_cap": 300,
        "reference_rows": False,
        "linear_em": {"max_iter": 20, "tol": 1e-4},
        "memory_tables": SHIPPED_TABLES,
        "linear_grid": (2, 4),
        "kernel_grid": (2, 4),
        "gates": ("softmax", "kmeans"),
        "expert_kinds": ("linear", "SVR"),
        "baselines": ("single", "HistGradientBoosting", "RandomForest",
                      "linear-tree"),
        "scaling_rows": {
            "california_housing": (500, 1_000, 2_000),
            "adult": (500, 1_000, 2_000),
        },
        "scaling_budget": 20.0,
    },
}

# EM settings of the mixtures of SVR, SVC or MLP experts (those of linear
# experts are in _SETTINGS). They use sparse top-2 routing with the softmax
# and Gaussian gates, so each expert is refitted only on the rows routed to
# it, and fewer EM iterations.
_KERNEL_EM = {"max_iter": 10, "tol": 1e-3}
_KERNEL_TOP_K = 2
_SEED = 0


### Models


def _expert(task, kind):
    """Return the expert of a kind: 'linear', 'SVR' (SVC) or 'MLP'."""
    if task == "regression":
        return {
            "linear": LinearRegression(),
            "SVR": SVR(C=3.0),
            "MLP": MLPRegressor(hidden_layer_sizes=(32,), max_iter=300,
                                random_state=_SEED),
        }[kind]
    return {
        "linear": LogisticRegression(max_iter=1000),
        # Platt scaling fitted by libsvm's internal cross-validation. Unlike
        # CalibratedClassifierCV(SVC(), cv=3), it also fits a region where a
        # class has fewer rows than folds.
        "SVR": SVC(C=3.0, probability=True, random_state=_SEED),
        "MLP": MLPClassifier(hidden_layer_sizes=(32,), max_iter=300,
                             random_state=_SEED),
    }[kind]


_EXPERT_LABELS = {
    "regression": {"linear": "LinearRegression", "SVR": "SVR(C=3)",
                   "MLP": "MLP(32)"},
    "classification": {"linear": "LogisticRegression",
                       "SVR": "SVC(C=3, probability=True)", "MLP": "MLP(32)"},
}


@dataclass
class ModelSpec:
    """One model of the comparison and how to build and select it."""

    name: str
    family: str  # "skmoe" or "baseline"
    expert_kind: str = None  # "linear", "SVR" or "MLP"; None for the others
    gate: str = None
    capped: bool = True
    selection: str = None  # "bic", "holdout" or None
    grid: tuple = ()
    is_point_prediction: bool = True
    build: object = field(default=None, repr=False)


def _mixture(task, kind, gate, linear_em, n_experts):
    estimator = (
        MixtureOfExpertsRegressor if task == "regression"
        else MixtureOfExpertsClassifier
    )
    settings = dict(linear_em if kind == "linear" else _KERNEL_EM)
    if kind != "linear" and gate != "kmeans":
        settings["top_k"] = min(_KERNEL_TOP_K, n_experts)
    return estimator(
        n_experts, expert=_expert(task, kind), gate=gate, random_state=_SEED,
        **settings,
    )


def _linear_tree(task):
    """Return a linear-tree model, or raise when the package is unusable."""
    import lineartree

    if task == "regression":
        model = lineartree.LinearTreeRegressor(base_estimator=LinearRegression())
    else:
        model = lineartree.LinearTreeClassifier(
            base_estimator=LogisticRegression(max_iter=1000)
        )
    return model


def check_linear_tree():
    """Return None when linear-tree imports and fits here, else the reason."""
    try:
        import lineartree
    except ImportError:
        return (
            "not installed; linear-tree 0.3.5, its latest release, calls the "
            "private BaseEstimator._validate_data that scikit-learn 1.6 removed, "
            "so its fit raises AttributeError on scikit-learn 1.9"
        )
    try:
        version = metadata.version("linear-tree")
    except metadata.PackageNotFoundError:
        version = "(unknown version)"
    try:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(50, 2))
        _linear_tree("regression").fit(X, X @ [1.0, 2.0])
    except Exception as error:  # any failure of the third-party fit is recorded
        return f"linear-tree {version} fails on this scikit-learn: {error!r}"
    return None


def model_specs(task, settings, linear_tree_problem, n_train):
    """Return the ModelSpec list of a task whose training folds have n_train rows."""
    specs = []
    for kind in settings["expert_kinds"]:
        for gate in settings["gates"]:
            # MLP experts count their weights, but BIC penalises them so much
            # that it would always pick the fewest experts; hold-out it is.
            selection = "bic" if kind == "linear" else "holdout"
            specs.append(ModelSpec(
                name=f"skmoe {_EXPERT_LABELS[task][kind]}, gate={gate}",
                family="skmoe",
                expert_kind=kind,
                gate=gate,
                selection=selection,
                grid=settings["linear_grid"] if kind == "linear"
                else settings["kernel_grid"],
                is_point_prediction=False,
                build=functools.partial(_mixture, task, kind, gate,
                                        settings["linear_em"]),
            ))
    baselines = settings["baselines"]
    if "single" in baselines:
        for kind in settings["expert_kinds"]:
            specs.append(ModelSpec(
                name=f"single {_EXPERT_LABELS[task][kind]}",
                family="baseline",
                expert_kind=kind,
                build=functools.partial(_expert, task, kind),
            ))
    if "HistGradientBoosting" in baselines:
        estimator = (HistGradientBoostingRegressor if task == "regression"
                     else HistGradientBoostingClassifier)
        specs.append(ModelSpec(
            name="HistGradientBoosting", family="baseline",
            build=functools.partial(estimator, random_state=_SEED),
        ))
    if "RandomForest" in baselines:
        estimator = (RandomForestRegressor if task == "regression"
                     else RandomForestClassifier)
        specs.append(ModelSpec(
            name="RandomForest", family="baseline",
            build=functools.partial(estimator, n_estimators=100,
                                    random_state=_SEED),
        ))
    if "MLP" in baselines:
        estimator = MLPRegressor if task == "regression" else MLPClassifier
        specs.append(ModelSpec(
            name="MLP(64, 64)", family="baseline",
            build=functools.partial(estimator, hidden_layer_sizes=(64, 64),
                                    max_iter=500, early_stopping=True,
                                    random_state=_SEED),
        ))
    if "linear-tree" in baselines and linear_tree_problem is None:
        specs.append(ModelSpec(
            name="linear-tree", family="baseline",
            build=functools.partial(_linear_tree, task),
        ))
    if settings["reference_rows"] and n_train > settings["train_cap"]:
        # The cheap baselines again on every training row, for reference.
        for spec in list(specs):
            if spec.name in ("HistGradientBoosting", "RandomForest") or (
                spec.family == "baseline" and spec.expert_kind == "linear"
            ):
                specs.append(ModelSpec(
                    name=f"{spec.name}, all training rows", family="baseline",
                    expert_kind=spec.expert_kind, capped=False, build=spec.build,
                ))
    return specs


### Splits and scaling


def _splits(task, y, settings):
    splitter = RepeatedKFold if task == "regression" else RepeatedStratifiedKFold
    cv = splitter(n_splits=settings["n_splits"], n_repeats=settings["n_repeats"],
                  random_state=_SEED)
    return list(cv.split(np.zeros((len(y), 1)), y))


def _cap_rows(train, cap, fold):
    if cap is None or len(train) <= cap:
        return train
    rng = np.random.default_rng(_SEED + fold)
    return np.sort(rng.choice(train, cap, replace=False))


### Fitting one model on one fold


def _holdout_score(task, model, X, y):
    """Return the validation score used to choose n_experts (larger is better)."""
    if task == "regression":
        return float(np.mean(model.log_likelihood(X, y)))
    proba = model.predict_proba(X)
    return -log_loss(y, proba, labels=model.classes_)


def _fit_selected(spec, task, X, y):
    """Fit the model, choosing n_experts from spec.grid without the test fold.

    Returns the fitted model, the chosen n_experts (None for baselines) and the
    time of the final fit alone.
    """
    if spec.selection is None:
        model, seconds = _timed(lambda: spec.build().fit(X, y))
        return model, None, seconds

    if spec.selection == "bic":
        best = None
        for n_experts in spec.grid:
            model, seconds = _timed(lambda: spec.build(n_experts).fit(X, y))
            bic = model.bic(X, y)
            if best is None or bic < best[0]:
                best = (bic, model, n_experts, seconds)
        return best[1], best[2], best[3]

    stratify = y if task == "classification" else None
    X_fit, X_valid, y_fit, y_valid = train_test_split(
        X, y, test_size=0.25, random_state=_SEED, stratify=stratify
    )
    scores = {}
    for n_experts in spec.grid:
        model = spec.build(n_experts).fit(X_fit, y_fit)
        scores[n_experts] = _holdout_score(task, model, X_valid, y_valid)
    n_experts = max(scores, key=scores.get)
    model, seconds = _timed(lambda: spec.build(n_experts).fit(X, y))
    return model, n_experts, seconds


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def _test_metrics(spec, task, model, X_train, y_train, X_test, y_test):
    """Return (score, log-likelihood per row or log-loss, predict seconds)."""
    prediction, predict_time = _timed(lambda: model.predict(X_test))
    if task == "regression":
        score = r2_score(y_test, prediction)
        if spec.is_point_prediction:
            # A Gaussian around the prediction, with the training residual
            # variance of the same model.
            variance = np.mean((y_train - model.predict(X_train)) ** 2)
            variance = max(variance, 1e-12)
            log_likelihood = -0.5 * (
                np.log(2 * np.pi * variance) + (y_test - prediction) ** 2 / variance
            )
        else:
            log_likelihood = model.log_likelihood(X_test, y_test)
        return score, float(np.mean(log_likelihood)), predict_time
    score = accuracy_score(y_test, prediction)
    proba = model.predict_proba(X_test)
    return score, float(log_loss(y_test, proba, labels=model.classes_)), predict_time


def run_fold(table_name, fold, spec, task, settings, measure_memory):
    """Fit one model on one fold; return its record (errors are recorded)."""
    warnings.simplefilter("ignore")
    record = {"table": table_name, "fold": fold, "model": spec.name,
              "family": spec.family, "expert_kind": spec.expert_kind,
              "gate": spec.gate}
    try:
        _, X, y = load_subsample(table_name, settings["table_cap"])
        train, test = _splits(task, y, settings)[fold]
        if spec.capped:
            train = _cap_rows(train, settings["train_cap"], fold)
        scaler = StandardScaler().fit(X[train])
        X_train, X_test = scaler.transform(X[train]), scaler.transform(X[test])
        y_train, y_test = y[train], y[test]
        log_scale = 0.0
        if task == "regression":
            # Standardise y with the training fold; R2 does not change, and
            # the log-likelihood is mapped back to the units of y.
            mean, scale = y_train.mean(), y_train.std()
            y_train, y_test = (y_train - mean) / scale, (y_test - mean) / scale
            log_scale = math.log(scale)

        cpu_start = time.process_time()
        (model, n_experts, final_fit_time), fit_time = _timed(
            lambda: _fit_selected(spec, task, X_train, y_train)
        )
        fit_cpu_time = time.process_time() - cpu_start
        score, likelihood, predict_time = _test_metrics(
            spec, task, model, X_train, y_train, X_test, y_test
        )
        if task == "regression":
            likelihood -= log_scale
        record.update(
            n_train=len(train), n_test=len(test), score=score,
            likelihood=likelihood, fit_time=fit_time, fit_cpu_time=fit_cpu_time,
            final_fit_time=final_fit_time, predict_time=predict_time,
            n_experts=n_experts,
        )
        if measure_memory:
            tracemalloc.start()
            spec_model = (spec.build() if n_experts is None
                          else spec.build(n_experts))
            spec_model.fit(X_train, y_train)
            record["peak_memory_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    except Exception as error:  # recorded on the page; skmoe errors fail the run
        record["error"] = f"{type(error).__name__}: {error}"
        record["traceback"] = traceback.format_exc()
    return record


### Scaling of the fit time with the number of rows


def _scaling_models(task, quick):
    if task == "regression":
        models = {
            "one SVR(C=3)": lambda: SVR(C=3.0),
            "skmoe, 8 SVR experts, gate=kmeans": lambda: MixtureOfExpertsRegressor(
                8, expert=SVR(C=3.0), gate="kmeans", random_state=_SEED),
            "skmoe, 8 SVR experts, gate=softmax, top_k=2":
                lambda: MixtureOfExpertsRegressor(
                    8, expert=SVR(C=3.0), gate="softmax", top_k=2,
                    random_state=_SEED, **_KERNEL_EM),
        }
        if quick:
            del models["skmoe, 8 SVR experts, gate=softmax, top_k=2"]
        return models
    return {
        "one SVC(C=3, probability=True)": lambda: _expert("classification", "SVR"),
        "skmoe, 8 SVC experts, gate=kmeans":
            lambda: MixtureOfExpertsClassifier(
                8, expert=_expert("classification", "SVR"), gate="kmeans",
                random_state=_SEED),
    }


def run_scaling_series(table_name, model_name, row_counts, budget, quick):
    """Time fits on growing subsamples while they fit in the time budget.

    The series stops before a point whose fit time, extrapolated
    quadratically in the rows from the previous point, exceeds `budget`
    seconds (the growth of an SVR fit is between linear and quadratic).
    """
    warnings.simplefilter("ignore")
    task, X, y = load_subsample(table_name, None)
    build = _scaling_models(task, quick)[model_name]
    rng = np.random.default_rng(_SEED)
    order = rng.permutation(len(y))
    points = []
    for n_rows in row_counts:
        n_rows = len(y) if n_rows is None else min(n_rows, len(y))
        if points and "fit_time" in points[-1]:
            previous = points[-1]
            expected = previous["fit_time"] * (n_rows / previous["n_rows"]) ** 2
            if expected > budget:
                points.append({"table": table_name, "model": model_name,
                               "n_rows": n_rows,
                               "skipped": f"expected {expected:.0f} s"})
                break
        rows = order[:n_rows]
        X_rows = StandardScaler().fit_transform(X[rows])
        y_rows = y[rows]
        if task == "regression":
            y_rows = (y_rows - y_rows.mean()) / y_rows.std()
        point = {"table": table_name, "model": model_name, "n_rows": n_rows}
        try:
            _, point["fit_time"] = _timed(lambda: build().fit(X_rows, y_rows))
        except Exception as error:
            point["error"] = f"{type(error).__name__}: {error}"
            points.append(point)
            break
        points.append(point)
    return points


### Summaries


def aggregate(records):
    """Return one summary per (table, model): fold means and spreads."""
    groups = {}
    for record in records:
        groups.setdefault((record["table"], record["model"]), []).append(record)
    summaries = []
    for (table, model), group in groups.items():
        ok = [r for r in group if "error" not in r]
        summary = {"table": table, "model": model, "family": group[0]["family"],
                   "expert_kind": group[0]["expert_kind"], "gate": group[0]["gate"],
                   "n_folds": len(ok)}
        if len(ok) < len(group):
            summary["error"] = next(r["error"] for r in group if "error" in r)
        if ok:
            for key in ("score", "likelihood", "fit_time", "fit_cpu_time",
                        "final_fit_time", "predict_time", "n_train"):
                values = np.array([r[key] for r in ok], dtype=float)
                summary[key] = float(values.mean())
                summary[key + "_std"] = float(values.std())
            memory = [r["peak_memory_mb"] for r in ok if "peak_memory_mb" in r]
            summary["peak_memory_mb"] = memory[0] if memory else None
            chosen = [r["n_experts"] for r in ok if r["n_experts"] is not None]
            summary["n_experts"] = sorted(set(chosen))
        summaries.append(summary)
    return summaries


def evaluate_targets(summaries, tables):
    """Return (statement, verdict, detail) rows for the targets of the page."""
    by_table = {}
    for summary in summaries:
        if "score" in summary:
            by_table.setdefault(summary["table"], []).append(summary)
    rows = []

    def best(candidates, key="score"):
        return max(candidates, key=lambda s: s[key]) if candidates else None

    california = by_table.get("california_housing", [])
    best_moe = best([s for s in california if s["family"] == "skmoe"])
    hgb = next((s for s in california if s["model"] == "HistGradientBoosting"), None)
    hgb_all_rows = next((s for s in california
                         if s["model"] == "HistGradientBoosting, all training rows"),
                        None)
    if best_moe and hgb:
        gap = hgb["score"] - best_moe["score"]
        detail = (f"{best_moe['model']} {best_moe['score']:.4f} vs "
                  f"{hgb['score']:.4f} on the same rows (gap {gap:+.4f})")
        if hgb_all_rows:
            detail += (f"; HistGradientBoosting on all training rows "
                       f"{hgb_all_rows['score']:.4f}")
        rows.append((
            "California housing: best skmoe within 0.01 R2 of HistGradientBoosting",
            _verdict(gap <= 0.01),
            detail,
        ))
    else:
        rows.append(("California housing: best skmoe within 0.01 R2 of "
                     "HistGradientBoosting", "not run", ""))

    regression = [t for t in tables if t in REGRESSION_TABLES and t in by_table]
    for kind in ("linear", "SVR", "MLP"):
        beaten, details = 0, []
        compared = 0
        for table in regression:
            single = next((s for s in by_table[table] if s["family"] == "baseline"
                           and s["expert_kind"] == kind), None)
            moe = best([s for s in by_table[table] if s["family"] == "skmoe"
                        and s["expert_kind"] == kind])
            if single is None or moe is None:
                continue
            compared += 1
            won = moe["score"] > single["score"]
            beaten += won
            details.append(f"{table} {moe['score']:.3f} vs {single['score']:.3f}"
                           + ("" if won else " (lost)"))
        if compared:
            rows.append((
                f"Best skmoe with {kind} experts beats the single {kind} expert "
                f"(R2) on every regression table",
                _verdict(beaten == compared),
                f"{beaten} of {compared}: " + "; ".join(details),
            ))

    wins, details = 0, []
    for table in regression:
        moe = best([s for s in by_table[table] if s["family"] == "skmoe"],
                   key="likelihood")
        points = [s for s in by_table[table] if s["family"] == "baseline"]
        if moe is None or not points:
            continue
        top = best(points, key="likelihood")
        won = moe["likelihood"] > top["likelihood"]
        wins += won
        details.append(f"{table} {moe['likelihood']:.3f} vs {top['likelihood']:.3f} "
                       f"({top['model']})" + ("" if won else " (lost)"))
    needed = min(5, len(regression))
    rows.append((
        f"Held-out log-likelihood: best skmoe beats every point-prediction "
        f"baseline on at least {needed} of {len(regression)} regression tables",
        _verdict(wins >= needed) if regression else "not run",
        f"{wins} of {len(regression)}: " + "; ".join(details),
    ))
    return rows


def _verdict(met):
    return "met" if met else "**missed**"


def wins_and_losses(summaries, tables):
    """Return one sentence per table on how the best skmoe model ranks."""
    sentences = []
    for table in tables:
        rows = [s for s in summaries if s["table"] == table and "score" in s]
        moe = [s for s in rows if s["family"] == "skmoe"]
        others = [s for s in rows if s["family"] == "baseline"]
        if not moe or not others:
            continue
        best_moe = max(moe, key=lambda s: s["score"])
        best_other = max(others, key=lambda s: s["score"])
        metric = "R2" if table in REGRESSION_TABLES else "accuracy"
        place = 1 + sum(s["score"] > best_moe["score"] for s in others)
        verb = f"ranks {place} of {len(others) + 1} against the {len(others)} baselines"
        likelihood_key = "log-likelihood" if table in REGRESSION_TABLES else "log-loss"
        best_moe_likelihood = (max if table in REGRESSION_TABLES else min)(
            moe, key=lambda s: s["likelihood"])
        best_other_likelihood = (max if table in REGRESSION_TABLES else min)(
            others, key=lambda s: s["likelihood"])
        sentences.append(
            f"- **{table}**: best skmoe ({best_moe['model']}, {metric} "
            f"{best_moe['score']:.4f}) {verb}. The best baseline is "
            f"{best_other['model']} ({best_other['score']:.4f}). "
            f"Best {likelihood_key}: skmoe {best_moe_likelihood['likelihood']:.3f} "
            f"({best_moe_likelihood['model']}), baselines "
            f"{best_other_likelihood['likelihood']:.3f} "
            f"({best_other_likelihood['model']})."
        )
    return sentences


### Page


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _format_mean(summary, key, digits):
    if key not in summary:
        return "error"
    return f"{summary[key]:.{digits}f} ± {summary[key + '_std']:.{digits}f}"


def _results_rows(summaries, table):
    rows = []
    for s in [s for s in summaries if s["table"] == table]:
        if "score" not in s:
            rows.append((s["model"], "error: " + s["error"][:120], "", "", "", "",
                         "", "", ""))
            continue
        memory = s["peak_memory_mb"]
        rows.append((
            s["model"],
            _format_mean(s, "score", 4),
            _format_mean(s, "likelihood", 3),
            f"{s['fit_time']:.2f}",
            f"{s['fit_cpu_time']:.2f}",
            f"{s['predict_time']:.4f}",
            "" if memory is None else f"{memory:.2f}",
            ", ".join(str(k) for k in s["n_experts"]),
            f"{s['n_train']:.0f}",
        ))
    return rows


def plot_scores(summaries, tables, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = [t for t in tables if any(s["table"] == t and "score" in s
                                       for s in summaries)]
    if not tables:
        return False
    n_columns = min(3, len(tables))
    n_rows = math.ceil(len(tables) / n_columns)
    figure, axes = plt.subplots(n_rows, n_columns, squeeze=False,
                                figsize=(6 * n_columns, 0.9 + 4.2 * n_rows))
    for ax, table in zip(axes.ravel(), tables):
        rows = [s for s in summaries if s["table"] == table and "score" in s]
        names = [s["model"] for s in rows]
        scores = [s["score"] for s in rows]
        colours = ["tab:blue" if s["family"] == "skmoe" else "tab:gray" for s in rows]
        positions = np.arange(len(rows))
        ax.barh(positions, scores, xerr=[s["score_std"] for s in rows],
                color=colours)
        ax.set_yticks(positions, names, fontsize=7)
        ax.invert_yaxis()
        low = min(scores)
        ax.set_xlim(max(0.0, low - 0.1 * (1 - low)) if low > 0 else low, 1.0)
        ax.tick_params(axis="x", labelsize=8)
        metric = "R2" if table in REGRESSION_TABLES else "accuracy"
        ax.set_title(f"{table} (test {metric})", fontsize=9)
    for ax in axes.ravel()[len(tables):]:
        ax.set_visible(False)
    figure.suptitle("skmoe (blue) against baselines (grey), mean ± std over folds")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def plot_scaling(points, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = sorted({p["table"] for p in points})
    if not tables:
        return False
    figure, axes = plt.subplots(1, len(tables), squeeze=False,
                                figsize=(6 * len(tables), 4.2))
    for ax, table in zip(axes.ravel(), tables):
        series = {}
        for p in points:
            if p["table"] == table and "fit_time" in p:
                series.setdefault(p["model"], []).append(p)
        for name, series_points in series.items():
            ax.plot([p["n_rows"] for p in series_points],
                    [p["fit_time"] for p in series_points], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training rows")
        ax.set_ylabel("fit time (s), one core")
        ax.set_title(table)
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _scaling_rows(points):
    rows = []
    for p in points:
        if "fit_time" in p:
            figure = f"{p['fit_time']:.2f}"
        elif "skipped" in p:
            figure = f"not run ({p['skipped']}, over the budget)"
        else:
            figure = "error: " + p["error"]
        rows.append((p["table"], p["model"], f"{p['n_rows']:,}", figure))
    return rows


def _method_lines(context):
    settings = context["settings"]
    table_cap = settings["table_cap"]
    lines = [
        f"- Tables: {', '.join(context['tables'])}. " + context["table_note"],
        f"- Cross-validation: {settings['n_repeats']} x {settings['n_splits']}-fold "
        f"(RepeatedKFold, stratified for classification), random_state={_SEED}. "
        "The features are standardised on each training fold. So is a "
        "regression target, and the log-likelihood is mapped back to the units "
        "of y.",
        (f"- Whole tables subsampled to {table_cap:,} rows. " if table_cap else "- ")
        + f"Every model is trained on at most {settings['train_cap']:,} rows of "
        "each training fold, the same random subsample for all of them, so that "
        "the mixtures of SVR and MLP experts and the softmax gate finish in time "
        "on the large tables. The test fold is never cut. "
        + ("On a table with larger training folds, the linear, "
           "HistGradientBoosting and RandomForest baselines are also fitted on "
           "every training row ('all training rows'), for reference. "
           if settings["reference_rows"] else "")
        + "The 'train rows' column shows the mean.",
        f"- skmoe: expert kinds {', '.join(settings['expert_kinds'])} under the "
        f"gates {', '.join(settings['gates'])}. n_experts is chosen on the "
        f"training fold only. Linear experts use BIC over {settings['linear_grid']}. "
        "SVR/SVC and MLP experts use the log-likelihood (log-loss) on a 25% "
        f"hold-out of the training fold over {settings['kernel_grid']}, and the "
        "chosen size is refitted on the whole training fold. EM for linear "
        f"experts: max_iter={settings['linear_em']['max_iter']}, "
        f"tol={settings['linear_em']['tol']}. EM for the other experts: "
        f"max_iter={_KERNEL_EM['max_iter']}, tol={_KERNEL_EM['tol']}, and "
        f"top_k={_KERNEL_TOP_K} with the softmax and gmm gates. "
        f"random_state={_SEED}.",
        "- Baselines: each expert alone, HistGradientBoosting and RandomForest "
        "(100 trees) with default settings, an MLP(64, 64) with early stopping"
        + (" (full run only)" if context["quick"] else "")
        + f", and linear-tree when it works here ({context['linear_tree']}).",
        "- Score: R2 (regression) or accuracy (classification) on the test fold. "
        "Log-likelihood: mean log p(y | x) per test row. skmoe uses its mixture "
        "density (`log_likelihood`), and a point-prediction baseline uses a "
        "Gaussian around its prediction with its own training residual "
        "variance. Classification reports log-loss (lower is better).",
        "- fit (s) includes the choice of n_experts (all grid fits), and "
        "predict (s) times `predict` on the test fold. Both are wall-clock "
        "seconds on one core, means over folds. fit CPU (s) is the CPU time "
        "of the fit process: with one thread per process it matches the "
        "wall-clock time on an idle machine, and it is less affected by other "
        "load.",
        "- Peak memory: tracemalloc peak during a separate fit on the first fold"
        + (f" (quick mode: only on {', '.join(settings['memory_tables'])})"
           if settings["memory_tables"] else "")
        + ". tracemalloc sees Python and NumPy allocations, but not memory "
        "allocated inside libsvm (the SVR/SVC kernel cache) or by Numba "
        "kernels, so it understates those models.",
    ]
    return lines


def _table_sections(context):
    lines = ["## Results by table", ""]
    if context["scores_png"]:
        lines += [f"![Test scores]({context['scores_png']})", ""]
    for table in context["tables"]:
        metric = "R2" if table in REGRESSION_TABLES else "accuracy"
        likelihood = ("log-lik. per row" if table in REGRESSION_TABLES
                      else "log-loss")
        lines += [
            f"### {table}",
            "",
            markdown_table(
                ("model", f"test {metric}", likelihood, "fit (s)", "fit CPU (s)",
                 "predict (s)", "peak MiB", "n_experts", "train rows"),
                _results_rows(context["summaries"], table),
            ),
            "",
        ]
    return lines


def _scaling_section(context):
    lines = ["## Fit time against the number of rows", ""]
    if context["scaling_png"]:
        lines += [f"![Fit time against rows]({context['scaling_png']})", ""]
    lines += [
        "One fit per point on rows drawn at random from the whole table, on one "
        "core. A series stops before a point whose fit time, extrapolated "
        "quadratically in the rows from the previous point, exceeds "
        f"{context['settings']['scaling_budget']:.0f} s.",
        "",
        markdown_table(("table", "model", "rows", "fit (s)"),
                       _scaling_rows(context["scaling"])),
        "",
    ]
    return lines


def write_page(path, context):
    """Write the results page: method, targets, verdicts, tables and plots."""
    title = "# skmoe against the estimators users would pick instead"
    if context["quick"]:
        title += " (quick mode: small subsamples, for checking the script only)"
    lines = [
        title,
        "",
        f"Command: `{context['command']}`. Run time: {context['run_time']:.0f} s "
        f"with {context['jobs']} processes side by side.",
        "",
        "## Machine",
        "",
        markdown_table(("", "value"), context["machine"]),
        "",
        "## Method",
        "",
        *_method_lines(context),
        "",
        "## Targets",
        "",
        markdown_table(("target", "verdict", "figures"), context["targets"]),
        "",
        "## Where skmoe wins and where it loses",
        "",
        *context["sentences"],
        "",
        _WHY,
    ]
    lines += _table_sections(context)
    lines += _scaling_section(context)
    if context["errors"]:
        lines += ["## Errors", ""]
        lines += [f"- {e['table']}, {e['model']}, fold {e['fold']}: {e['error']}"
                  for e in context["errors"]]
        lines.append("")
    path.write_text("\n".join(lines))


_WHY = """\
Why, in general (the figures above show where each point holds on this run):

- A mixture of K local experts needs enough rows in each region. On small
  tables (motorcycle, tone, concrete) the choice of n_experts by BIC or
  hold-out therefore keeps K small. On large tables, tree ensembles capture
  interactions that a handful of linear or kernel regions miss, so
  HistGradientBoosting usually keeps the best R2 there.
- The mixture models the noise. Each expert has its own variance and the
  gate mixes them, so the predictive density can follow heteroscedastic or
  multimodal targets (motorcycle, tone, abalone), which a Gaussian with one
  residual variance cannot. The held-out log-likelihood gains come from
  there, even where R2 ties. Baselines that nearly interpolate the training
  set (RandomForest) get a small training residual variance and therefore a
  poor held-out log-likelihood.
- A mixture of SVR experts trains each expert on about 1/K of the rows
  (k-means gate) or k/K of them (top-k). An SVR's fit grows faster than
  linearly with the rows, so the experts' fits cost less than one SVR's on a
  large table. But each EM iteration of skmoe 0.1.0.dev0 predicts every expert on
  every training row, which costs about as much as predicting the table with
  one SVR. That prediction, not the expert fits, dominates the fit time with
  the softmax gate.
"""


### Main


def _print_progress(record, n_done, n_total, elapsed):
    if "error" in record:
        outcome = "error: " + record["error"][:100]
    else:
        outcome = (f"score {record['score']:.4f}, fit {record['fit_time']:.1f} s "
                   f"(CPU {record['fit_cpu_time']:.1f} s)")
    print(f"[{n_done}/{n_total}, {elapsed:.0f} s] {record['table']}, "
          f"{record['model']}, fold {record['fold']}: {outcome}", flush=True)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small subsamples, 2 folds, fewer models: a smoke "
                        "test that takes a few minutes")
    parser.add_argument("--output", type=Path, default=None,
                        help="folder for comparison.md, its PNG plots and "
                        "comparison.json (default: benchmarks/results, or a new "
                        "temporary folder with --quick)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="number of fits run side by side, one process "
                        "and one core each (default: 2)")
    parser.add_argument("--tables", default=None,
                        help="comma-separated table names (default: all that "
                        "are available)")
    parser.add_argument("--no-scaling", action="store_true",
                        help="skip the fit-time-against-rows series")
    parser.add_argument("--max-folds", type=int, default=None,
                        help="run only the first N folds of each table, for a "
                        "first look or a time estimate")
    return parser.parse_args()


def available_tables(requested):
    all_tables = list(REGRESSION_TABLES) + list(CLASSIFICATION_TABLES)
    if requested:
        names = [name.strip() for name in requested.split(",") if name.strip()]
        unknown = sorted(set(names) - set(all_tables))
        if unknown:
            raise SystemExit(f"Unknown table(s) {unknown}; choose from {all_tables}.")
        all_tables = [t for t in all_tables if t in names]
    if data_folder() is None:
        shipped = [t for t in all_tables if t in SHIPPED_TABLES]
        note = ("SKMOE_DATA is unset, so only the tables shipped with skmoe ran "
                f"({', '.join(shipped)}).")
        return shipped, note
    return all_tables, "Preparation as in benchmarks/README.md."


def main():
    args = parse_arguments()
    quick = args.quick
    settings = _SETTINGS[quick]
    tables, table_note = available_tables(args.tables)
    print(table_note if data_folder() is None else f"Tables: {', '.join(tables)}")
    if args.output is None:
        args.output = (Path(tempfile.mkdtemp(prefix="skmoe-benchmarks-")) if quick
                       else _DEFAULT_OUTPUT)
    args.output.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    linear_tree_problem = check_linear_tree()
    print(f"linear-tree: {linear_tree_problem or 'usable'}")

    tasks = []
    for table in tables:
        task, _, y = load_subsample(table, settings["table_cap"])
        splits = _splits(task, y, settings)
        n_train = max(len(train) for train, _ in splits)
        n_folds = len(splits) if args.max_folds is None else min(
            args.max_folds, len(splits))
        memory = settings["memory_tables"] is None or table in settings["memory_tables"]
        for spec in model_specs(task, settings, linear_tree_problem, n_train):
            for fold in range(n_folds):
                tasks.append((table, fold, spec, task, memory and fold == 0))
    print(f"{len(tasks)} fits to run with {args.jobs} processes ...", flush=True)
    records = []
    for record in Parallel(n_jobs=args.jobs, return_as="generator_unordered")(
        delayed(run_fold)(table, fold, spec, task, settings, memory)
        for table, fold, spec, task, memory in tasks
    ):
        records.append(record)
        _print_progress(record, len(records), len(tasks), time.perf_counter() - start)

    scaling = []
    if not args.no_scaling:
        series = [(table, model, settings["scaling_rows"][table])
                  for table in settings["scaling_rows"] if table in tables
                  for model in _scaling_models(
                      "regression" if table in REGRESSION_TABLES else "classification",
                      quick)]
        print(f"{len(series)} scaling series ...", flush=True)
        for points in Parallel(n_jobs=args.jobs)(
            delayed(run_scaling_series)(table, model, rows,
                                        settings["scaling_budget"], quick)
            for table, model, rows in series
        ):
            scaling += points

    summaries = aggregate(records)
    errors = [r for r in records if "error" in r]
    context = {
        "settings": settings,
        "summaries": summaries,
        "tables": tables,
        "table_note": table_note,
        "quick": quick,
        "jobs": args.jobs,
        "machine": describe_machine(),
        "linear_tree": linear_tree_problem or "it works",
        "targets": evaluate_targets(summaries, tables),
        "sentences": wins_and_losses(summaries, tables),
        "scaling": scaling,
        "errors": errors,
        "command": "python benchmarks/run.py" + (" --quick" if quick else ""),
    }
    context["scores_png"] = ("comparison_scores.png"
                             if plot_scores(summaries, tables,
                                            args.output / "comparison_scores.png")
                             else None)
    context["scaling_png"] = ("comparison_scaling.png"
                              if plot_scaling(scaling,
                                              args.output / "comparison_scaling.png")
                              else None)
    context["run_time"] = time.perf_counter() - start
    page = args.output / "comparison.md"
    write_page(page, context)
    (args.output / "comparison.json").write_text(json.dumps(
        {"records": records, "scaling": scaling, "summaries": summaries},
        indent=1, default=str))

    print()
    for statement, verdict, detail in context["targets"]:
        print(f"[{verdict}] {statement}: {detail}")
    for error in errors:
        print(f"ERROR {error['table']} / {error['model']} / fold {error['fold']}: "
              f"{error['error']}", file=sys.stderr)
    print(f"\nWrote {page} in {context['run_time']:.0f} s.")

    skmoe_errors = [e for e in errors if e["family"] == "skmoe"]
    if skmoe_errors:
        print(f"{len(skmoe_errors)} skmoe fit(s) raised; first traceback:\n"
              + skmoe_errors[0]["traceback"], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
