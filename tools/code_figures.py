"""Code figures for a closing note: how big, how long, how tangled.

    python3 tools/code_figures.py [root]

Reads the project's own Python files (not tests/, .venv/, bench/, tools/)
with ast only (nothing is imported) and prints:

- the largest file (lines);
- the longest function (lines from `def` to its last line, nested ones too);
- imports of the project's own modules placed inside a function, and in how
  many files;
- import cycles among own modules (strongly connected groups of two or more
  modules): once over module-level imports only, once with the function-level
  imports added. Imports under `if TYPE_CHECKING:` are left out (they never run).

An import edge goes to the deepest own module named (``from web.deps import x``
is web.deps; ``from web import deps`` is web.deps when that module exists).
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

EXCLUDED_DIRS = {"tests", ".venv", "bench", "tools", "node_modules", ".git", "build", "dist"}


def python_files(root: Path) -> list[Path]:
    files = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(part in EXCLUDED_DIRS or part.startswith(".") for part in parts[:-1]):
            continue
        files.append(path)
    return files


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def own_target(name: str, modules: set[str]) -> str | None:
    """The deepest own module that `name` (a dotted path) names, if any."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.Module, package: str) -> list[tuple[list[str], bool, int]]:
    """(dotted names imported, inside a function?, line) for each import statement."""
    found: list[tuple[list[str], bool, int]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for orelse in child.orelse:
                    visit(orelse, in_function)
                continue
            if isinstance(child, ast.Import):
                found.append(([alias.name for alias in child.names], in_function, child.lineno))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [base] + [f"{base}.{alias.name}" for alias in child.names]
                found.append((names, in_function, child.lineno))
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(tree, False)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of two or more modules (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups, key=lambda g: (-len(g), g))


@dataclass(frozen=True)
class Figures:
    largest_file: tuple[str, int]  # path, lines
    longest_function: tuple[str, int]  # "path:line name", lines
    imports_in_functions: list[str]  # "path:line" of each
    cycles_module_level: list[list[str]]
    cycles_with_function_imports: list[list[str]]


def figures(root: Path) -> Figures:
    files = python_files(root)
    trees = {path: ast.parse(path.read_text(encoding="utf-8"), str(path)) for path in files}
    modules = {module_name(root, path): path for path in files}
    names = set(modules)

    largest = max(files, key=lambda p: len(p.read_text(encoding="utf-8").splitlines()))
    longest = ("", 0)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > longest[1]:
                    where = f"{path.relative_to(root)}:{node.lineno} {node.name}"
                    longest = (where, length)

    module_graph: dict[str, set[str]] = {name: set() for name in names}
    full_graph: dict[str, set[str]] = {name: set() for name in names}
    inside: list[str] = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for dotted, in_function, line in imports(trees[path], package):
            targets = {t for t in (own_target(d, names) for d in dotted) if t and t != name}
            if not targets:
                continue
            if in_function:
                inside.append(f"{path.relative_to(root)}:{line}")
            else:
                module_graph[name] |= targets
            full_graph[name] |= targets

    return Figures(
        largest_file=(str(largest.relative_to(root)),
                      len(largest.read_text(encoding="utf-8").splitlines())),
        longest_function=longest,
        imports_in_functions=inside,
        cycles_module_level=cycles(module_graph),
        cycles_with_function_imports=cycles(full_graph),
    )


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parent.parent)
    result = figures(root)
    print(f"largest file: {result.largest_file[0]} ({result.largest_file[1]} lines)")
    print(f"longest function: {result.longest_function[0]} "
          f"({result.longest_function[1]} lines)")
    sites = result.imports_in_functions
    print(f"own-module imports inside functions: {len(sites)}"
          f" in {len({site.split(':')[0] for site in sites})} files")
    for site in sites:
        print(f"  {site}")
    for label, groups in (("module level", result.cycles_module_level),
                          ("with function-level imports", result.cycles_with_function_imports)):
        print(f"import cycles, {label}: {len(groups)}"
              f" (modules in them: {sum(len(g) for g in groups)})")
        for group in groups:
            print(f"  {len(group)}: {', '.join(group)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
