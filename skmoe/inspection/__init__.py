"""Displays and summaries for inspecting fitted mixtures of experts.

matplotlib is imported only when a display draws, so this module imports
without it.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skmoe.inspection._convergence import ConvergenceDisplay
from skmoe.inspection._expert_curve import ExpertCurveDisplay
from skmoe.inspection._gate_region import GateRegionDisplay
from skmoe.inspection._summary import summarize

__all__ = [
    "ConvergenceDisplay",
    "ExpertCurveDisplay",
    "GateRegionDisplay",
    "summarize",
]
