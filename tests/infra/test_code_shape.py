"""The size limits of the developers' guide, held by a test: no module of app code over 600
lines, no function or method over 50 (from its `def` line to its last line, decorators not
counted). Migrations, tests and benchmarks are not app code."""

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "accounts",
    "contacts",
    "deals",
    "followups",
    "people",
    "forecasting",
    "demo",
    "pipeline_crm",
)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 50


def app_modules() -> Iterator[Path]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                yield path


def functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.AST]]:
    """(qualified name, node) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{node.name}"
            yield name, node
            yield from functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, f"{prefix}{node.name}.")
        else:
            yield from functions(node, prefix)


def function_lines(node: ast.AST) -> int:
    # A function's lineno is its `def` line, after any decorators.
    return node.end_lineno - node.lineno + 1


def sizes_over_the_limits() -> dict[str, int]:
    """{"path" or "path::function": lines} for each module and function over its limit."""
    found = {}
    for path in app_modules():
        name = str(path.relative_to(ROOT))
        source = path.read_text()
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            found[name] = lines
        for qualname, node in functions(ast.parse(source)):
            size = function_lines(node)
            if size > MAX_FUNCTION_LINES:
                found[f"{name}::{qualname}"] = max(size, found.get(f"{name}::{qualname}", 0))
    return found


def test_no_module_or_function_of_app_code_outgrows_the_size_limits():
    assert sizes_over_the_limits() == {}, (
        f"Modules may have {MAX_MODULE_LINES} lines, functions {MAX_FUNCTION_LINES} (def line to "
        "last line): split these into smaller, well-named pieces."
    )


def test_the_size_check_reads_every_app_and_counts_from_the_def_line():
    measured = {path.relative_to(ROOT).parts[0] for path in app_modules()}
    source = textwrap.dedent(
        """
        @decorator
        @another(1)
        def f(
            a,
        ):
            return a


        class C:
            def m(self):
                def inner():
                    pass
        """
    )

    sizes = {name: function_lines(node) for name, node in functions(ast.parse(source))}

    assert measured == set(APPS)
    assert not any("migrations" in path.parts for path in app_modules())
    assert sizes == {"f": 4, "C.m": 3, "C.m.inner": 2}
