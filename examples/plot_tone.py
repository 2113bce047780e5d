"""
================================================
Two regression lines in the tone perception data
================================================

In the tone perception experiment (Cohen, 1980), a trained musician tuned a
tone to one octave above a fundamental whose overtones were stretched by a
ratio between 1.35 and 3. Most tunings stay near the ratio 2, the musical
octave. The others follow the stretched overtones, near the line
``tuned = stretchratio``. The data are the textbook mixture of two linear
regressions (de Veaux, 1989).

Both lines cover the whole range of the input, so no gate on ``x`` can
separate them: the gate learns roughly constant weights, and the experts
separate the rows by their residuals. A mixture of two linear experts should
recover one line with slope near 0 and intercept near 2, and one with slope
near 1 and intercept near 0.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Fit two linear experts
# ----------------------
import matplotlib.pyplot as plt
import numpy as np

from skmoe import MixtureOfExpertsRegressor
from skmoe.datasets import load_tone

X, y = load_tone(return_X_y=True)
moe = MixtureOfExpertsRegressor(n_experts=2, n_init=5, random_state=0).fit(X, y)

print(f"converged: {moe.converged_} after {moe.n_iter_} iterations")
for k, expert in enumerate(moe.experts_):
    print(
        f"expert {k}: tuned = {expert.intercept_:.3f} + {expert.coef_[0]:.3f} * ratio, "
        f"noise std = {np.sqrt(moe.noise_variance_[k]):.3f}, "
        f"share of the rows = {moe.expert_weights_[k]:.2f}"
    )

# %%
# Plot the lines
# --------------
# Each point is coloured by the expert with the larger responsibility for it,
# the posterior probability that the expert generated the point.
# ``predict_experts`` gives each expert's line, and the responsibility is
# proportional to the gate weight times the expert's Gaussian density.
expert_predictions = moe.predict_experts(X)
log_density = -0.5 * (y[:, None] - expert_predictions) ** 2 / moe.noise_variance_
log_density -= 0.5 * np.log(moe.noise_variance_)
responsibility_rank = np.argmax(np.log(moe.gate_proba(X)) + log_density, axis=1)

grid = np.linspace(X.min(), X.max(), 50).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(6, 5))
for k, color in enumerate(["tab:blue", "tab:orange"]):
    rows = responsibility_rank == k
    ax.scatter(X[rows, 0], y[rows], s=14, color=color, alpha=0.7)
    ax.plot(grid[:, 0], moe.experts_[k].predict(grid), color=color, label=f"expert {k}")
ax.set_xlabel("stretch ratio")
ax.set_ylabel("tuned ratio")
ax.legend()
plt.show()
