"""The package's structure: imports flow one way, no private name crosses a module."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "servqual"


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        if "templates" in path.parts:  # notebooks, not package modules
            continue
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        yield name, path, ast.parse(path.read_text(), str(path))


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports():
    """(importer, imported module, names) for every servqual-internal import, at any depth."""
    for module, path, tree in _modules():
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _resolve(module, node, is_package)
                if target.startswith("servqual"):
                    # a private alias ("import x as _x") reads as a private name too
                    names = [a.asname if a.asname and a.asname.startswith("_") else a.name for a in node.names]
                    # `from . import x` imports the submodule x
                    if target == "servqual" and module != "servqual":
                        for n in names:
                            yield module, f"servqual.{n}", []
                    else:
                        yield module, target, names
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("servqual"):
                        yield module, alias.name, []


# the faces sit on top: nothing below imports them
FACES = {"servqual.widgets", "servqual.report", "servqual.cli"}


def test_no_import_cycles():
    graph: dict[str, set[str]] = {}
    for importer, target, _ in _imports():
        if importer == "servqual" or target == importer:
            continue
        graph.setdefault(importer, set()).add(target)
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, stack + [nxt]):
                return True
        state[node] = 2
        return False

    for node in sorted(graph):
        if state.get(node) is None and visit(node, [node]):
            break
    assert not cycle, " → ".join(cycle)


def test_no_private_name_crosses_a_module():
    bad = [f"{importer} imports {name} from {target}"
           for importer, target, names in _imports() for name in names
           if name.startswith("_") and not name.startswith("__") and target != importer]
    assert not bad, bad


def test_no_private_attribute_of_another_module():
    """`module._name` and `obj._private` reached from outside their module."""
    bad = []
    modules = {m.rsplit(".", 1)[-1] for m, _, _ in _modules()}
    for module, _path, tree in _modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and isinstance(node.value, ast.Name) and node.value.id in modules | {"survey"}
                    and node.value.id != module.rsplit(".", 1)[-1]):
                bad.append(f"{module}: {node.value.id}.{node.attr} (line {node.lineno})")
    assert not bad, bad


def test_lower_layers_never_import_a_face():
    bad = [f"{importer} imports {target}" for importer, target, _ in _imports()
           if target in FACES and importer not in FACES and importer != "servqual"]
    assert not bad, bad


def test_every_public_function_documents_an_example():
    """pingouin's habit: every public function shows a runnable Example (run as doctests)."""
    import inspect

    import servqual as sq
    from servqual import linkage, plots, questionnaire

    public = [getattr(sq, name) for name in sq.__all__]
    public += [getattr(plots, n) for n in dir(plots) if n.startswith("plot_")] + [plots.alt_text]
    public += [linkage.aggregation, linkage.link, linkage.staff_scores, questionnaire.questionnaire,
               questionnaire.entry_template]
    missing = [f.__name__ for f in public if inspect.isfunction(f) and "Examples\n" not in (f.__doc__ or "")]
    assert not missing, missing


def test_docstrings_cite_the_projects_own_methods_file():
    for path in PACKAGE.rglob("*.py"):
        assert "DESIGN.md" not in path.read_text(), path
    assert (PACKAGE.parent / "docs" / "methods.md").is_file()


def test_every_file_the_readme_shows_or_links_is_in_the_repository():
    import re
    import subprocess

    root = PACKAGE.parent
    readme = (root / "README.md").read_text()
    targets = set(re.findall(r'src="([^"]+)"', readme)) | set(re.findall(r"\]\(((?!https?:|#)[^)\s]+)\)", readme))
    local = sorted(t for t in targets if not t.startswith(("http:", "https:", "mailto:")))
    assert any(t.endswith(".png") for t in local)
    tracked = set(subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split())
    missing = [t for t in local if not (root / t).exists() or (tracked and t not in tracked)]
    assert missing == [], missing


def test_result_objects_display_and_convert():
    import servqual as sq
    from servqual.linkage import aggregation, link

    survey = sq.read_cycle(PACKAGE.parent / "params" / "2005.yaml")
    frame, inst = survey.ratings("perception"), survey.instrument
    staff = sq.read_cycle(PACKAGE.parent / "params" / "staff-hpws-2007.yaml")
    clients = sq.read_cycle(PACKAGE.parent / "params" / "2007.yaml")
    results = [sq.alpha_report(frame), sq.omega(frame, inst.dimensions), sq.efa(frame, 5),
               sq.parallel_analysis(frame, n_iter=5), sq.cfa(frame, sq.instrument_models(inst)["dimensions"]),
               sq.sampling_adequacy(frame), sq.drivers(survey), aggregation(staff), link(staff, clients)]
    for result in results:
        table = result.to_frame()
        assert len(table) and len(table.columns), type(result).__name__
        assert result._repr_html_().strip().startswith("<"), type(result).__name__
        assert str(result).strip()


def test_reliability_by_group_suppresses_small_groups():
    import servqual as sq

    survey = sq.read_cycle(PACKAGE.parent / "params" / "2005.yaml")
    table = sq.reliability(survey, by="branch", min_group_n=150)
    small = table["n"].isna()
    assert small.any() and table.loc[small, "raw_alpha"].isna().all() and table.loc[small, "suppressed"].all()
