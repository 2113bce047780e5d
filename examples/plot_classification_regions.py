"""
========================================
Gate regions of a mixture of classifiers
========================================

The two interleaved half circles of ``make_moons`` cannot be separated by one
line. A mixture of logistic regressions splits the plane with a softmax gate
into regions, each small enough for a linear boundary. This example compares
the mixture with a single logistic regression and draws the regions with
:class:`~skmoe.inspection.GateRegionDisplay`.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Data and models
# ---------------
import matplotlib.pyplot as plt
from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skmoe import MixtureOfExpertsClassifier
from skmoe.inspection import GateRegionDisplay

X, y = make_moons(n_samples=600, noise=0.25, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

linear = LogisticRegression().fit(X_train, y_train)
mixture = MixtureOfExpertsClassifier(n_experts=4, n_init=3, random_state=0)
mixture.fit(X_train, y_train)

print(f"one logistic regression: test accuracy = {linear.score(X_test, y_test):.3f}")
print(f"4 logistic experts:      test accuracy = {mixture.score(X_test, y_test):.3f}")
print(f"EM iterations: {mixture.n_iter_}, converged: {mixture.converged_}")
print("share of the training rows per expert:", mixture.expert_weights_.round(2))

# %%
# Regions of the experts
# ----------------------
# Each colour is the region where one expert has the largest gate weight,
# paler where that weight is low. The points are the training rows, with one
# marker per class.
fig, ax = plt.subplots(figsize=(7, 5))
GateRegionDisplay.from_estimator(mixture, X_train, y=y_train, ax=ax)
ax.set_title("Gate regions of 4 logistic experts")
plt.show()
