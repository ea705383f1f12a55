"""The modules import what docs/architecture.rst says, and no private names."""

import ast
import re
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
