"""
=====================================
Sparse top-k routing and load balance
=====================================

With ``top_k=k``, each training row keeps only its ``k`` largest
responsibilities, so each expert is refitted only on the rows routed to it,
and each prediction uses only the ``k`` experts with the largest gate
weights. A softmax gate left alone tends to send most rows to a few
experts. This example compares four ways to route six linear experts on
the California housing data:

* dense routing (every expert sees every row with its responsibility),
* ``top_k=2`` with each row choosing its experts ("token choice",
  Shazeer et al. 2017),
* the same with gate noise and a balance loss (Shazeer et al. 2017),
* ``top_k=2`` with each expert choosing its rows ("expert choice",
  Zhou et al. 2022), which balances the training load by construction.

For each it prints the test :math:`R^2`, the fit time and how many training
rows each expert takes. To keep the run short, the models are trained on a
random subsample of 2000 training rows and stop after ten EM iterations.
The table
``california_housing.csv`` is read from the folder named by the
``SKMOE_DATA`` environment variable.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Load and prepare the data
# -------------------------
# The preparation is the one of the SVR example: drop rows with a missing
# value, log target, one-hot ``ocean_proximity``, a 75/25 split and
# standardised columns.
import os
import warnings
from pathlib import Path
from time import perf_counter

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skmoe import MixtureOfExpertsRegressor
from skmoe.gating import SoftmaxGate

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
subsample = np.random.default_rng(0).choice(X_train.shape[0], size=2000, replace=False)
X_train, y_train = X_train[subsample], y_train[subsample]

# %%
# Fit the four routings
# ---------------------
# The training load of an expert is the number of training rows among whose
# top two experts it is, read from the nonzero entries of ``gate_proba``.
common = dict(n_experts=6, max_iter=10, random_state=0)
models = {
    "dense": MixtureOfExpertsRegressor(**common),
    "top-2, token choice": MixtureOfExpertsRegressor(top_k=2, **common),
    "top-2, noise + balance": MixtureOfExpertsRegressor(
        top_k=2, gate=SoftmaxGate(noise=1.0, balance=0.1), **common
    ),
    "top-2, expert choice": MixtureOfExpertsRegressor(
        top_k=2, routing="expert_choice", **common
    ),
}

loads = {}
for name, model in models.items():
    start = perf_counter()
    with warnings.catch_warnings():
        # max_iter is kept small for the run time; some routings stop there.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    fit_seconds = perf_counter() - start
    routed = model.gate_proba(X_train) > 0
    loads[name] = routed.sum(axis=0)
    print(
        f"{name:>24}: test R2 = {model.score(X_test, y_test):.3f}, "
        f"fit time = {fit_seconds:5.2f} s, EM iterations = {model.n_iter_:3d}, "
        f"rows per expert = {loads[name].tolist()}"
    )

# %%
# Plot the load of each expert
# ----------------------------
# Under dense routing every expert gets a weight on every row. With top-2
# routing the rows are shared out, and the balance options make the
# shares more even. Prediction always routes a row by its own top two gate
# weights, so even the expert-choice model shows some imbalance here.
fig, ax = plt.subplots(figsize=(9, 4))
width = 0.2
positions = np.arange(6)
for offset, (name, load) in enumerate(loads.items()):
    ax.bar(positions + (offset - 1.5) * width, load, width, label=name)
ax.set_xticks(positions)
ax.set_xlabel("expert")
ax.set_ylabel("training rows routed to the expert")
ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.tight_layout()
plt.show()
