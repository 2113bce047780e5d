"""Sphinx configuration of the skmoe documentation."""

# SPDX-License-Identifier: BSD-3-Clause

# Build the site from the repository root, with warnings as errors:
#
#     python -m sphinx -W --keep-going -b html docs docs/_build/html
#
# The gallery runs every examples/plot_*.py script. The scripts listed in
# _EXAMPLE_TABLES read a CSV table from the folder named by the SKMOE_DATA
# environment variable. Without that table they are shown but not run.

import os
import re
import warnings

# The examples fit small problems, on which parallel regions (Numba's
# threads, a multithreaded BLAS, OpenMP in HistGradientBoostingRegressor)
# spend more time synchronising threads than computing, most of all on a
# busy two-core CI machine. One thread each keeps the gallery run short.
# The libraries read these variables when they are first imported, so this
# comes before the imports. A value set by the caller is kept.
for _variable in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import matplotlib  # noqa: E402

import skmoe  # noqa: E402

matplotlib.use("Agg")

_EXAMPLE_TABLES = {
    "plot_california_svr": "california_housing.csv",
    "plot_top_k_routing": "california_housing.csv",
}


def _select_gallery_scripts():
    """Return the sphinx-gallery pattern of the example scripts to run."""
    data_folder = os.environ.get("SKMOE_DATA", "")
    missing = [
        re.escape(script)
        for script, table in sorted(_EXAMPLE_TABLES.items())
        if not os.path.isfile(os.path.join(data_folder, table))
    ]
    if not missing:
        return r"/plot_"
    return r"/(?!{})plot_".format("|".join(missing))


project = "skmoe"
author = "The skmoe developers"
copyright = "The skmoe developers"
release = skmoe.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # Reads the Markdown results pages that the benchmark scripts write.
    "myst_parser",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"

# One generated page per public object. numpydoc lists the methods itself, so
# autosummary's own member tables would duplicate them.
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# Links to other projects' documentation are written as plain URLs, because
# intersphinx downloads inventories at build time and the build runs offline.
# Methods inherited from scikit-learn (score, get_params, set_fit_request)
# keep their docstrings, whose :ref: and :term: roles point into
# scikit-learn's own site; _unlink_sklearn_roles turns them into plain text.
_SKLEARN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<[^`>]*>)?`")


def _unlink_sklearn_roles(app, what, name, obj, options, lines):
    """Replace scikit-learn's cross-reference roles by their text."""
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn."):
        return
    lines[:] = [_SKLEARN_ROLE.sub(r"\1", line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_sklearn_roles)

# Every example calls plt.show(), which warns under the non-interactive Agg
# backend; only that warning is silenced.
warnings.filterwarnings(
    "ignore",
    category=UserWarning,
    message="FigureCanvasAgg is non-interactive, and thus cannot be shown",
)

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run the plot_ scripts; other files in examples/ are only shown.
    "filename_pattern": _select_gallery_scripts(),
    "doc_module": ("skmoe",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skmoe": None},
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
    # An example that raises fails the build instead of rendering a traceback.
    "abort_on_example_error": True,
}

html_theme = "pydata_sphinx_theme"
html_title = f"skmoe {release}"
html_theme_options = {"show_toc_level": 2}
html_sidebars = {"index": [], "install": [], "benchmarks": [], "references": []}
