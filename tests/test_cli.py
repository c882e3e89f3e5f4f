"""threadtag.cli holds argument parsing only: each command's body imports from threadtag.app
and makes one call into it (the composition lives in app/, where it can be tested)."""

from __future__ import annotations

import ast
from pathlib import Path

import threadtag.cli
from threadtag.cli import app

CLI = Path(threadtag.cli.__file__).parent
COMMAND_MODULES = ("research.py", "annotate.py", "workers.py", "operations.py")


def _commands() -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for name in COMMAND_MODULES:
        tree = ast.parse((CLI / name).read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Name) and d.id == "command" for d in node.decorator_list
            ):
                found.append((name, node))
    return found


def _calls_into_app(node: ast.AST, app_names: set[str]) -> int:
    calls = 0
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            target = call.func
            root = target.value if isinstance(target, ast.Attribute) else target
            if isinstance(root, ast.Name) and root.id in app_names:
                calls += 1
    return calls


def test_every_registered_command_is_parsing_plus_one_call_into_app():
    commands = _commands()
    assert sorted(fn.name for _, fn in commands) == sorted(c.callback.__name__ for c in app.registered_commands)
    for module, fn in commands:
        body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        imports = [s for s in body if isinstance(s, ast.ImportFrom)]
        assert imports and all((s.module or "").startswith("threadtag.app") for s in imports), (module, fn.name)
        app_names = {alias.asname or alias.name for s in imports for alias in s.names}
        rest = [s for s in body if not isinstance(s, ast.ImportFrom)]
        assert sum(_calls_into_app(s, app_names) for s in rest) == 1, (module, fn.name)
        # Besides that call, at most an argument's default is filled in: no loops, no branches.
        assert all(isinstance(s, (ast.Expr, ast.Assign, ast.Raise)) for s in rest), (module, fn.name)
        assert len(rest) <= 2, (module, fn.name)
