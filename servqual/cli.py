"""The ``servqual`` command line.

    servqual instruments                       list the built-in instruments
    servqual show servqual-22                  an instrument's dimensions and items
    servqual validate FILE --instrument ID …   problems and the screening summary, no scoring
    servqual validate --params params/2005.yaml
    servqual score params/2005.yaml            screening summary and gap tables of a cycle
    servqual init mysurvey                     scaffold a survey project (params/, data/raw/, reports/)
    servqual report params/2005.yaml           the cycle's report into <project>/reports/2005/
    servqual sample-data [FOLDER]              rewrite the synthetic sample cycles
    servqual consortium add params/2007.yaml --to DATASET --institution ID
                                               add a cycle to a consortium dataset
    servqual consortium norms DATASET          the norms table across its institutions
    servqual consortium sample DATASET --add params/2007.yaml …
                                               the synthetic sample consortium
    servqual comments sheet params/2007.yaml --to coder-a.xlsx
                                               a coding sheet of the comments for a colleague
    servqual comments agree coder-a.xlsx coder-b.xlsx
                                               their agreement per theme and what to resolve
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .instrument import InstrumentError, list_instruments, load_instrument
from .io import SurveyError
from .params import ParamsError, load_params
from .project import ProjectError
from .report import ReportError
from .survey import MIN_GROUP_N, EmptySurveyError


def _parse_columns(pairs: Sequence[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    columns = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"servqual: --column expects MEASURE=TEMPLATE (e.g. perception=P{{index:02d}}), got {pair!r}")
        measure, template = pair.split("=", 1)
        columns[measure.strip()] = template.strip()
    return columns


def _read(args) -> tuple:
    """Read a survey from --params or FILE + options; returns (survey, params).
    The options are validated exactly as a params file's keys are (``--set KEY=VALUE``
    takes any other key, its value written as in YAML)."""
    from pathlib import Path

    import yaml

    from .params import params_from_mapping, read_cycle

    if args.params:
        params = load_params(args.params)
        return read_cycle(params), params
    if not args.file or not args.instrument:
        raise SystemExit("servqual: give --params PARAMS.yaml, or FILE with --instrument ID")
    values = {"responses": str(Path(args.file).absolute()), "instrument": args.instrument,
              "min_group_n": args.min_group_n}
    for key, value in (("columns", _parse_columns(args.column)), ("id", args.id), ("segments", args.segment or None),
                       ("year", args.year), ("encoding", args.encoding), ("skip_rows", args.skip_rows or None)):
        if value is not None:
            values[key] = value
    for pair in args.set:
        key, sep, text = pair.partition("=")
        if not sep:
            raise SystemExit(f"servqual: --set expects KEY=VALUE (e.g. header_rows=2), got {pair!r}")
        try:
            values[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SystemExit(f"servqual: --set {key}: the value {text!r} is not valid YAML ({exc})") from None
    params = params_from_mapping(values, Path.cwd() / "command line")
    if not params.title:
        params = dataclasses.replace(params, title=f"{params.instrument} ({args.file})")
    return read_cycle(params), params


def _print_table(frame: pd.DataFrame, out) -> None:
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500):
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.2f}", na_rep="—"), file=out)


def _print_screening(survey, out, *, entries: int = 0) -> None:
    print(f"Screening ({survey.instrument.id}; rules: {_rules_text(survey.rules)})", file=out)
    _print_table(survey.screening_summary(), out)
    if entries and len(survey.screening):
        print(f"\nFirst {min(entries, len(survey.screening))} of {len(survey.screening)} entries of the screening log:", file=out)
        _print_table(survey.screening.head(entries), out)


def _compact(table: pd.DataFrame) -> pd.DataFrame:
    """A gap table for the console: no sd columns; flags folded into one note."""
    out = table.drop(columns=[c for c in table.columns if c.endswith("_sd")])
    out.pop("suppressed")
    reason = out.pop("suppressed_reason")
    small = out.pop("small_group")
    out["note"] = reason.where(reason != "", small.map({True: "n < 100: unstable", False: ""}))
    return out


def _rules_text(rules) -> str:
    parts = []
    if rules.require_complete:
        parts.append("complete answers required")
    if rules.max_not_applicable is not None:
        parts.append(f"exclude > {rules.max_not_applicable} N/A")
    if rules.max_inversions is not None:
        parts.append(f"exclude > {rules.max_inversions} inversions")
    parts.append(f"straight-lining: {rules.straight_lining}")
    return ", ".join(parts)


def cmd_instruments(args, out) -> int:
    _print_table(list_instruments(), out)
    return 0


def cmd_show(args, out) -> int:
    inst = load_instrument(args.instrument)
    print(inst, file=out)
    print(file=out)
    rows = [
        {"#": it.index, "item": it.id, "dimension": inst.dimension_label(it.dimension),
         "reverse": "yes" if it.reverse else "", "text": it.text}
        for it in inst.items.values()
    ]
    _print_table(pd.DataFrame(rows), out)
    return 0


def cmd_validate(args, out) -> int:
    survey, params = _read(args)
    title = params.title or f"{params.instrument} {params.year or ''}"
    print(f"{title}: {survey.n_read} respondents read, {survey.n} kept, {survey.n_excluded} excluded.", file=out)
    if survey.encoding and survey.encoding != "utf-8":
        print(f"Encoding: {survey.encoding}", file=out)
    if survey.dropped_columns:
        print(f"Personal-data columns dropped: {', '.join(survey.dropped_columns)}", file=out)
    _print_screening(survey, out, entries=args.entries)
    survey.require_respondents()  # a cycle that keeps nobody cannot be reported: say why, exit 1
    return 0


class _TerminalSink:
    """Prints what a registry section produces: its shown tables, compactly, and its notes."""

    def __init__(self, out, levels: Sequence[str]):
        self.out, self.levels, self.summary = out, list(levels), {}

    def table(self, name, frame, *, caption=None, show=True, digits=2, columns=None):
        if name.startswith("gap_table_"):
            level = name.removeprefix("gap_table_").removesuffix("_by_segment")
            show = level in self.levels
        if not show:
            return
        print(f"\n{caption or name}", file=self.out)
        if "flags" in frame.columns:
            flagged = frame[frame["flags"] != ""]
            _print_table(frame.drop(columns=["flags"]), self.out)
            for row in flagged.itertuples():
                print(f"  {row.dimension}: {row.flags}", file=self.out)
            return
        _print_table(_compact(frame), self.out)

    def figure(self, name, target):
        import matplotlib.pyplot as plt

        plt.close(target if hasattr(target, "savefig") else target.figure)

    def note(self, text):
        print(text, file=self.out)


def cmd_score(args, out) -> int:
    from .sections import Context, applicable

    survey, params = _read(args)
    min_n, title = params.min_group_n, params.title or f"{params.instrument} {params.year or ''}"
    survey.require_respondents()
    by = args.by[0] if args.by else None
    print(f"{title}\n{'=' * len(title)}", file=out)
    print(f"{survey.n} of {survey.n_read} respondents kept. Gap = performance − standard: negative is a shortfall.", file=out)
    print(f"Groups with fewer than {min_n} respondents are suppressed.", file=out)
    context = Context(survey, by=by, min_group_n=min_n, consortium=params.consortium)
    sink = _TerminalSink(out, args.level)
    for sec in applicable(context):
        if not sec.terminal:
            continue
        print(f"\n## {sec.title}", file=out)
        try:
            sec.produce(context, sink)
        except Exception as exc:  # noqa: BLE001 - say which section, go on
            print(f"  (could not be produced on this data: {exc})", file=out)
    return 0


def cmd_figures(args, out) -> int:
    from .figures import cycle_figures, save_figures
    from .params import read_cycle

    params = load_params(args.params)
    survey = read_cycle(params)
    cycles = [survey] + [read_cycle(p) for p in args.cycles]
    figures = cycle_figures(survey, cycles=cycles if len(cycles) > 1 else None, min_group_n=params.min_group_n)
    paths = save_figures(figures, args.output, formats=args.format)
    print(f"wrote {len(figures)} figures ({', '.join(args.format)}) to {args.output}", file=out)
    for path in paths:
        print(f"  {path}", file=out)
    return 0


def _report_one(params: str, options: dict) -> tuple[str, str, str | None]:
    """One report in a worker process: (params, what it printed, the error or None)."""
    import io

    from .report import run_report

    buffer = io.StringIO()
    try:
        run_report(params, out=buffer, progress=False, **options)
    except Exception as exc:  # noqa: BLE001 - one cycle failing must not stop the others
        return params, buffer.getvalue(), f"{type(exc).__name__}: {exc}"
    return params, buffer.getvalue(), None


def cmd_report(args, out) -> int:
    import os

    from .report import run_report

    options = {"reports_dir": args.reports_dir, "pdf": args.pdf,
               "previous": args.previous if args.previous else not args.no_previous}
    import time

    started = time.perf_counter()
    jobs = min(len(args.params), args.jobs or os.cpu_count() or 1)
    if jobs <= 1:
        import io

        for params in args.params:
            printed = io.StringIO()
            run_report(params, progress=not args.quiet, out=printed if args.quiet else out, **options)
        seconds = time.perf_counter() - started
        if len(args.params) > 1:
            print(f"{len(args.params)} reports written ({seconds:.0f} s)", file=out)
        elif args.quiet:  # the one closing line: where the report is
            print(f"{printed.getvalue().splitlines()[0]} ({seconds:.0f} s)", file=out)
        return 0
    # several cycles at once: each report runs its own kernel, so they share the cores
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    failed = 0
    print(f"{len(args.params)} reports, {jobs} at a time", file=out, flush=True)
    # one BLAS thread per report: several reports that each start a thread per core oversubscribe
    # the machine (measured: 8 reports on 2 cores took 101 s so, 42 s with one thread each, 76 s in a row)
    threads = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({k: v or "1" for k, v in threads.items()})
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_report_one, str(p), options) for p in args.params]
            bar = None
            if not args.quiet:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(futures), desc="reports", unit="report", file=sys.stderr)
            for done, future in enumerate(as_completed(futures), start=1):
                params, printed, error = future.result()
                if error:
                    failed += 1
                    message = f"[{done}/{len(futures)}] {params}: failed — {error}"
                    if bar:
                        bar.write(message, file=sys.stderr)
                    else:
                        print(message, file=sys.stderr, flush=True)
                elif bar:
                    bar.write(f"[{done}/{len(futures)}] {params}\n{printed.rstrip()}", file=out)
                if bar:
                    bar.update()
            if bar:
                bar.close()
    finally:  # the one-thread setting is the workers' only
        for key, value in threads.items():
            if value is None:
                os.environ.pop(key, None)
    print(f"{len(futures) - failed} of {len(futures)} reports written" + (f"; {failed} failed" if failed else "")
          + f" ({time.perf_counter() - started:.0f} s)", file=out)
    return 1 if failed else 0


def cmd_trends(args, out) -> int:
    from .report import run_trends

    run_trends(args.params, reports_dir=args.reports_dir, progress=not args.quiet, out=out)
    return 0


def cmd_linkage(args, out) -> int:
    from .report import run_linkage

    run_linkage(args.staff, args.clients, unit=args.unit, reports_dir=args.reports_dir, progress=not args.quiet,
                out=out)
    return 0


def cmd_explore(args, out) -> int:
    from .widgets import serve

    return serve(args.params, port=args.port, build_dir=args.build_dir)


def cmd_lab(args, out) -> int:
    import subprocess

    from .project import find_project, lab_command

    root = find_project(args.folder)
    if root is None:
        print(f"servqual lab: no survey project (a folder with params/) at or above {args.folder}; "
              "servqual init makes one", file=sys.stderr)
        return 2
    command, env = lab_command(root, port=args.port, browser=not args.no_browser)
    print(f"JupyterLab on http://127.0.0.1:{args.port}/lab in {root}; the .py notebooks open as notebooks "
          "(Ctrl-C stops it)", file=out, flush=True)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


def cmd_questionnaire(args, out) -> int:
    from pathlib import Path

    from .questionnaire import DEFAULT_SEGMENTS, questionnaire

    segments = [s.strip() for s in args.segments.split(",")] if args.segments else list(DEFAULT_SEGMENTS)
    kwargs = {} if args.format == "csv" else {"segments": segments}
    text = questionnaire(args.instrument, args.format, **kwargs)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=out)
    else:
        out.write(text)
    return 0


def cmd_init(args, out) -> int:
    from .project import init_from_export, init_project

    if args.export:
        params, draft = init_from_export(args.folder, args.export, instrument=args.instrument)
        print(f"Created the survey project {args.folder}/ with {args.export} in data/raw/ (unchanged).", file=out)
        print(str(draft), file=out)
        todo = draft.unmapped
        print(f"\nDrafted {params}: {len(todo)} rating column(s) still to confirm or map"
              + (f" (e.g. {todo[0][0]} {todo[0][1]})" if todo else "") + ". Edit it, then: "
              f"servqual validate {params}", file=out)
        return 0
    root = init_project(args.folder, example=not args.no_example)
    print(f"Created the survey project {root}/ (params/, data/raw/, reports/, notebooks/, README.md).", file=out)
    if not args.no_example:
        print(f"Try it: cd {args.folder} && servqual report params/2005.yaml", file=out)
    return 0


def cmd_consortium(args, out) -> int:
    from .norms import consortium_add, norms, set_institutions
    from .params import read_cycle

    try:
        if args.action == "sample":
            from .synthetic import write_sample_consortium

            table = write_sample_consortium(args.dataset)  # the peers first: the params files name the folder
            for path in args.add:
                survey = read_cycle(load_params(path))
                consortium_add(survey, args.dataset, institution=args.institution)
            if args.add:
                table = set_institutions(args.dataset, pd.DataFrame([{
                    "institution": args.institution, "type": "university", "size_band": "large",
                    "region": "north", "shareable": "yes"}]))
            print(f"wrote the sample consortium {args.dataset}: {len(table)} institutions", file=out)
            return 0
        if args.action == "add":
            attributes = {}
            for pair in args.attribute:
                key, sep, value = pair.partition("=")
                if not sep or not key.strip() or key.strip() == "institution":
                    raise ValueError(f"--attribute expects NAME=VALUE (e.g. type=university, shareable=yes), "
                                     f"got {pair!r}")
                attributes[key.strip()] = value.strip()
            for path in args.params:
                survey = read_cycle(load_params(path))
                written = consortium_add(survey, args.to, institution=args.institution, user_group=args.user_group)
                print(f"added {survey.n} respondents of {survey.year} ({survey.instrument.id}) as "
                      f"{args.institution}: {written}", file=out)
            if attributes:
                set_institutions(args.to, pd.DataFrame([{"institution": args.institution, **attributes}]))
                print(f"{args.institution} in {args.to}/institutions.csv: "
                      + ", ".join(f"{k}={v}" for k, v in attributes.items()), file=out)
            return 0
        table = norms(args.dataset, level=args.level, quantity=args.quantity,
                      by=None if args.by == "none" else "user_group", form=args.form, min_group_n=args.min_group_n)
    except ValueError as exc:  # a named problem with the dataset or the arguments
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.output:
        table.to_csv(args.output, index=False, lineterminator="\n")
        print(f"wrote {args.output}", file=out)
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"), file=out)
    return 0


def cmd_comments(args, out) -> int:
    from .comments import (
        CodebookError,
        coder_agreement,
        coding_sheet,
        comment_table,
        load_codebook,
        read_coding_sheet,
    )
    from .params import read_cycle

    try:
        if args.action == "sheet":
            params = load_params(args.params)
            survey = read_cycle(params)
            path = coding_sheet(survey, args.to, codebook=args.codebook or params.codebook,
                                proposals=args.proposals)
            print(f"wrote {path}: {len(comment_table(survey))} comments, one column per theme of the codebook "
                  f"{load_codebook(args.codebook or params.codebook).id!r} to mark (1 or x)", file=out)
            return 0
        a, b = (read_coding_sheet(p, args.codebook) for p in (args.sheet_a, args.sheet_b))
        texts = None
        first = Path(args.sheet_a)
        frame = (pd.read_excel(first, dtype=str, engine="calamine") if first.suffix.lower() == ".xlsx"
                 else pd.read_csv(first, dtype=str, keep_default_na=False))
        if "comment" in frame.columns:
            texts = frame.set_index("comment_id")["comment"]
        result = coder_agreement(a, b, texts=texts)
    except (ValueError, CodebookError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(result, file=out)
    print(f"\n{len(result.disagreements)} comment × theme disagreements to resolve", file=out)
    if args.disagreements:
        result.disagreements.to_csv(args.disagreements, index=False, lineterminator="\n")
        print(f"wrote {args.disagreements}", file=out)
    return 0


def cmd_sample_data(args, out) -> int:
    from .synthetic import write_sample_data

    for path in write_sample_data(args.folder):
        print(f"wrote {path}", file=out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="servqual", description="Client service-quality survey workbench.")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("instruments", help="list the built-in instruments").set_defaults(func=cmd_instruments)
    show = sub.add_parser("show", help="an instrument's dimensions and items")
    show.add_argument("instrument", help="built-in id or path to a YAML file")
    show.set_defaults(func=cmd_show)

    def reading_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("file", nargs="?", help="survey file (CSV, Excel, SPSS .sav, Parquet)")
        p.add_argument("--params", help="a cycle's params YAML instead of FILE and options")
        p.add_argument("--instrument", help="built-in instrument id or YAML path")
        p.add_argument("--column", action="append", default=[], metavar="MEASURE=TEMPLATE",
                       help="column template per measure, e.g. perception=P{index:02d} (repeatable)")
        p.add_argument("--id", help="respondent id column")
        p.add_argument("--segment", action="append", default=[], help="segment column (repeatable)")
        p.add_argument("--year", type=int)
        p.add_argument("--encoding", help="text encoding of a CSV (detected when omitted)")
        p.add_argument("--skip-rows", type=int, default=0, help="extra header rows below the column names")
        p.add_argument("--min-group-n", type=int, default=MIN_GROUP_N)
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="any other params key, value as in YAML: header_rows=2, layout=long, "
                            "'value_labels={Strongly agree: 7}', 'recode={segment: {PG: postgraduate}}' (repeatable)")

    validate = sub.add_parser("validate", help="check a survey file and print the screening summary")
    reading_options(validate)
    validate.add_argument("--entries", type=int, default=10, help="screening-log entries to list (default 10)")
    validate.add_argument("--quiet", action="store_true", help="no progress lines for a large file")
    validate.set_defaults(func=cmd_validate)

    score = sub.add_parser("score", help="screen and score a cycle: gap tables by segment")
    reading_options(score)
    score.add_argument("--by", action="append", help="group by this column (default: the first segment)")
    score.add_argument("--level", action="append", choices=["item", "dimension", "overall"],
                       help="levels to print (default: dimension and overall)")
    score.add_argument("--quiet", action="store_true", help="no progress lines for a large file")
    score.set_defaults(func=cmd_score)

    figures = sub.add_parser("figures", help="draw every figure of a cycle (PNG and SVG, with alt texts)")
    figures.add_argument("params", help="the cycle's params YAML")
    figures.add_argument("--cycles", nargs="*", default=[], help="other cycles' params files, for the trend figure")
    figures.add_argument("--output", default="docs/img", help="folder to write into (default docs/img)")
    figures.add_argument("--format", nargs="+", default=["png", "svg"], choices=["png", "svg", "pdf"])
    figures.add_argument("--quiet", action="store_true", help="no progress lines for a large file")
    figures.set_defaults(func=cmd_figures)

    report = sub.add_parser("report", help="run a cycle's report: papermill + HTML (and PDF) into reports/<cycle>/")
    report.add_argument("params", nargs="+", help="params YAML file(s), one report each")
    report.add_argument("--reports-dir", default=None, help="default: the project's reports/ folder")
    report.add_argument("--pdf", action="store_true", help="also write report.pdf (A4, page numbers; WeasyPrint)")
    report.add_argument("--previous", default=None, metavar="PARAMS",
                        help="the previous cycle's params file, for the change since then (default: found beside "
                             "the params file: same instrument, the latest earlier year)")
    report.add_argument("--no-previous", action="store_true", help="do not compare with a previous cycle")
    report.add_argument("--quiet", action="store_true", help="no progress bar: only the closing summary line")
    report.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="reports run at once when several params files are given (default: one per core)")
    report.set_defaults(func=cmd_report)

    trends = sub.add_parser("trends", help="the trends report over several cycles into reports/trends/")
    trends.add_argument("params", nargs="+", help="params YAML files of the cycles (one instrument)")
    trends.add_argument("--reports-dir", default=None, help="default: the project's reports/ folder")
    trends.add_argument("--quiet", action="store_true")
    trends.set_defaults(func=cmd_trends)

    linkage = sub.add_parser("linkage", help="staff climate linked to client gaps by unit, into reports/linkage/")
    linkage.add_argument("staff", help="the staff (hpws-staff) survey's params file")
    linkage.add_argument("clients", help="a client cycle's params file")
    linkage.add_argument("--unit", default="branch", help="the unit column in both surveys (default branch)")
    linkage.add_argument("--reports-dir", default=None, help="default: the project's reports/ folder")
    linkage.add_argument("--quiet", action="store_true")
    linkage.set_defaults(func=cmd_linkage)

    explore = sub.add_parser("explore", help="serve the interactive gap explorer with Voilà on 127.0.0.1")
    explore.add_argument("params", nargs="+", help="params YAML files of the cycles to explore")
    explore.add_argument("--port", type=int, default=8866)
    explore.add_argument("--build-dir", default="build", help="where the served notebook is written")
    explore.set_defaults(func=cmd_explore)

    lab = sub.add_parser("lab", help="open the survey project in JupyterLab on 127.0.0.1 (.py notebooks as notebooks)")
    lab.add_argument("folder", nargs="?", default=".", help="the project folder, or any folder inside it")
    lab.add_argument("--port", type=int, default=8888)
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser")
    lab.set_defaults(func=cmd_lab)

    quest = sub.add_parser("questionnaire", help="a printable questionnaire or the data-entry template")
    quest.add_argument("instrument", help="built-in id or YAML path")
    quest.add_argument("--format", choices=["html", "markdown", "csv"], default="html")
    quest.add_argument("--output", help="file to write (default: standard output)")
    quest.add_argument("--segments", help="comma-separated answers to the segment question")
    quest.set_defaults(func=cmd_questionnaire)

    init = sub.add_parser("init", help="scaffold a survey project: params/, data/raw/, reports/, notebooks/")
    init.add_argument("folder", help="the new project's folder (must not exist, or be empty)")
    init.add_argument("--no-example", action="store_true", help="no example params file and data")
    init.add_argument("--from", dest="export", help="start from a raw export: copy it in and draft its params file")
    init.add_argument("--instrument", help="the instrument of --from (default: the built-in one that fits best)")
    init.set_defaults(func=cmd_init)

    consortium = sub.add_parser("consortium", help="a consortium dataset: add a cycle, or print its norms")
    actions = consortium.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add cycles (params files) of one institution to a consortium dataset")
    add.add_argument("params", nargs="+", help="params YAML file(s) of the institution's cycles")
    add.add_argument("--to", required=True, help="the consortium dataset folder (created when missing)")
    add.add_argument("--institution", required=True, help="the institution's id in the consortium")
    add.add_argument("--user-group", default=None, help="the segment column holding the user group "
                     "(default the first segment)")
    add.add_argument("--attribute", action="append", default=[], metavar="NAME=VALUE",
                     help="the institution's attributes in institutions.csv, for peers= (type=university, "
                     "size_band=large) and consent to be named (shareable=yes); repeatable")
    table = actions.add_parser("norms", help="the norms table of a consortium dataset")
    table.add_argument("dataset")
    table.add_argument("--level", choices=["dimension", "item"], default="dimension")
    table.add_argument("--quantity", default=None, help="a measure or gap (default the performance rating)")
    table.add_argument("--by", choices=["user_group", "none"], default="user_group")
    table.add_argument("--form", default=None, help="the instrument, when the dataset holds several")
    table.add_argument("--min-group-n", type=int, default=10)
    table.add_argument("--output", default=None, help="write the table as CSV here")
    build = actions.add_parser("sample", help="write the synthetic sample consortium: peer libraries, then "
                                "this project's own cycles (--add)")
    build.add_argument("dataset")
    build.add_argument("--add", nargs="*", default=[], help="params files of the library's own cycles")
    build.add_argument("--institution", default="sample-library", help="the library's id (default sample-library)")
    consortium.set_defaults(func=cmd_consortium)
    comments = sub.add_parser("comments", help="hand comment coding to people: a coding sheet, and two coders' "
                              "agreement")
    steps = comments.add_subparsers(dest="action", required=True)
    sheet = steps.add_parser("sheet", help="write a coding sheet (CSV or .xlsx) of a cycle's comments")
    sheet.add_argument("params")
    sheet.add_argument("--to", required=True, help="the sheet to write (.csv or .xlsx)")
    sheet.add_argument("--codebook", default=None, help="codebook id or YAML (default the params' or 'library')")
    sheet.add_argument("--proposals", action="store_true", help="add the codebook's own coding as a column")
    agree = steps.add_parser("agree", help="two coders' agreement per theme (Cohen's kappa, Krippendorff's alpha)")
    agree.add_argument("sheet_a")
    agree.add_argument("sheet_b")
    agree.add_argument("--codebook", default=None)
    agree.add_argument("--disagreements", default=None, help="write the disagreements to resolve as CSV here")
    comments.set_defaults(func=cmd_comments)
    sample = sub.add_parser("sample-data", help="rewrite the synthetic sample cycles")
    sample.add_argument("folder", nargs="?", default="data/raw")
    sample.set_defaults(func=cmd_sample_data)
    return parser


def main(argv: Sequence[str] | None = None, out=None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "command", None) == "score":
        if args.file and args.file.endswith((".yaml", ".yml")) and not args.params:
            args.params, args.file = args.file, None
        args.level = args.level or ["dimension", "overall"]
    if getattr(args, "command", None) == "validate" and args.file and args.file.endswith((".yaml", ".yml")) and not args.params:
        args.params, args.file = args.file, None
    progress = _progress_lines(not getattr(args, "quiet", False))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        try:
            code = args.func(args, out)
        except (SurveyError, InstrumentError, ParamsError, ReportError, ProjectError, EmptySurveyError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            code = 1
        finally:
            progress()
    for w in caught:
        label = "warning" if w.category is UserWarning else w.category.__name__
        print(f"{label}: {w.message}", file=sys.stderr)
    return code


def _progress_lines(show: bool):
    """Stage lines of long reads (the "servqual" logger at INFO) on standard error while a
    command runs, unless --quiet; returns the function that takes them away again."""
    import logging

    if not show:
        return lambda: None
    logger = logging.getLogger("servqual")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def remove() -> None:
        logger.removeHandler(handler)
        logger.setLevel(level)

    return remove


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
