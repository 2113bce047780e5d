"""Classical mixture-of-experts estimators for scikit-learn."""

# SPDX-License-Identifier: BSD-3-Clause

from skmoe._classifier import MixtureOfExpertsClassifier
from skmoe._regressor import MixtureOfExpertsRegressor

__version__ = "0.1.0.dev0"

__all__ = [
    "MixtureOfExpertsClassifier",
    "MixtureOfExpertsRegressor",
    "__version__",
]
