"""Small real datasets for mixtures of experts, shipped with skmoe."""

# SPDX-License-Identifier: BSD-3-Clause

from skmoe.datasets._base import load_motorcycle, load_tone

__all__ = ["load_motorcycle", "load_tone"]
