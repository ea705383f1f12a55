"""Sphinx configuration of the sknormnet documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``.

Links to the NumPy, SciPy and scikit-learn documentation come from their
intersphinx inventories, which are downloaded at build time. Without a network
the build still passes, with those links left as plain text:

- ``SKNORMNET_DOCS_OFFLINE=1`` never tries to download them;
- ``SKNORMNET_DOCS_OFFLINE=0`` always tries, so that a failed download is an
  error under ``-W``;
- unset, each inventory's host is tried first with a short time-out and only
  the reachable ones are used.

``-D plot_gallery=0`` builds the gallery pages without running the examples.
"""

import os
import re
import socket
from urllib.parse import urlsplit

from docutils.utils import get_source_line

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

_INVENTORIES = {
    "python": "https://docs.python.org/3",
    "numpy": "https://numpy.org/doc/stable",
    "scipy": "https://docs.scipy.org/doc/scipy",
    "sklearn": "https://scikit-learn.org/stable",
    "pandas": "https://pandas.pydata.org/docs",
    "matplotlib": "https://matplotlib.org/stable",
    "joblib": "https://joblib.readthedocs.io/en/stable",
}


def _reachable(url, timeout=2.0):
    """Whether a TCP connection to the host of ``url`` opens within ``timeout``."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 443), timeout):
            return True
    except OSError:
        return False


def _intersphinx_mapping():
    mode = os.environ.get("SKNORMNET_DOCS_OFFLINE", "").strip()
    if mode not in ("", "0", "1"):
        raise ValueError(
            f"SKNORMNET_DOCS_OFFLINE={mode!r} must be 1 (no links to other "
            "projects), 0 (always download their inventories) or unset (use the "
            "reachable ones)."
        )
    if mode == "1":
        return {}
    urls = _INVENTORIES.items()
    if mode == "":
        urls = [(name, url) for name, url in urls if _reachable(url)]
    return {name: (url, None) for name, url in urls}


intersphinx_mapping = _intersphinx_mapping()
intersphinx_timeout = 10

# -- Gallery -------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("sknormnet",),
    "reference_url": {"sknormnet": None},
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
    if "sklearn" in app.config.intersphinx_mapping:
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
    app.connect("autodoc-process-docstring", _quote_attribute_names)
    app.connect("missing-reference", _leave_foreign_terms_unlinked)
