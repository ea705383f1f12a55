"""Sphinx configuration of the sknormnet documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``.

Links to the NumPy, SciPy and scikit-learn documentation come from their
intersphinx inventories, which are downloaded at build time. An inventory that
cannot be downloaded (no network, a site down) is reported as a message and its
links are left as plain text; the build still passes, under ``-W`` too.

``-D plot_gallery=0`` builds the gallery pages without running the examples.
"""

import logging
import re

from docutils.utils import get_source_line
from sphinx.ext.intersphinx import inventory_exists

import sknormnet

# -- Project -------------------------------------------------------------------

project = "sknormnet"
author = "The sknormnet developers"
copyright = "The sknormnet developers"
release = sknormnet.__version__
version = ".".join(release.split(".")[:2])

# -- General -------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]
default_role = "literal"
# A ``:class:`~sknormnet.X``` role is resolved against the whole package.
default_domain = "py"

# -- API reference -------------------------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
# The class template lists the members itself; numpydoc would list them again.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# -- Links to other projects ---------------------------------------------------

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "pandas": ("https://pandas.pydata.org/docs", None),
    "matplotlib": ("https://matplotlib.org/stable", None),
    "joblib": ("https://joblib.readthedocs.io/en/stable", None),
}
# The inventories are fetched in parallel: a host that does not answer costs
# the build this many seconds once.
intersphinx_timeout = 5


def _inventory_failure_as_message(record):
    """Log an inventory that cannot be downloaded as a message, not a warning.

    Sphinx 9 logs that failure as a warning without a type, which
    ``suppress_warnings`` cannot name and ``-W`` turns into an error. The text
    stays in the build log.
    """
    if record.levelno == logging.WARNING and str(record.msg).startswith(
        "failed to reach any of the inventories"
    ):
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True


# -- Gallery -------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("sknormnet",),
    "backreferences_dir": "gen_modules/backreferences",
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    "download_all_examples": False,
    "matplotlib_animations": False,
    "show_memory": False,
}

# -- HTML ----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"sknormnet {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}
html_show_sourcelink = False
html_static_path = []


# -- Docstrings ----------------------------------------------------------------

# A bare ``coefs_`` or ``n_features_in_`` in a docstring would be a reST
# reference to a target of that name; show such names as literals instead.
_BARE_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w:.~<|*])([A-Za-z]\w*_)(?![\w`])")


def _quote_attribute_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if line.lstrip().startswith(".."):
            continue
        lines[i] = _BARE_TRAILING_UNDERSCORE.sub(r"``\1``", line)


def _leave_foreign_terms_unlinked(app, env, node, contnode):
    """Leave scikit-learn's cross-references as text when offline.

    The docstrings inherited from scikit-learn, and ours that mention its
    glossary, refer to labels and terms of the scikit-learn documentation;
    without its inventory they cannot be linked, which is no error here. A
    ``:ref:`` in one of our own pages is still reported when it is broken.
    """
    if inventory_exists(env, "sklearn"):
        return None
    if node.get("refdomain") != "std":
        return None
    reftype = node.get("reftype")
    source, _ = get_source_line(node)
    from_docstring = "docstring of " in (source or "")
    if reftype == "term" or (reftype == "ref" and from_docstring):
        return contnode
    return None


def setup(app):
    # Sphinx names its loggers "sphinx." + the module's name, here that of the
    # intersphinx extension.
    logging.getLogger("sphinx.sphinx.ext.intersphinx").addFilter(
        _inventory_failure_as_message
    )
    app.connect("autodoc-process-docstring", _quote_attribute_names)
    app.connect("missing-reference", _leave_foreign_terms_unlinked)
