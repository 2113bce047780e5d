"""
==============================
Choosing the number of experts
==============================

A mixture with more experts always fits its training rows at least as well,
so the number of experts is chosen by a criterion that charges for the extra
parameters, or on held-out rows. This example fits mixtures of one to six
linear experts to the motorcycle crash data and compares three choices:

* the Bayesian information criterion (``bic``), which charges
  :math:`\\log n` per parameter,
* the Akaike information criterion (``aic``), which charges 2 per parameter,
* the 3-fold cross-validated mean log-likelihood of held-out rows.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Fit the mixtures
# ----------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import KFold

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import load_motorcycle

X, y = load_motorcycle(return_X_y=True)
n_experts_range = np.arange(1, 7)
folds = KFold(n_splits=3, shuffle=True, random_state=0)


def held_out_log_likelihood(n_experts):
    """Average log p(y | x) of the held-out rows over the folds."""
    scores = []
    for train, test in folds.split(X):
        model = MixtureOfExpertsRegressor(n_experts=n_experts, random_state=0)
        model.fit(X[train], y[train])
        scores.append(model.log_likelihood(X[test], y[test]).mean())
    return np.mean(scores)


bic, aic, cv_score = [], [], []
for n_experts in n_experts_range:
    model = MixtureOfExpertsRegressor(n_experts=n_experts, n_init=2, random_state=0)
    model.fit(X, y)
    bic.append(model.bic(X, y))
    aic.append(model.aic(X, y))
    cv_score.append(held_out_log_likelihood(n_experts))
    print(
        f"n_experts={n_experts}: BIC = {bic[-1]:8.1f}, AIC = {aic[-1]:8.1f}, "
        f"held-out log-likelihood = {cv_score[-1]:.3f}"
    )

print("best by BIC:", n_experts_range[np.argmin(bic)])
print("best by AIC:", n_experts_range[np.argmin(aic)])
print("best by cross-validation:", n_experts_range[np.argmax(cv_score)])

# %%
# Plot the criteria
# -----------------
# BIC and AIC are minimised, the held-out log-likelihood is maximised. BIC's
# heavier charge usually picks fewer experts than AIC.
fig, (ax_ic, ax_cv) = plt.subplots(1, 2, figsize=(10, 4))
ax_ic.plot(n_experts_range, bic, marker="o", label="BIC")
ax_ic.plot(n_experts_range, aic, marker="s", label="AIC")
ax_ic.set_xlabel("n_experts")
ax_ic.set_ylabel("criterion (lower is better)")
ax_ic.legend()
ax_cv.plot(n_experts_range, cv_score, marker="o", color="tab:green")
ax_cv.set_xlabel("n_experts")
ax_cv.set_ylabel("held-out mean log-likelihood")
fig.tight_layout()
plt.show()
