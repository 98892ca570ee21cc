"""The house rules of monitord's layers, read from the source: who may import whom.

Every module under monitord/ is parsed, and each `import` / `from ... import` in it (at module
level, in functions, under TYPE_CHECKING: all of them) is an edge. Importing a submodule also
runs its packages' `__init__`, so a module has an edge to its parent package too. The rules are
checked on what a module pulls in transitively: importing any module of the HTTP side must not
load the agent (gRPC) side, even through a neutral module in between.

A breach names the import that crosses the line, with its file and line, and a chain from the
module that reached it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from tests.processes import child_env

PACKAGE = Path(__file__).resolve().parent.parent / "monitord"
ROOT = PACKAGE.parent


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    path: str  # relative to the repository root
    line: int
    in_function: bool

    def __str__(self) -> str:
        if self.line == 0:
            return f"{self.path}: {self.source} runs its package {self.target} first"
        return f"{self.path}:{self.line}: {self.source} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


class _ImportCollector(ast.NodeVisitor):
    """Every import of a monitord module in one file, resolved to module names."""

    def __init__(self, module: str, path: Path) -> None:
        self.module = module
        self.path = str(path.relative_to(ROOT))
        self.is_package = path.name == "__init__.py"
        self.imports: list[Import] = []
        self._function_depth = 0

    def _add(self, target: str, node: ast.stmt) -> None:
        if target == "monitord" or target.startswith("monitord."):
            self.imports.append(Import(self.module, target, self.path, node.lineno, self._function_depth > 0))

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._function_depth += 1
        self.generic_visit(node)
        self._function_depth -= 1

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # relative: resolved against this module's package
            package = self.module.split(".")
            package = package if self.is_package else package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, *([base] if base else [])])
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            self._add(submodule if submodule in MODULES else base, node)


def _collect_imports() -> dict[str, list[Import]]:
    edges: dict[str, list[Import]] = {}
    for module, path in MODULES.items():
        collector = _ImportCollector(module, path)
        collector.visit(ast.parse(path.read_text(), filename=str(path)))
        edges[module] = collector.imports
        if "." in module:  # running a submodule runs its package's __init__ first
            parent = module.rpartition(".")[0]
            edges[module].append(Import(module, parent, collector.path, 0, False))
    return edges


IMPORTS = _collect_imports()


def _matches(module: str, patterns: tuple[str, ...]) -> bool:
    """`pkg.*` matches the package and everything under it; a plain name matches that module only."""
    for pattern in patterns:
        if pattern.endswith(".*"):
            if module == pattern[:-2] or module.startswith(pattern[:-1]):
                return True
        elif module == pattern:
            return True
    return False


def _breaches(sources: tuple[str, ...], *, forbidden: tuple[str, ...] = (), allowed: tuple[str, ...] = ()) -> list[str]:
    """Imports by which a module matching `sources` reaches (transitively) a module it must not.

    With `forbidden`, those modules must not be reached; with `allowed`, nothing else may be. A
    line of the answer is the crossing import, and one chain that leads to it.
    """

    def crosses(module: str) -> bool:
        return _matches(module, forbidden) if forbidden else not _matches(module, allowed)

    found: dict[Import, str] = {}
    for start in (module for module in MODULES if _matches(module, sources)):
        reached_by: dict[str, Import | None] = {start: None}
        queue = deque([start])
        while queue:
            module = queue.popleft()
            for edge in IMPORTS.get(module, []):
                if crosses(edge.target):  # what lies beyond the line is that module's own business
                    found.setdefault(edge, " -> ".join([*_chain(reached_by, module), edge.target]))
                elif edge.target not in reached_by:
                    reached_by[edge.target] = edge
                    queue.append(edge.target)
    return [f"{edge}   [{chain}]" for edge, chain in sorted(found.items(), key=lambda item: str(item[0]))]


def _chain(reached_by: dict[str, Import | None], module: str) -> list[str]:
    """The modules from the start of a walk to `module`."""
    chain = [module]
    step = reached_by[module]
    while step is not None:
        chain.append(step.source)
        step = reached_by[step.source]
    return chain[::-1]


AGENT_SIDE = ("monitord.ingest.*", "monitord.grpc_transport", "monitord.proto.*")


def test_the_http_side_never_imports_the_agent_side() -> None:
    """HTTP reaches the agent (gRPC) side only through protocols that monitord/daemon.py fills."""
    breaches = _breaches(("monitord.http.*",), forbidden=AGENT_SIDE)
    assert not breaches, "\n".join(["the HTTP side imports the agent (gRPC) side:", *breaches])


def test_the_agent_side_never_imports_the_http_side() -> None:
    breaches = _breaches(("monitord.ingest.*", "monitord.grpc_transport"), forbidden=("monitord.http.*",))
    assert not breaches, "\n".join(["the agent (gRPC) side imports the HTTP side:", *breaches])


def test_alerting_reads_the_cache_and_storage_only() -> None:
    """The alert engine sees servers through the live cache (status comes from presence there)
    and keeps its state in storage: it never reaches into ingest, gRPC or HTTP (issue 15)."""
    breaches = _breaches(("monitord.alerts.*",), forbidden=(*AGENT_SIDE, "monitord.http.*", "monitord.daemon"))
    assert not breaches, "\n".join(["alerting imports beyond the cache and storage:", *breaches])


def test_storage_knows_models_and_config_only() -> None:
    """Storage is below everything: no HTTP, gRPC, cache, auth, push or telemetry."""
    breaches = _breaches(
        ("monitord.storage.*",),
        allowed=("monitord", "monitord.models", "monitord.config", "monitord.tomlconfig", "monitord.storage.*"),
    )
    assert not breaches, "\n".join(["storage imports beyond models and config:", *breaches])


def test_the_wire_models_are_a_leaf() -> None:
    """models imports nothing of monitord; wire (the REST and WebSocket shapes) only models."""
    breaches = _breaches(("monitord.wire", "monitord.models"), allowed=("monitord", "monitord.models", "monitord.wire"))
    breaches += _breaches(("monitord.models",), allowed=("monitord", "monitord.models"))
    assert not breaches, "\n".join(["the wire models import other modules:", *breaches])


# What the agent shares with the daemon: the sample model, the protocol and its transport, the
# log format, the TOML config helpers and the agent token format. Sharing more is a decision: add it here.
AGENT_MAY_IMPORT = (
    "monitord",
    "monitord.agent.*",
    "monitord.models",
    "monitord.proto.*",
    "monitord.grpc_transport",
    "monitord.logs",
    "monitord.tomlconfig",
    "monitord.token_format",
)


def test_the_agent_imports_nothing_of_the_daemon_side() -> None:
    breaches = _breaches(("monitord.agent.*",), allowed=AGENT_MAY_IMPORT)
    assert not breaches, "\n".join(["the agent imports the daemon side:", *breaches])


def test_nothing_imports_the_daemon_but_the_command_line_when_it_runs_it() -> None:
    """monitord/daemon.py wires everything together; only `python -m monitord` (cli.py) starts it,
    importing it when it runs the daemon, so other commands do not load the daemon's parts."""
    breaches = [
        str(edge)
        for edges in IMPORTS.values()
        for edge in edges
        if edge.target == "monitord.daemon" and not (edge.source == "monitord.cli" and edge.in_function)
    ]
    assert not breaches, "\n".join(["monitord.daemon imported outside cli.py's daemon entry point:", *breaches])


def test_the_rules_see_real_imports() -> None:
    """The reader itself: relative, lazy and `from package import submodule` forms resolve."""
    app = {edge.target for edge in IMPORTS["monitord.http.app"]}
    assert {"monitord.http.routes_metrics", "monitord.http.context", "monitord.http"} <= app
    assert any(edge.target == "monitord.daemon" and edge.in_function for edge in IMPORTS["monitord.cli"])
    assert "monitord.proto.monitord_pb2" in {edge.target for edge in IMPORTS["monitord.ingest.validation"]}


def test_importing_the_http_side_loads_nothing_of_the_agent_side() -> None:
    """The same rule at run time, in a fresh interpreter: what the static reader might miss."""
    script = (
        "import sys, monitord.http.app, monitord.http.serve\n"
        "print(sorted(m for m in sys.modules if m.startswith(('monitord.ingest', 'monitord.grpc_transport'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=child_env(), timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
