"""
=============================================
Tuning a mixture of SVR experts in a pipeline
=============================================

A mixture of experts is a scikit-learn estimator, so it goes into a
``Pipeline`` and its parameters, including those of its experts, tune with
``GridSearchCV``. Nested parameters use the usual double underscore:
``mixtureofexpertsregressor__expert__C`` is the ``C`` of every ``SVR``
expert inside the pipeline step ``mixtureofexpertsregressor``.

This example tunes the number of experts and the experts' ``C`` on the
motorcycle crash data with 5-fold cross-validation.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# The pipeline and the grid
# -------------------------
# The target is an acceleration in g, between -134 and 75, and ``SVR``'s
# ``C`` bounds the weight of each support vector on that scale, so the grid
# spans large values of ``C``. ``max_iter`` is kept small because an ``SVR``
# M-step is not an exact maximiser and EM would otherwise run to its limit
# on small changes of the objective.
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import load_motorcycle

X, y = load_motorcycle(return_X_y=True)

pipeline = make_pipeline(
    StandardScaler(),
    MixtureOfExpertsRegressor(expert=SVR(), max_iter=30, random_state=0),
)
param_grid = {
    "mixtureofexpertsregressor__n_experts": [1, 2, 3, 4],
    "mixtureofexpertsregressor__expert__C": [10.0, 100.0, 1000.0],
}
search = GridSearchCV(pipeline, param_grid, cv=KFold(5, shuffle=True, random_state=0))

with warnings.catch_warnings():
    # Short EM runs may stop at max_iter; the cross-validated score judges them.
    warnings.simplefilter("ignore", category=ConvergenceWarning)
    search.fit(X, y)

print("best parameters:", search.best_params_)
print(f"best cross-validated R2: {search.best_score_:.3f}")

# %%
# The cross-validated :math:`R^2` of every combination
# ----------------------------------------------------
results = pd.DataFrame(search.cv_results_)
table = results.pivot(
    index="param_mixtureofexpertsregressor__n_experts",
    columns="param_mixtureofexpertsregressor__expert__C",
    values="mean_test_score",
)
print(table.round(3))

# The row ``n_experts=1`` is a plain ``SVR``, so the table shows directly
# whether splitting the time axis between experts pays off in :math:`R^2`.
fig, ax = plt.subplots(figsize=(6, 4))
for C, column in table.items():
    ax.plot(table.index, column, marker="o", label=f"C = {C:g}")
ax.set_xlabel("n_experts")
ax.set_ylabel("mean cross-validated $R^2$")
ax.set_xticks(table.index)
ax.legend()
plt.show()
