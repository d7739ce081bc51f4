"""The layers hold: every import of our own code is at the top of its module, where the import
contract of pyproject.toml (run by `make lint` and `make test`) sees it. A function-local import
would hide an upward edge from it; only the app factory wires the layers together."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OURS = ("crm", "reports")


def _local_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if path == ROOT / "crm/__init__.py" and function.name == "create_app":
            continue
        for node in ast.walk(function):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {name}"
                for name in names
                if name.split(".")[0] in OURS
            ]
    return found


def test_no_function_imports_our_own_code():
    modules = [*ROOT.glob("crm/**/*.py"), *ROOT.glob("reports/**/*.py")]
    assert len(modules) > 50
    assert [hit for path in modules for hit in _local_imports(path)] == []


def test_the_check_sees_a_function_local_import(monkeypatch):
    # The walker itself must find what it looks for, or the test above proves nothing.
    probe = ROOT / "crm" / "core" / "_layer_probe.py"
    monkeypatch.setattr(
        Path, "read_text", lambda self, *a, **k: "def f():\n    from crm.leads.models import Lead\n"
    )
    assert _local_imports(probe) == ["crm/core/_layer_probe.py:2 crm.leads.models"]
