"""
=====================================================
A mixture of SVR experts on California housing prices
=====================================================

Fitting a kernel support vector regressor (``SVR``) costs between quadratic
and cubic time in the number of rows. Collobert, Bengio & Bengio (2002)
split the rows between several SVMs and let a gate combine them: each
expert then fits a small problem, and the experts can fit different regimes
of the data. With ``gate="kmeans"`` the mixture clusters the input once with
k-means and fits one ``SVR`` per cluster.

This example compares, on the California housing data, a mixture of four
``SVR`` experts, one ``SVR`` on all training rows, and scikit-learn's
``HistGradientBoostingRegressor``: test :math:`R^2` and fit time. Every model
is trained on a random subsample of 4000 of the 15,324 training rows, so that
the example runs in well under a minute. The test set is the full 25 %
hold-out.

The table ``california_housing.csv`` is read from the folder named by the
``SKMOE_DATA`` environment variable.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Load and prepare the data
# -------------------------
# The rows with a missing ``total_bedrooms`` are dropped, the target is the
# logarithm of the median house value, the text column ``ocean_proximity``
# is one-hot encoded, and the columns are standardised with statistics of
# the training part only.
import os
from pathlib import Path
from time import perf_counter

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skmoe import MixtureOfExpertsRegressor

csv_path = Path(os.environ.get("SKMOE_DATA", "."), "california_housing.csv")
if not csv_path.is_file():
    print(
        f"{csv_path} not found: set SKMOE_DATA to the folder that contains "
        "california_housing.csv to run this example."
    )
    raise SystemExit(0)

housing = pd.read_csv(csv_path).dropna()
y = np.log(housing.pop("median_house_value").to_numpy())
X = pd.get_dummies(housing, columns=["ocean_proximity"], dtype=float)

X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train = scaler.transform(X_train)
X_test = scaler.transform(X_test)

rng = np.random.default_rng(0)
subsample = rng.choice(X_train.shape[0], size=4000, replace=False)
X_small, y_small = X_train[subsample], y_train[subsample]
print(f"{X_train.shape[0]} training rows, {X_small.shape[0]} used; {X_test.shape[0]} test rows")

# %%
# Fit the three models
# --------------------
# The k-means regions are fitted once and stay fixed, so EM only refits each
# ``SVR`` on the rows of its own cluster: about 1000 rows per expert.
models = {
    "one SVR": SVR(C=1.0),
    "4 SVR experts, kmeans gate": MixtureOfExpertsRegressor(
        n_experts=4, expert=SVR(C=1.0), gate="kmeans", random_state=0
    ),
    "HistGradientBoosting": HistGradientBoostingRegressor(random_state=0),
}

results = []
for name, model in models.items():
    start = perf_counter()
    model.fit(X_small, y_small)
    fit_seconds = perf_counter() - start
    results.append((name, model.score(X_test, y_test), fit_seconds))
    print(f"{name:>28}: test R2 = {results[-1][1]:.3f}, fit time = {fit_seconds:.2f} s")

# %%
# Plot the comparison
# -------------------
import matplotlib.pyplot as plt

names, scores, seconds = zip(*results)
fig, (ax_score, ax_time) = plt.subplots(1, 2, figsize=(10, 3.5), sharey=True)
ax_score.barh(names, scores, color="tab:blue")
ax_score.set_xlabel("test $R^2$")
ax_score.set_xlim(0, 1)
ax_time.barh(names, seconds, color="tab:gray")
ax_time.set_xlabel("fit time (s)")
fig.tight_layout()
plt.show()

# %%
# The k-means clusters differ in size, and so do the experts' training sets.
# The fit time of the mixture includes more than the expert fits: the
# k-means initialisation, the clustering of the gate, and the evaluation of
# every expert on the training rows for the likelihood.
moe = models["4 SVR experts, kmeans gate"]
print("rows per expert:", np.bincount(moe.apply(X_small), minlength=moe.n_experts_))
