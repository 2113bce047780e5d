"""The one place where skmoe imports private scikit-learn helpers."""

# SPDX-License-Identifier: BSD-3-Clause

# scikit-learn >= 1.6 is required: `validate_data` became a public function
# in sklearn.utils.validation in 1.6. The names below are private API of
# scikit-learn (checked against 1.9.1 only). Keeping them here means that
# a scikit-learn upgrade that moves them breaks one module, not the package.
from sklearn.base import _fit_context
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
)
from sklearn.utils.validation import _check_sample_weight, validate_data

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
    "get_chunk_n_rows",
    "validate_data",
]
