"""Thread limits for small problems, where parallel regions cost more than they save."""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib

import numba
from threadpoolctl import threadpool_limits

__all__ = ["MIN_PARALLEL_SIZE", "single_thread_below"]

# Below this many entries (n_samples * n_experts) the Numba kernels and BLAS
# run on one thread. Each parallel region costs a thread wake-up, which takes
# milliseconds when other processes compete for the cores, while the work of
# a small problem takes microseconds.
# NOTE: the threshold is an estimate, not tuned across machines.
MIN_PARALLEL_SIZE = 2**16


@contextlib.contextmanager
def single_thread_below(size):
    """Limit Numba (in this thread) and BLAS (process-wide) to one thread.

    Does nothing when ``size`` is at least :data:`MIN_PARALLEL_SIZE`.
    """
    if size >= MIN_PARALLEL_SIZE:
        yield
        return

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)
