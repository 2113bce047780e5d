"""Gates: models of the expert weights g_k(x) of a mixture of experts."""

# SPDX-License-Identifier: BSD-3-Clause

from skmoe.gating._base import BaseGate
from skmoe.gating._cluster import ClusterGate
from skmoe.gating._gaussian import GaussianGate
from skmoe.gating._softmax import SoftmaxGate

__all__ = ["BaseGate", "ClusterGate", "GaussianGate", "SoftmaxGate"]
