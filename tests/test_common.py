"""scikit-learn's estimator checks on both estimators and several configurations."""

# SPDX-License-Identifier: BSD-3-Clause

from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.svm import SVC, SVR
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.tree import DecisionTreeClassifier

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor

# KMeans initialisation and expert fits see repeated rows as distinct points,
# so a weight of 2 is not exactly a repeated row for the k-means start.
_WEIGHT_EQUIVALENCE = (
    "Integer sample weights equal repeated rows only up to the k-means "
    "initialisation, which places its centres differently on repeated rows. "
    "Input is dense-only, so the sparse twin of this check does not run."
)

ESTIMATORS = [
    MixtureOfExpertsRegressor(n_experts=2, max_iter=10, random_state=0),
    MixtureOfExpertsRegressor(n_experts=2, gate="kmeans", max_iter=10, random_state=0),
    MixtureOfExpertsRegressor(n_experts=2, gate="gmm", max_iter=10, random_state=0),
    MixtureOfExpertsRegressor(n_experts=2, expert=SVR(), max_iter=5, random_state=0),
    MixtureOfExpertsRegressor(
        expert=[LinearRegression(), Ridge(alpha=10.0)], max_iter=10, random_state=0
    ),
    MixtureOfExpertsClassifier(n_experts=2, max_iter=10, random_state=0),
    MixtureOfExpertsClassifier(n_experts=2, gate="kmeans", max_iter=10, random_state=0),
    MixtureOfExpertsClassifier(n_experts=2, gate="gmm", max_iter=10, random_state=0),
    # A soft start gives every expert all rows. The checks' 15-row tables split
    # by a hard k-means start leave classes with fewer members than the
    # calibration's cross-validation folds, and every expert fails to fit.
    MixtureOfExpertsClassifier(
        n_experts=2,
        expert=CalibratedClassifierCV(SVC()),
        init="random",
        max_iter=3,
        random_state=0,
    ),
    MixtureOfExpertsClassifier(
        expert=[LogisticRegression(), DecisionTreeClassifier(max_depth=3)],
        max_iter=10,
        random_state=0,
    ),
]


def _expected_failed_checks(estimator):
    return {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_EQUIVALENCE}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_estimators_pass_sklearn_checks(estimator, check):
    check(estimator)
