"""
==========================================
Local experts on the motorcycle crash data
==========================================

The motorcycle data (Silverman, 1985) record the head acceleration of a test
dummy against the time after a simulated crash. The curve is flat, dips
steeply, then oscillates, and the noise grows strongly after the impact. One
linear model with one noise level fits none of this. A mixture of linear
experts splits the time axis into regions, fits a line and a noise level in
each, and blends them where the regions meet.

This example fits a mixture of four linear experts and a single linear
expert, and draws both with
:class:`~skmoe.inspection.ExpertCurveDisplay`: each expert's line, the gate
weights, and the mixture mean with a band of two standard deviations.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Load the data and fit the two models
# ------------------------------------
# ``n_experts=1`` is ordinary least squares with one noise variance. The
# mixture restarts EM three times and keeps the run with the best
# log-likelihood.
import matplotlib.pyplot as plt

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import load_motorcycle
from skmoe.inspection import ExpertCurveDisplay

X, y = load_motorcycle(return_X_y=True)

one_expert = MixtureOfExpertsRegressor(n_experts=1, random_state=0).fit(X, y)
mixture = MixtureOfExpertsRegressor(n_experts=4, n_init=3, random_state=0).fit(X, y)

# %%
# Compare the fits
# ----------------
# The mean log-likelihood per row rewards a model whose noise band matches
# the spread of the data, which is where the mixture gains most; the
# :math:`R^2` only measures the mean curve.
for name, model in [("one expert", one_expert), ("4 experts", mixture)]:
    print(
        f"{name:>10}: R2 = {model.score(X, y):.3f}, "
        f"mean log-likelihood = {model.log_likelihood(X, y).mean():.3f}, "
        f"EM iterations = {model.n_iter_}"
    )

# %%
# The mixture's noise variances show the heteroscedasticity: the expert of
# the flat start has a far smaller variance than the experts of the
# oscillation.
for k, (expert, variance) in enumerate(zip(mixture.experts_, mixture.noise_variance_)):
    print(
        f"expert {k}: slope = {expert.coef_[0]:7.2f} g/ms, "
        f"noise std = {variance**0.5:5.1f} g, "
        f"share of the rows = {mixture.expert_weights_[k]:.2f}"
    )

# %%
# Plot both models
# ----------------
# Each display takes a column of two axes: the curves on top, the gate
# weights below. The single expert's gate weight is 1 everywhere.
labels = dict(xlabel="time after impact (ms)", ylabel="head acceleration (g)")
fig, axes = plt.subplots(
    2, 2, figsize=(11, 6), sharex=True, sharey="row", height_ratios=(3, 1),
    layout="constrained",
)
ExpertCurveDisplay.from_estimator(one_expert, X, y, ax=axes[:, 0], **labels)
axes[0, 0].set_title("One linear expert")
ExpertCurveDisplay.from_estimator(mixture, X, y, ax=axes[:, 1], **labels)
axes[0, 1].set_title("Mixture of 4 linear experts")
plt.show()
