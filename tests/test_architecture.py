"""The modules import what docs/architecture.rst says, and no private names."""

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sknormnet"
MODULES = sorted(path.stem for path in PACKAGE.glob("*.py"))


def _documented_imports():
    """``{module: set of sibling modules}`` from the page's table of modules."""
    text = (ROOT / "docs" / "architecture.rst").read_text()
    table = text.split(".. list-table::", 1)[1].split("\n\n\n", 1)[0]
    table = re.split(r"\n\s*Public modules", table)[0]
    documented = {}
    for row in re.split(r"\n   \* - ", table)[2:]:  # options, then the header
        cells = re.split(r"\n     - ", row)
        module = re.fullmatch(r"``(\w+)``", cells[0].strip()).group(1)
        documented[module] = set(re.findall(r"``(\w+)``", cells[2]))
    return documented


def _imports(module):
    """Siblings ``module`` imports, and the underscore names it takes from
    them."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    siblings, private_names = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sknormnet":
                    siblings.add(alias.name.partition(".")[2] or "__init__")
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 1:
            target = node.module or "__init__"
        elif node.module and node.module.split(".")[0] == "sknormnet":
            target = node.module.partition(".")[2] or "__init__"
        else:
            continue
        siblings.add(target)
        private_names += [
            f"{target}.{alias.name}"
            for alias in node.names
            if alias.name.startswith("_") and not alias.name.startswith("__")
        ]
    return siblings, private_names


def test_the_table_lists_every_module():
    assert sorted(_documented_imports()) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_the_siblings_the_page_lists(module):
    siblings, _ = _imports(module)
    assert siblings == _documented_imports()[module], (
        f"sknormnet/{module}.py imports {sorted(siblings)}; update the table in "
        "docs/architecture.rst or the imports"
    )


@pytest.mark.parametrize("module", MODULES)
def test_no_module_imports_a_siblings_private_names(module):
    _, private_names = _imports(module)
    assert not private_names


# What the package may take from scikit-learn beyond its public API: the base
# class of searches and the helpers every estimator of scikit-learn's own uses.
ALLOWED_PRIVATE_SKLEARN = {
    ("sklearn.model_selection._search", "BaseSearchCV"),
    ("sklearn.utils._param_validation", "Interval"),
    ("sklearn.utils._param_validation", "StrOptions"),
    ("sklearn.utils._param_validation", "RealNotInt"),
    ("sklearn.utils._param_validation", "validate_params"),
    ("sklearn.utils._param_validation", "InvalidParameterError"),
    ("sklearn.base", "_fit_context"),
    ("sklearn.utils.validation", "_check_sample_weight"),
}
# The callback mixin's entry point, which an estimator with callbacks calls.
ALLOWED_PRIVATE_METHODS = {"_init_callback_context"}


def _is_private(dotted):
    return any(
        part.startswith("_") and not part.startswith("__") for part in dotted.split(".")
    )


def _private_sklearn_names(module):
    """``(module, name)`` of every private scikit-learn name ``module``
    imports or reaches by attribute, and every private module it imports."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "sklearn"
        ):
            for alias in node.names:
                if _is_private(node.module) or _is_private(alias.name):
                    found.append((node.module, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sklearn") and _is_private(alias.name):
                    found.append((alias.name, ""))
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id == "sklearn":
                found.append(("sklearn", node.attr))
    return found


@pytest.mark.parametrize("module", MODULES)
def test_a_module_takes_only_public_sklearn_names_and_the_allowed_few(module):
    taken = set(_private_sklearn_names(module)) - ALLOWED_PRIVATE_SKLEARN
    assert not taken, f"sknormnet/{module}.py takes {sorted(taken)} from scikit-learn"


def _private_methods_of_base_search():
    from sklearn.model_selection._search import BaseSearchCV

    return {
        name
        for name, value in vars(BaseSearchCV).items()
        if name.startswith("_")
        and not name.startswith("__")
        and callable(getattr(value, "__func__", value))
    } - ALLOWED_PRIVATE_METHODS


@pytest.mark.parametrize("module", MODULES)
def test_no_module_calls_a_private_method_of_base_search_cv(module):
    methods = _private_methods_of_base_search()
    assert {"_format_results", "_get_scorers", "_run_search"} <= methods
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    calls = [
        f"line {node.lineno}: {node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in methods
    ]
    assert not calls, f"sknormnet/{module}.py calls {calls}"


def test_the_checks_of_private_names_catch_what_they_look_for(tmp_path, monkeypatch):
    # the two checks above, run on a module that breaks both rules
    (tmp_path / "forked.py").write_text(
        "from sklearn.model_selection._validation import _fit_and_score\n"
        "import sklearn.metrics._scorer\n"
        "from sklearn.utils._param_validation import Interval\n"
        "def fit(search):\n"
        "    return search._format_results([], 1, [])\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path)
    assert sorted(_private_sklearn_names("forked")) == [
        ("sklearn.metrics._scorer", ""),
        ("sklearn.model_selection._validation", "_fit_and_score"),
        ("sklearn.utils._param_validation", "Interval"),
    ]
    with pytest.raises(AssertionError, match="_format_results"):
        test_no_module_calls_a_private_method_of_base_search_cv("forked")
