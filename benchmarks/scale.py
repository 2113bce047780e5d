"""Measure the fit time, EM iterations and peak memory of skmoe on large tables.

Each case fits `MixtureOfExpertsRegressor(8, expert=..., gate="softmax")`
with the default EM settings, `n_jobs=None` and a fixed seed, once with
`LinearRegression()` experts (the default expert) and once with `Ridge()`
experts, on two tables:

- synthetic: 1,000,000 x 20 rows drawn from a mixture of 8 linear experts
  under a softmax gate (`--quick`: 100,000 rows);
- california_housing: the whole prepared table (20,433 x 13, see
  benchmarks/README.md), standardised. It needs SKMOE_DATA and is skipped
  without it.

Every case runs in a new Python process. That process first fits a small
mixture so that Numba's compilation is not counted. It then makes X and y,
records its resident memory (the baseline) and resets the kernel's
peak-resident-memory counter by writing 5 to /proc/self/clear_refs. After
`fit` it reads the peak (VmHWM in /proc/self/status). The reported memory is
peak minus baseline: what the fit allocated on top of the data. The same is
done for `predict`, `log_likelihood` and `gate_proba` on X. Linux only.

Usage::

    python benchmarks/scale.py [--quick] [--output DIR]

The full run writes benchmarks/results/scale.md and scale.json; `--quick`
writes to a new temporary folder unless `--output` is given.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_BENCHMARK_FOLDER = Path(__file__).resolve().parent
_DEFAULT_OUTPUT = _BENCHMARK_FOLDER / "results"

_N_EXPERTS = 8
_SEED = 0

# Target for the 1,000,000-row case: the fit's peak memory above the
# baseline, as a multiple of the size of X.
_MEMORY_TARGET = 3.0

_EXPERTS = ("LinearRegression", "Ridge")

_TABLES = {
    False: [("synthetic", 1_000_000, 20), ("california_housing", None, None)],
    True: [("synthetic", 100_000, 20), ("california_housing", None, None)],
}


### Measurements inside the child process


def _memory_status():
    """Return (VmRSS, VmHWM) of this process in bytes."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(value.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


def _reset_peak():
    """Reset VmHWM to the current resident memory; False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _measure(function):
    """Call `function` and return (result, seconds, peak bytes above the start)."""
    baseline, _ = _memory_status()
    if not _reset_peak():
        raise RuntimeError(
            "Cannot reset the peak memory counter: /proc/self/clear_refs is "
            "not writable here."
        )
    start = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - start
    _, peak = _memory_status()
    return result, seconds, max(peak - baseline, 0)


def make_synthetic(n_samples, n_features, n_experts, seed):
    """Draw rows from a softmax-gated mixture of linear experts.

    X is standard normal; expert k predicts X @ beta_k + c_k with noise
    standard deviation 0.5, and the gate is softmax(X @ W). The rows are drawn
    in blocks so that the temporaries stay small next to X.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    gate_coef = rng.normal(scale=1.5, size=(n_features, n_experts))
    expert_coef = rng.normal(size=(n_features, n_experts))
    expert_intercept = rng.normal(scale=3.0, size=n_experts)

    X = np.empty((n_samples, n_features))
    y = np.empty(n_samples)
    block = 100_000
    for start in range(0, n_samples, block):
        stop = min(start + block, n_samples)
        X_block = rng.standard_normal((stop - start, n_features))
        logits = X_block @ gate_coef
        gate = np.exp(logits - logits.max(axis=1, keepdims=True))
        cumulative = np.cumsum(gate / gate.sum(axis=1, keepdims=True), axis=1)
        draws = rng.random(stop - start)[:, None]
        expert = np.minimum((cumulative < draws).sum(axis=1), n_experts - 1)
        means = X_block @ expert_coef + expert_intercept
        X[start:stop] = X_block
        y[start:stop] = means[np.arange(stop - start), expert] + rng.normal(
            scale=0.5, size=stop - start
        )
    return X, y


def _load_california():
    import numpy as np
    from _data import load_table
    from sklearn.preprocessing import StandardScaler

    table = load_table("california_housing")
    X = StandardScaler().fit_transform(table.X)
    return np.ascontiguousarray(X), np.ascontiguousarray(table.y, dtype=np.float64)


def run_case(name, n_samples, n_features, expert_name):
    """Fit and predict on one case in this process and return the figures."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LinearRegression, Ridge

    from skmoe import MixtureOfExpertsRegressor

    expert = {"LinearRegression": LinearRegression(), "Ridge": Ridge()}[expert_name]

    def make_model():
        return MixtureOfExpertsRegressor(
            _N_EXPERTS, expert=expert, gate="softmax", random_state=_SEED,
        )

    # Compile (or load from the cache) every kernel the fit uses.
    X_small, y_small = make_synthetic(2_000, 5, _N_EXPERTS, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm = make_model().fit(X_small, y_small)
    warm.predict(X_small)
    warm.log_likelihood(X_small, y_small)
    del X_small, y_small, warm

    if name == "synthetic":
        X, y = make_synthetic(n_samples, n_features, _N_EXPERTS, seed=_SEED)
    else:
        X, y = _load_california()
    X_before, y_before = X.copy(), y.copy()

    model = make_model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        _, fit_seconds, fit_peak = _measure(lambda: model.fit(X, y))
    _, predict_seconds, predict_peak = _measure(lambda: model.predict(X))
    log_likelihood, loglik_seconds, loglik_peak = _measure(
        lambda: model.log_likelihood(X, y)
    )
    _, gate_seconds, gate_peak = _measure(lambda: model.gate_proba(X))

    return {
        "name": name,
        "expert": expert_name,
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "X_bytes": int(X.nbytes),
        "fit_seconds": fit_seconds,
        "n_iter": int(model.n_iter_),
        "converged": bool(model.converged_),
        "convergence_warnings": sum(
            issubclass(w.category, ConvergenceWarning) for w in caught
        ),
        "fit_peak_bytes": fit_peak,
        "predict_seconds": predict_seconds,
        "predict_peak_bytes": predict_peak,
        "log_likelihood_seconds": loglik_seconds,
        "log_likelihood_peak_bytes": loglik_peak,
        "gate_proba_seconds": gate_seconds,
        "gate_proba_peak_bytes": gate_peak,
        "mean_log_likelihood": float(np.mean(log_likelihood)),
        "inputs_unchanged": bool(
            np.array_equal(X, X_before) and np.array_equal(y, y_before)
        ),
    }


### The parent: one child per case, then the page


def _run_child(name, n_samples, n_features, expert_name):
    command = [sys.executable, str(Path(__file__).resolve()), "--case", name,
               "--expert", expert_name]
    if n_samples is not None:
        command += ["--rows", str(n_samples), "--features", str(n_features)]
    completed = subprocess.run(command, capture_output=True, text=True,
                               cwd=_BENCHMARK_FOLDER)
    if completed.returncode != 0:
        raise RuntimeError(
            f"The {name} case failed with status {completed.returncode}:\n"
            f"{completed.stderr}"
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _mebibytes(n_bytes):
    return f"{n_bytes / 2**20:,.0f} MiB"


def write_markdown(records, path, quick, command):
    from _data import describe_machine

    lines = [
        "# Scaling: fit time, EM iterations and memory",
        "",
        f"Written by `{command}`"
        + (" (quick mode: small sizes, not the published figures)." if quick else "."),
        "",
        f"Model: `MixtureOfExpertsRegressor({_N_EXPERTS}, expert=..., "
        f'gate="softmax", random_state={_SEED})` with `LinearRegression()` '
        "or `Ridge()` experts, default EM settings, `n_jobs=None`. Memory is the peak resident memory of the process "
        "during the call minus its resident memory just before it, with X "
        "and y already in memory. The ratio divides the fit's figure by the "
        f"size of X; the target for the 1,000,000-row case is at most "
        f"{_MEMORY_TARGET:g}. On a table as small as California housing the "
        "ratio mostly measures a fixed overhead of a few MiB (allocator and "
        "thread pools). The prediction columns give the time and the memory "
        "of the call on the training rows, with the default "
        "`working_memory` of 1024 MiB. Times are wall-clock seconds and "
        "depend on the load recorded below.",
        "",
        "| table | experts | rows x features | size of X | fit | EM iterations | "
        "fit memory | ratio | predict | log_likelihood | gate_proba |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for record in records:
        if "skipped" in record:
            lines.append(f"| {record['name']} | {record['expert']} "
                         f"| skipped: {record['skipped']} | | | | | | | | |")
            continue
        iterations = str(record["n_iter"])
        if not record["converged"]:
            iterations += " (not converged)"
        ratio = record["fit_peak_bytes"] / record["X_bytes"]
        lines.append(
            f"| {record['name']} "
            f"| {record['expert']} "
            f"| {record['n_samples']:,} x {record['n_features']} "
            f"| {_mebibytes(record['X_bytes'])} "
            f"| {record['fit_seconds']:.1f} s "
            f"| {iterations} "
            f"| {_mebibytes(record['fit_peak_bytes'])} "
            f"| {ratio:.2f} "
            f"| {record['predict_seconds']:.2f} s, "
            f"{_mebibytes(record['predict_peak_bytes'])} "
            f"| {record['log_likelihood_seconds']:.2f} s, "
            f"{_mebibytes(record['log_likelihood_peak_bytes'])} "
            f"| {record['gate_proba_seconds']:.2f} s, "
            f"{_mebibytes(record['gate_proba_peak_bytes'])} |"
        )

    lines += ["", "## Machine", ""]
    lines += [f"- {label}: {value}" for label, value in describe_machine()]
    path.write_text("\n".join(lines) + "\n")


def parse_arguments():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="The California housing cases read california_housing.csv from "
               "the folder named by the SKMOE_DATA environment variable and are "
               "skipped without it. Linux only.",
    )
    parser.add_argument("--quick", action="store_true",
                        help="100,000 synthetic rows instead of 1,000,000")
    parser.add_argument("--output", type=Path, default=None,
                        help="folder of scale.md and scale.json (default: "
                             "benchmarks/results, or a new temporary folder "
                             "with --quick)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--features", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--expert", choices=_EXPERTS, help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    if arguments.case is not None:
        record = run_case(arguments.case, arguments.rows, arguments.features,
                          arguments.expert)
        print(json.dumps(record))
        return 0

    from _data import data_folder

    output = arguments.output
    if output is None:
        output = Path(tempfile.mkdtemp()) if arguments.quick else _DEFAULT_OUTPUT
    output.mkdir(parents=True, exist_ok=True)

    records = []
    cases = [(table, expert_name) for table in _TABLES[arguments.quick]
             for expert_name in _EXPERTS]
    for (name, n_samples, n_features), expert_name in cases:
        if name == "california_housing" and data_folder() is None:
            records.append({"name": name, "expert": expert_name,
                            "skipped": "SKMOE_DATA is not set"})
            print(f"{name}, {expert_name}: skipped, SKMOE_DATA is not set")
            continue
        record = _run_child(name, n_samples, n_features, expert_name)
        records.append(record)
        ratio = record["fit_peak_bytes"] / record["X_bytes"]
        print(
            f"{name}, {expert_name}: {record['n_samples']:,} x "
            f"{record['n_features']}, fit "
            f"{record['fit_seconds']:.1f} s in {record['n_iter']} EM iterations, "
            f"peak memory above the baseline {_mebibytes(record['fit_peak_bytes'])} "
            f"= {ratio:.2f} x X"
        )
        if not record["inputs_unchanged"]:
            raise RuntimeError(f"The {name} fit modified X or y.")

    command = "python benchmarks/scale.py" + (" --quick" if arguments.quick else "")
    (output / "scale.json").write_text(json.dumps(records, indent=2) + "\n")
    write_markdown(records, output / "scale.md", arguments.quick, command)
    print(f"Wrote {output / 'scale.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
