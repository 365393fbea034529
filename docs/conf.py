"""Sphinx configuration of the sklearn-gd documentation.

Build with ``bash .ci/docs`` from the repository root (strict: every warning
is an error). The API reference is generated from the numpydoc docstrings by
autodoc + numpydoc (the estimators' docstrings are assembled at import time,
so they must be read from the imported objects); Markdown pages are parsed by
MyST; the gallery runs ``examples/plot_*.py`` (see ``_ext/gallery.py``).
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import sklearn_gd  # noqa: E402  (the installed package: pip install -e ".[docs]")

project = "sklearn-gd"
author = "sklearn-gd developers"
copyright = "sklearn-gd developers"  # noqa: A001
release = sklearn_gd.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
templates_path = []

# Broken references to this project's own objects fail the build (nitpicky);
# references into scikit-learn, NumPy and SciPy cannot be resolved offline (no
# intersphinx inventories) and are rendered as plain names.
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(sklearn|numpy|scipy|matplotlib)(\..*)?")]

autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False



myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"sklearn-gd {release}"
html_static_path = []
html_show_sourcelink = False
