"""Time the E-step kernel and the softmax gate M-step against their references.

Prints two ratios (reference time / skmoe time), with the machine they were
measured on:

1. `skmoe._kernels.e_step` against its NumPy/SciPy twin `e_step_numpy`
   (n = 1,000,000 rows, K = 16 experts; best of 5 runs each).
2. `SoftmaxGate.fit` against scikit-learn's `LogisticRegression` (lbfgs, same
   C, tol=1e-10) fitted on the rows replicated once per expert with weights
   w_i * r_ik, which has the same optimum (n = 100,000 rows, 10 features,
   K = 8 experts; one run each, the gate's kernels compiled beforehand).

Usage: python benchmarks/bench_kernels.py [--quick]. `--quick` divides the
row counts by 10. Thread counts follow NUMBA_NUM_THREADS and the BLAS/OpenMP
environment variables. Timings on a machine shared with other processes vary
from run to run, so the load average is printed too.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import os
import platform
import time

import numba
import numpy as np
import scipy
import sklearn
from sklearn.linear_model import LogisticRegression

from skmoe._kernels import e_step, e_step_numpy, log_softmax
from skmoe.gating import SoftmaxGate


def describe_machine():
    """Return a few lines on the CPU, thread counts, load and versions."""
    cpu_model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("n/a",)
    return "\n".join(
        [
            f"CPU: {cpu_model}",
            f"cores available: {len(os.sched_getaffinity(0))} "
            f"(os.cpu_count() = {os.cpu_count()})",
            f"numba threads: {numba.get_num_threads()} "
            f"(threading layer: {numba.config.THREADING_LAYER})",
            f"load average (1, 5, 15 min): {load}",
            f"python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, scikit-learn {sklearn.__version__}, "
            f"numba {numba.__version__}",
        ]
    )


def best_time(function, repeats):
    """Return the shortest wall-clock time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_e_step(n_samples, n_experts, rng):
    log_gate = log_softmax(rng.normal(size=(n_samples, n_experts)))
    log_dens = rng.normal(size=(n_samples, n_experts))
    e_step(log_gate[:10].copy(), log_dens[:10].copy())  # compile or load the cache

    kernel_time = best_time(lambda: e_step(log_gate, log_dens), repeats=5)
    numpy_time = best_time(lambda: e_step_numpy(log_gate, log_dens), repeats=5)
    print(
        f"e_step, n={n_samples}, K={n_experts}: numba {kernel_time:.4f} s, "
        f"numpy/scipy {numpy_time:.4f} s, ratio {numpy_time / kernel_time:.1f}"
    )


def bench_gate(n_samples, n_features, n_experts, rng):
    X = rng.normal(size=(n_samples, n_features))
    logits = X @ rng.normal(size=(n_features, n_experts))
    resp = np.exp(logits - logits.max(axis=1, keepdims=True))
    resp /= resp.sum(axis=1, keepdims=True)
    resp = 0.8 * resp + 0.2 * rng.dirichlet(np.ones(n_experts), size=n_samples)
    sample_weight = np.ones(n_samples)
    SoftmaxGate().fit(X[:50], resp[:50])  # compile or load the cache

    start = time.perf_counter()
    gate = SoftmaxGate(C=1.0).fit(X, resp, sample_weight)
    gate_time = time.perf_counter() - start

    X_replicated = np.tile(X, (n_experts, 1))
    y_replicated = np.repeat(np.arange(n_experts), n_samples)
    weight_replicated = (sample_weight[:, np.newaxis] * resp).T.ravel()
    start = time.perf_counter()
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(
        X_replicated, y_replicated, sample_weight=weight_replicated
    )
    reference_time = time.perf_counter() - start

    difference = np.abs(gate.coef_ - reference.coef_.T).max()
    print(
        f"gate M-step, n={n_samples}, d={n_features}, K={n_experts}: "
        f"SoftmaxGate {gate_time:.3f} s ({gate.n_iter_} iterations), "
        f"LogisticRegression on {n_samples * n_experts} replicated rows "
        f"{reference_time:.3f} s ({reference.n_iter_[0]} iterations), "
        f"ratio {reference_time / gate_time:.1f}, "
        f"max coefficient difference {difference:.1e}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="divide the number of rows by 10"
    )
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    rng = np.random.default_rng(0)

    print(describe_machine())
    bench_e_step(1_000_000 // scale, 16, rng)
    bench_gate(100_000 // scale, 10, 8, rng)


if __name__ == "__main__":
    main()
