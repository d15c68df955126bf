"""The package's two wings: the core at the top, the admin on top of it."""

from __future__ import annotations

import ast
from pathlib import Path
from unittest import TestCase

PACKAGE = Path(__file__).resolve().parent.parent / "cargotime"
# What people see, and the template tags Django looks for at the app's top.
PRESENTATION = ("admin", "templatetags")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Return the cargotime modules *path* imports, at the top or in a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] == "cargotime"}


def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in PACKAGE.rglob("*.py")
        if "migrations" not in path.parts
    }


class LayoutTests(TestCase):
    def test_the_core_never_imports_the_admin(self) -> None:
        core = {
            name: path
            for name, path in modules().items()
            if name.split(".")[1:2] not in [[wing] for wing in PRESENTATION]
        }
        assert "cargotime.domain" in core
        assert "cargotime.apps" in core
        assert "cargotime.admin.views" not in core
        offending = {
            name: sorted(found)
            for name, path in core.items()
            if (
                found := {
                    module
                    for module in imported(path)
                    if module == "cargotime.admin"
                    or module.startswith("cargotime.admin.")
                }
            )
        }
        assert offending == {}

    def test_no_module_imports_itself_round_a_circle(self) -> None:
        known = modules()
        graph = {
            name: {module for module in imported(path) if module in known} - {name}
            for name, path in known.items()
        }
        # A package's __init__ may import its own modules: that is no circle.
        for name in graph:
            graph[name] = {
                module
                for module in graph[name]
                if not (known[name].name == "__init__.py" and module.startswith(name))
            }
        visiting: list[str] = []
        done: set[str] = set()

        def visit(name: str) -> None:
            if name in done:
                return
            assert name not in visiting, " → ".join([*visiting, name])
            visiting.append(name)
            for module in graph[name]:
                visit(module)
            visiting.pop()
            done.add(name)

        for name in sorted(graph):
            visit(name)

    def test_the_admin_wing_holds_what_people_see(self) -> None:
        admin = {path.name for path in (PACKAGE / "admin").glob("*.py")}
        assert admin == {
            "__init__.py",
            "display.py",
            "fleet.py",
            "forbidden.py",
            "forms.py",
            "fragments.py",
            "instants.py",
            "json_state.py",
            "picker.py",
            "timeline.py",
            "views.py",
            "visits.py",
        }
