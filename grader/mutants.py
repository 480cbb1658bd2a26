"""Mutation testing of the graded tests: small wrong versions of each task's solution code.

A *mutant* changes one thing inside a task's ``# BEGIN SOLUTION`` block (or one-line ``# SOLUTION``)
of a solution file. Operators, applied by walking the block's syntax tree (:mod:`ast`):

* ``binop``   arithmetic operator swaps (``+`` <-> ``-``, ``*`` <-> ``/``, ``//`` -> ``*``, ``**`` -> ``*``),
  ``@`` with its operands swapped;
* ``compare`` ``<`` <-> ``<=``, ``>`` <-> ``>=``, ``==`` <-> ``!=``, ``is`` <-> ``is not``, ``in`` <-> ``not in``;
* ``boolop``  ``and`` <-> ``or``; ``unary`` ``-x`` -> ``x``, ``not x`` -> ``x``;
* ``const``   a number n -> n + 1 (integers) or 2 n (floats, 0.0 -> 1.0), ``True`` <-> ``False``;
* ``return``  ``return x`` -> ``return 0 * (x)`` (the first element of a returned tuple);
* ``swap``    a call's first two positional arguments swapped (not for ``max``, ``min`` and the like).

Code inside ``raise`` statements and f-strings is left alone (messages, not behaviour).

Each mutant has a stable id, ``<function>:<operator detail>#<n>`` (n counts equal ids in the
function), so that :mod:`grader.equivalent_mutants` can list the mutants no test can kill, with
the reason. :func:`grader.selfcheck` runs each mutant's task tests on a copy of the solutions with
that one change (``pytest --tree COPY --task X -x``): a mutant is killed when a test fails.
"""
from __future__ import annotations

import ast
import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path

from grader import templates, tree
from grader.tasks import Task

BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
               ast.Pow: ast.Mult, ast.Mod: ast.FloorDiv}
COMPARE_SWAPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
BOOLOP_SWAPS = {ast.And: ast.Or, ast.Or: ast.And}
# swapping the arguments of these changes nothing: not worth a mutant
SYMMETRIC_CALLS = {"max", "min", "np.maximum", "np.minimum", "torch.maximum", "torch.minimum", "math.hypot",
                   "np.hypot"}


@dataclass(frozen=True)
class Mutant:
    """One change: replace ``[start, end)`` (1-based line, 0-based UTF-8 column) by ``replacement``."""

    task: str
    file: str  # relative to the solutions root, e.g. "phase1_cnn_detection/template_classifier.py"
    id: str
    line: int
    start: tuple[int, int]
    end: tuple[int, int]
    replacement: str
    description: str

    @property
    def sample_key(self) -> str:
        """Deterministic pseudo-random order for sampling (stable while the id is)."""
        return hashlib.sha1(f"{self.task}|{self.file}|{self.id}".encode()).hexdigest()


def _name(node: ast.AST) -> str:
    return type(node).__name__


def _segment(source_lines: list[bytes], node: ast.AST) -> str:
    first, last = node.lineno - 1, node.end_lineno - 1
    if first == last:
        return source_lines[first][node.col_offset:node.end_col_offset].decode("utf-8")
    parts = [source_lines[first][node.col_offset:]] + source_lines[first + 1:last] + [source_lines[last][:node.end_col_offset]]
    return b"\n".join(parts).decode("utf-8")


def _expression_mutations(node: ast.AST, lines: list[bytes]) -> list[tuple[str, str, str]]:
    """(operator detail, replacement text, description) for one expression node."""
    found = []
    if isinstance(node, ast.BinOp):
        if type(node.op) in BINOP_SWAPS:
            new = copy.deepcopy(node)
            new.op = BINOP_SWAPS[type(node.op)]()
            detail = f"binop {_name(node.op)}->{_name(new.op)}"
            found.append((detail, f"({ast.unparse(new)})", detail))
        elif isinstance(node.op, ast.MatMult):
            found.append(("binop MatMult-swapped", f"(({_segment(lines, node.right)}) @ ({_segment(lines, node.left)}))",
                          "a @ b -> b @ a"))
    elif isinstance(node, ast.Compare):
        for index, op in enumerate(node.ops):
            if type(op) in COMPARE_SWAPS:
                new = copy.deepcopy(node)
                new.ops[index] = COMPARE_SWAPS[type(op)]()
                detail = f"compare {_name(op)}->{_name(new.ops[index])}"
                found.append((detail, f"({ast.unparse(new)})", detail))
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = BOOLOP_SWAPS[type(node.op)]()
        detail = f"boolop {_name(node.op)}->{_name(new.op)}"
        found.append((detail, f"({ast.unparse(new)})", detail))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        detail = f"unary drop-{_name(node.op)}"
        found.append((detail, f"({_segment(lines, node.operand)})", detail))
    elif isinstance(node, ast.Constant) and not isinstance(node.value, str) and node.value is not None:
        value = node.value
        if isinstance(value, bool):
            new_value = not value
        elif isinstance(value, int):
            new_value = value + 1
        elif isinstance(value, float):
            new_value = 2 * value if value != 0 else 1.0
        else:
            return found
        detail = f"const {value!r}->{new_value!r}"
        found.append((detail, f"({new_value!r})", detail))
    elif isinstance(node, ast.Call):
        positional = [a for a in node.args]
        symmetric = ast.unparse(node.func) in SYMMETRIC_CALLS
        same = len(positional) >= 2 and ast.dump(positional[0]) == ast.dump(positional[1])
        if len(positional) >= 2 and not symmetric and not same and not any(isinstance(a, ast.Starred) for a in positional[:2]):
            new = copy.deepcopy(node)
            new.args[0], new.args[1] = new.args[1], new.args[0]
            callee = ast.unparse(node.func)
            detail = f"swap {callee}"
            found.append((detail, f"({ast.unparse(new)})", f"{callee}(a, b, ...) -> {callee}(b, a, ...)"))
    return found


def mutants_of_source(source: str, relative: str, tasks: dict[str, Task] | None = None) -> list[Mutant]:
    """Every mutant of one solution file's SOLUTION blocks."""
    blocks = templates.find_blocks(source, relative)
    if not blocks:
        return []
    module = ast.parse(source)
    lines = source.encode("utf-8").split(b"\n")
    mutants: list[Mutant] = []
    counts: dict[str, int] = {}

    def block_of(node) -> templates.SolutionBlock | None:
        for block in blocks:
            if block.start <= node.lineno and node.end_lineno <= block.end:
                return block
        return None

    def add(task: str, qualname: str, detail: str, node: ast.AST, replacement: str, description: str) -> None:
        key = f"{qualname}:{detail}"
        number = counts.get(key, 0)
        counts[key] = number + 1
        mutants.append(Mutant(task=task, file=relative, id=f"{key}#{number}", line=node.lineno,
                              start=(node.lineno, node.col_offset), end=(node.end_lineno, node.end_col_offset),
                              replacement=replacement, description=f"line {node.lineno}: {description}"))

    def visit(node: ast.AST, qualname: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Raise, ast.JoinedStr)):
                continue
            name = qualname
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{qualname}.{child.name}" if qualname else child.name
            elif hasattr(child, "lineno") and hasattr(child, "end_lineno"):
                block = block_of(child)
                if block is not None:
                    if isinstance(child, ast.Return) and child.value is not None and not (
                            isinstance(child.value, ast.Constant) and child.value.value is None):
                        target = child.value.elts[0] if isinstance(child.value, ast.Tuple) and child.value.elts else child.value
                        add(block.task, qualname or "<module>", "return zero", target,
                            f"0 * ({_segment(lines, target)})", "return x -> return 0 * (x)")
                    if isinstance(child, ast.expr):
                        for detail, replacement, description in _expression_mutations(child, lines):
                            add(block.task, qualname or "<module>", detail, child, replacement, description)
            visit(child, name)

    visit(module, "")
    return mutants


def apply(source: str, mutant: Mutant) -> str:
    """The source with one mutant applied (columns are UTF-8 byte offsets, as in :mod:`ast`)."""
    lines = source.encode("utf-8").split(b"\n")
    (first, start_col), (last, end_col) = mutant.start, mutant.end
    before = lines[first - 1][:start_col]
    after = lines[last - 1][end_col:]
    new_line = before + mutant.replacement.encode("utf-8") + after
    return b"\n".join(lines[:first - 1] + [new_line] + lines[last:]).decode("utf-8")


def all_mutants(tasks: dict[str, Task]) -> dict[str, list[Mutant]]:
    """Task id -> its mutants (every SOLUTION block of every solution file), in file order."""
    by_task: dict[str, list[Mutant]] = {task_id: [] for task_id in tasks}
    for relative in templates.solution_files():
        if relative.suffix != ".py":
            continue
        source = (tree.SOLUTIONS_ROOT / relative).read_text(encoding="utf-8")
        for mutant in mutants_of_source(source, relative.as_posix(), tasks):
            by_task.setdefault(mutant.task, []).append(mutant)
    return by_task


def sample(mutants: list[Mutant], count: int | None) -> list[Mutant]:
    """A deterministic sample of ``count`` mutants (all of them when count is None)."""
    if count is None or count >= len(mutants):
        return list(mutants)
    return sorted(sorted(mutants, key=lambda m: m.sample_key)[:count], key=lambda m: (m.file, m.start))


def mutated_tree(mutant: Mutant, folder: Path) -> Path:
    """A copy of the solutions in ``folder`` with the one mutant applied."""
    import shutil

    for phase in tree.PHASES:
        shutil.copytree(tree.SOLUTIONS_ROOT / phase, folder / phase, ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / mutant.file
    path.write_text(apply(path.read_text(encoding="utf-8"), mutant), encoding="utf-8")
    return folder
