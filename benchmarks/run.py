"""Benchmark harness: servqual side by side with the tools users would pick instead.

    make bench                        # 10k, 100k and 1M respondents; writes results.json and results.md
    python benchmarks/run.py --quick  # 10k respondents, one repetition (the test suite runs this)

Everything is measured in one run, on the same data, on this machine: reading CSV, Excel
and SPSS files against pyarrow, openpyxl and pyreadstat; the read-screen-gap-table
pipeline against its floor (pyarrow reading the file plus one numpy pass); ``alpha_report``
against ``pingouin.cronbach_alpha`` and R ``psych::alpha`` (when ``Rscript`` is
available); the bootstrap against ``psych::alpha(n.iter = 1000)``; CFA, invariance, FIML
and WLSMV against lavaan; a full cycle report against a notebook that only imports
servqual and reads the cycle; the sample reports one after another and at once; the
explorer's updates; consortium norms at 2.8 M respondents; and the whole test suite.
``results.json`` → ``ratios`` holds every target with its value, the absolute times and
whether it is met.  Times are medians of several repetitions; peak memory is measured in
a fresh process.  No timing is asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / "cache"
SQ_TEMPLATE = "{measure}_{item}"

#: key → (what is measured, comparison, bound).  Ratios are ours / theirs (time) unless
#: the label says otherwise; every one is measured in the same run on the same data.
TARGETS = {
    "alpha_vs_pingouin_1m": ("alpha_report (the whole psych layout) / pingouin.cronbach_alpha (bare alpha), "
                             "1,000,000 × 22", "<=", 0.3),
    "alpha_vs_psych_1m": ("R psych::alpha / alpha_report at 1,000,000 × 22 (times faster)", ">=", 20.0),
    "read_csv_vs_arrow_1m": ("read_survey (validation included) / pyarrow.csv.read_csv, 1,000,000-respondent CSV",
                             "<=", 2.0),
    "excel_vs_openpyxl_100k": ("read_survey / openpyxl (read-only, values), 100,000-respondent .xlsx", "<=", 1.5),
    "sav_vs_pyreadstat_100k": ("read_survey / pyreadstat.read_sav, 100,000-respondent .sav", "<=", 1.5),
    "pipeline_vs_floor_1m": ("read Parquet + screen + item and dimension gap tables by segment / pyarrow reading "
                             "the file + one numpy pass, 1,000,000 respondents (fresh processes)", "<=", 3.0),
    "pipeline_memory_1m": ("peak extra memory of that pipeline / the ratings in memory", "<=", 2.0),
    "report_vs_floor": ("full cycle report (HTML, figures, tables; no PDF) / papermill notebook that imports "
                        "servqual and reads the cycle", "<=", 2.0),
    "reports_parallel": ("every sample report on every core / one after another", "<=", 0.65),
    "cfa_vs_lavaan": ("22-item five-factor ML CFA / lavaan::cfa", "<=", 0.5),
    "suite_seconds": ("the whole make test on this machine (seconds)", "<", 120.0),
    "bootstrap_2000_5000x22_s": ("bootstrap, 2,000 resamples on 5,000 × 22 (seconds)", "<=", 1.0),
    "explorer_update_max_s": ("explorer: slowest update over every figure, level, Show choice and 1–3 groups (s)",
                              "<=", 0.5),
    "norms_2_8m_s": ("consortium norms, 1,400 institutions × 2,000 respondents, slower of dimension/item (s)",
                     "<=", 10.0),
    "norms_peak_mb": ("consortium norms: peak memory of the process (MB)", "<=", 2048.0),
}


def machine() -> dict:
    import numpy as np
    import pandas as pd

    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "numpy": np.__version__, "pandas": pd.__version__}
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        info["cpu"] = names[0] if names else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        with open("/proc/meminfo") as handle:
            info["memory_gb"] = round(int(handle.readline().split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        import threadpoolctl

        info["blas"] = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                        for i in threadpoolctl.threadpool_info()]
    except ImportError:
        pass
    return info


def timed(fn, reps: int) -> tuple[float, object]:
    """Median wall time of ``reps`` runs (after one warm-up when reps > 1)."""
    result = fn() if reps > 1 else None
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def dataset(n: int) -> tuple[Path, Path]:
    """Synthetic SERVQUAL-22 expectation/perception cycle of n respondents, cached."""
    from servqual.synthetic import simulate_responses

    CACHE.mkdir(exist_ok=True)
    parquet, csv = CACHE / f"servqual-{n}.parquet", CACHE / f"servqual-{n}.csv"
    if not parquet.exists() or not csv.exists():
        frame = simulate_responses("servqual-22", n=n, seed=n % 9973, columns=SQ_TEMPLATE)
        frame.to_parquet(parquet, index=False)
        frame.to_csv(csv, index=False)
    return parquet, csv


def read(path: Path):
    import servqual as sq

    return sq.read_survey(path, "servqual-22", columns=SQ_TEMPLATE, id="respondent_id", segments=["segment"])


_PIPELINE = """
import sys, time, json
import servqual as sq

def status(key):  # kB from /proc/self/status (ru_maxrss would carry the parent's peak over)
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith(key))

baseline = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the peak (VmHWM) to the current size
start = time.perf_counter()
survey = sq.read_survey(sys.argv[1], "servqual-22", columns="{measure}_{item}", id="respondent_id",
                        segments=["segment"])
survey = sq.screen(survey)
sq.gap_table(survey, "item", by="segment")
sq.gap_table(survey, "dimension", by="segment")
elapsed = time.perf_counter() - start
peak = status("VmHWM:")
ratings = sum(v.to_numpy().nbytes for v in survey.values.values())
print(json.dumps({"seconds": elapsed, "extra_mb": (peak - baseline) / 1024, "ratings_mb": ratings / 1e6}))
"""


def pipeline_in_fresh_process(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _PIPELINE, str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


_FLOOR = """
import sys, time, json
import numpy as np
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq

start = time.perf_counter()
table = pq.read_table(sys.argv[1])
columns = [c for c in table.column_names if c.startswith(("expectation_", "perception_"))]
ratings = np.empty((table.num_rows, len(columns)), order="F")
for j, c in enumerate(columns):  # the one pass: every rating into one float array, blanks as NaN
    ratings[:, j] = pc.fill_null(pc.cast(table.column(c), pa.float64()), np.nan).to_numpy()
means = np.nanmean(ratings, axis=0)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def pipeline_and_floor(path: Path, reps: int) -> dict:
    """Median over fresh processes, taken in turn: our pipeline and its floor (pyarrow reading
    the Parquet file plus one numpy pass over the ratings)."""
    ours, floor = [], []
    for _ in range(reps):
        ours.append(pipeline_in_fresh_process(path))
        out = subprocess.run([sys.executable, "-c", _FLOOR, str(path)], capture_output=True, text=True, check=True)
        floor.append(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])
    middle = sorted(ours, key=lambda r: r["seconds"])[len(ours) // 2]
    return {"seconds": middle["seconds"], "extra_mb": statistics.median(r["extra_mb"] for r in ours),
            "ratings_mb": middle["ratings_mb"], "floor_s": statistics.median(floor)}


def format_files(n: int) -> dict[str, Path]:
    """The n-respondent cycle as .xlsx and .sav (cached: writing 100,000 rows to Excel is slow)."""
    import pandas as pd

    parquet, _ = dataset(n)
    paths = {"xlsx": CACHE / f"servqual-{n}.xlsx", "sav": CACHE / f"servqual-{n}.sav"}
    if not all(p.exists() for p in paths.values()):
        frame = pd.read_parquet(parquet)
        if not paths["xlsx"].exists():
            frame.to_excel(paths["xlsx"], index=False, engine="openpyxl")
        if not paths["sav"].exists():
            import pyreadstat

            pyreadstat.write_sav(frame, str(paths["sav"]))
    return paths


def bare_openpyxl(path: Path) -> list:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return rows


def formats(csv_n: int, other_n: int, reps: int) -> dict:
    """read_survey beside each format's bare reader, on the same file."""
    import pyreadstat
    from pyarrow import csv as pa_csv

    _, csv = dataset(csv_n)
    files = format_files(other_n)
    out: dict = {"csv_respondents": csv_n, "other_respondents": other_n}
    out["csv_ours_s"], _ = timed(lambda: read(csv), reps)
    out["csv_pyarrow_s"], _ = timed(lambda: pa_csv.read_csv(csv), reps)
    out["xlsx_ours_s"], _ = timed(lambda: read(files["xlsx"]), max(1, reps - 1))
    out["xlsx_openpyxl_s"], _ = timed(lambda: bare_openpyxl(files["xlsx"]), max(1, reps - 1))
    out["sav_ours_s"], _ = timed(lambda: read(files["sav"]), reps)
    out["sav_pyreadstat_s"], _ = timed(lambda: pyreadstat.read_sav(str(files["sav"])), reps)
    return out


def floor_notebook_run() -> float:
    """The floor of a report: papermill running a notebook that only imports servqual and
    reads the cycle (kernel start, imports, reading), with the reports' kernel set-up."""
    import nbformat
    import papermill as pm

    from servqual.report import _local_kernel_manager

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"params = {str(ROOT / 'params' / '2005.yaml')!r}",
                                                metadata={"tags": ["parameters"]}),
                      nbformat.v4.new_code_cell("import servqual as sq\nsurvey = sq.read_cycle(params)")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        pm.execute_notebook(notebook, str(Path(folder) / "out.ipynb"), kernel_name="python3", progress_bar=False,
                            kernel_manager_class=_local_kernel_manager(), cwd=str(ROOT))
        return time.perf_counter() - start


def suite_seconds() -> dict:
    """`make test`'s pytest run, timed (the environment is the Makefile's).  The README
    table's test is left out: it compares the README with the results this run is making."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "auto", "--dist", "loadfile", "-p",
                          "no:cacheprovider", "--deselect",
                          "tests/test_benchmarks.py::test_the_readme_speed_table_is_the_committed_results"],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    seconds = time.perf_counter() - start
    tail = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    return {"seconds": seconds, "cores": os.cpu_count(), "passed": out.returncode == 0, "outcome": tail}


_R_ALPHA = """
suppressPackageStartupMessages(library(psych))
args <- commandArgs(trailingOnly = TRUE)
x <- read.csv(args[1])
x <- x[, grep("^perception_", names(x))]
n_iter <- as.integer(args[2])
reps <- as.integer(args[3])
times <- sapply(seq_len(reps), function(i) system.time(suppressWarnings(alpha(x, n.iter = n_iter, warnings = FALSE)))["elapsed"])
cat(median(times), "\\n")
"""


def r_psych_alpha(csv: Path, n_iter: int, reps: int) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    probe = subprocess.run(["Rscript", "-e", "library(psych)"], capture_output=True)
    if probe.returncode != 0:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as handle:
        handle.write(_R_ALPHA)
    try:
        out = subprocess.run(["Rscript", handle.name, str(csv), str(n_iter), str(reps)], capture_output=True,
                             text=True, check=True, timeout=3600)
        return float(out.stdout.strip().split()[-1])
    finally:
        os.unlink(handle.name)


_R_LAVAAN = """
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
root <- args[1]
lite_too <- args[2] == "1"
med <- function(f, reps = 3) median(sapply(seq_len(reps), function(i) system.time(f())["elapsed"]))
raw <- read.csv(file.path(root, "data", "raw", "library-2005.csv"))
items <- c(paste0("T", 1:4), paste0("RL", 1:5), paste0("RS", 1:4), paste0("A", 1:4), paste0("E", 1:5))
x <- raw[, sprintf("P%02d", 1:22)]; colnames(x) <- items; x$segment <- raw$segment
x <- x[complete.cases(x), ]
m22 <- paste(c(paste("tangibles =~", paste(items[1:4], collapse = " + ")),
               paste("reliability =~", paste(items[5:9], collapse = " + ")),
               paste("responsiveness =~", paste(items[10:13], collapse = " + ")),
               paste("assurance =~", paste(items[14:17], collapse = " + ")),
               paste("empathy =~", paste(items[18:22], collapse = " + "))), collapse = "\n")
out <- list()
out$cfa_ml_22 <- med(function() cfa(m22, x))
out$invariance_4_levels <- med(function() for (eq in list(NULL, "loadings", c("loadings", "intercepts"),
                                                          c("loadings", "intercepts", "residuals")))
  if (is.null(eq)) cfa(m22, x, group = "segment", se = "none") else
    cfa(m22, x, group = "segment", group.equal = eq, se = "none"), 1)
hs <- read.csv(file.path(root, "tests", "data", "holzinger-swineford-missing.csv"))
mhs <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
out$cfa_fiml_hs <- med(function() suppressWarnings(cfa(mhs, hs, missing = "ml")))
o13 <- items[1:13]
out$cfa_wlsmv_13 <- med(function() cfa(paste(strsplit(m22, "\n")[[1]][1:3], collapse = "\n"), x[, o13],
                                       ordered = o13, estimator = "WLSMV"))
if (lite_too) {
  lite_raw <- read.csv(file.path(root, "data", "raw", "library-lite-2008.csv"))
  li <- c(paste0("AS", 1:9), paste0("IC", 1:8), paste0("LP", 1:5))
  lite <- lite_raw[, paste0("perceived_", li)]; colnames(lite) <- li
  lite[lite == 0] <- NA
  lite <- lite[rowSums(!is.na(lite)) > 0, ]
  ml <- paste(c(paste("service_affect =~", paste(li[1:9], collapse = " + ")),
                paste("information_control =~", paste(li[10:17], collapse = " + ")),
                paste("library_as_place =~", paste(li[18:22], collapse = " + "))), collapse = "\n")
  out$cfa_fiml_lite <- med(function() suppressWarnings(cfa(ml, lite, missing = "ml")), 1)
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE), "\n")
"""


def psychometrics(with_r: bool, lite_too: bool, reps: int) -> dict:
    """CFA, invariance, FIML and WLSMV: servqual's engine beside lavaan, on the same data."""
    import pandas as pd

    import servqual as sq

    survey = sq.read_cycle(ROOT / "params" / "2005.yaml")
    ratings = survey.ratings("perception")
    model = sq.instrument_models(survey.instrument)["dimensions"]
    out: dict = {"ours": {}, "lavaan": None}
    ours = out["ours"]
    ours["cfa_ml_22"], _ = timed(lambda: sq.cfa(ratings, model), reps)
    ours["invariance_4_levels"], _ = timed(lambda: sq.invariance(survey, group="segment"), reps)
    hs = pd.read_csv(ROOT / "tests" / "data" / "holzinger-swineford-missing.csv")
    hs_model = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    from servqual.sem import _MISSING_CACHE

    def uncached(fn):  # time the EM too, not a remembered saturated model
        def call():
            _MISSING_CACHE.clear()
            return fn()
        return call

    ours["cfa_fiml_hs"], _ = timed(uncached(lambda: sq.cfa(hs, hs_model, missing="fiml")), reps)
    first13 = "\n".join(model.splitlines()[:3])
    ours["cfa_wlsmv_13"], _ = timed(lambda: sq.cfa(ratings, first13, ordered=True), reps)
    if lite_too:
        lite = sq.read_cycle(ROOT / "params" / "library-lite-2008.yaml")
        lite_model = sq.instrument_models(lite.instrument)["dimensions"]
        lite_ratings = lite.ratings("perceived")
        ours["cfa_fiml_lite"], _ = timed(uncached(lambda: sq.cfa(lite_ratings, lite_model, missing="fiml")), reps)
    if with_r and shutil.which("Rscript") and subprocess.run(["Rscript", "-e", "library(lavaan)"],
                                                             capture_output=True).returncode == 0:
        with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as handle:
            handle.write(_R_LAVAAN)
        try:
            run_r = subprocess.run(["Rscript", handle.name, str(ROOT), "1" if lite_too else "0"], capture_output=True,
                                   text=True, check=True, timeout=3600)
            out["lavaan"] = json.loads(run_r.stdout.strip().splitlines()[-1])
        finally:
            os.unlink(handle.name)
    if out["lavaan"]:
        out["ratios"] = {k: out["lavaan"][k] / v for k, v in ours.items() if k in out["lavaan"] and v > 0}
    return out


def full_report() -> float:
    from servqual.report import run_report

    with tempfile.TemporaryDirectory() as folder, open(os.devnull, "w") as sink:
        start = time.perf_counter()
        run_report(ROOT / "params" / "2005.yaml", reports_dir=folder, progress=False, out=sink)
        return time.perf_counter() - start


def reports_one_after_another_and_at_once() -> dict:
    """Every sample params file's report (`make reports`' first step), one after another
    (``--jobs 1``) and on every core (the default), each in a fresh command."""
    files = sorted(str(p) for p in (ROOT / "params").glob("*.yaml"))
    out = {"reports": len(files), "cores": os.cpu_count()}
    for key, jobs in (("sequential_s", "1"), ("parallel_s", str(os.cpu_count() or 1))):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "servqual"), "report", *files, "--jobs", jobs,
                            "--quiet", "--reports-dir", folder], check=True, capture_output=True, cwd=ROOT)
            out[key] = time.perf_counter() - start
    out["ratio"] = out["parallel_s"] / out["sequential_s"]
    return out


def explorer_updates() -> dict:
    """Every control change a user can make on the three sample cycles, timed inside the
    kernel as the explorer's status line reports it (figure drawn and encoded, table built)."""
    import servqual as sq

    explorer = sq.explorer([ROOT / "params" / f"{y}.yaml" for y in (2005, 2006, 2007)])
    explorer.cache_views = 0  # every update drawn: the time of a first visit, not of a cached view
    times = []

    def choose(control, value) -> None:
        if control.value != value:  # only a real change updates the explorer
            control.value = value
            times.append((explorer.seconds, f"{explorer.figure_choice.value}, {explorer.level.value}, "
                                            f"{explorer.quantity.value or 'fixed'}, {len(explorer.groups.value)} group(s)"))

    for groups in (("All respondents",), ("postgraduate", "undergraduate"),
                   ("All respondents", "postgraduate", "library staff")):
        choose(explorer.groups, groups)
        for level in ("dimension", "item"):
            choose(explorer.level, level)
            for _, key in explorer.figure_choice.options:
                choose(explorer.figure_choice, key)
                for _, quantity in explorer.quantity.options:
                    choose(explorer.quantity, quantity)
    slowest = max(times)
    return {"updates": len(times), "median_s": statistics.median(t for t, _ in times), "max_s": slowest[0],
            "slowest": slowest[1]}


def explorer_in_fresh_process() -> dict:
    """The explorer as Voilà runs it: in a fresh kernel, not in this process with a million
    respondents' data still in memory (whose garbage collection would be timed too)."""
    code = f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import run; print(json.dumps(run.explorer_updates()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(sizes: list[int], reps: int, *, with_r: bool, with_reports: bool, with_suite: bool = False) -> dict:
    import numpy as np
    import pandas as pd
    import pingouin as pg

    import servqual as sq

    results: dict = {"machine": machine(), "sizes": {}}
    largest = max(sizes)
    for n in sizes:
        parquet, csv = dataset(n)
        row: dict = {}
        row["read_csv_s"], _ = timed(lambda csv=csv: read(csv), reps)
        row["read_parquet_s"], survey = timed(lambda parquet=parquet: read(parquet), reps)
        row["screen_s"], _ = timed(lambda survey=survey: sq.screen(survey), reps)
        row["gap_table_item_s"], _ = timed(lambda survey=survey: sq.gap_table(survey, "item", by="segment"), reps)
        row["gap_table_dimension_s"], _ = timed(lambda survey=survey: sq.gap_table(survey, "dimension", by="segment"),
                                                reps)
        battery = survey.ratings("perception")
        row["alpha_report_s"], _ = timed(lambda battery=battery: sq.alpha_report(battery), reps)
        row["pingouin_cronbach_alpha_s"], _ = timed(lambda battery=battery: pg.cronbach_alpha(battery), reps)
        row["reliability_s"], _ = timed(lambda survey=survey: sq.reliability(survey), reps)
        pipeline = pipeline_and_floor(parquet, 3 if n == largest and reps > 1 else 1)
        row["pipeline_fresh_process_s"] = pipeline["seconds"]
        row["pipeline_floor_s"] = pipeline["floor_s"]
        row["pipeline_extra_memory_mb"] = pipeline["extra_mb"]
        row["ratings_memory_mb"] = pipeline["ratings_mb"]
        if with_r:
            row["psych_alpha_s"] = r_psych_alpha(csv, 1, max(1, min(reps, 3)) if n <= 100_000 else 1)
        results["sizes"][str(n)] = row
        del survey, battery

    results["formats"] = formats(largest, 100_000 if largest >= 1_000_000 else 2_000, reps)

    # the bootstrap on 5,000 × 22
    parquet, csv = dataset(5000)
    battery = read(parquet).ratings("perception")
    boot = {}
    boot["ours_2000_s"], _ = timed(lambda: sq.alpha_report(battery, n_boot=2000, seed=1), max(reps, 1))
    if with_r:
        boot["psych_n_iter_1000_s"] = r_psych_alpha(csv, 1000, 1)
    results["bootstrap_5000x22"] = boot

    results["psychometrics"] = psychometrics(with_r, lite_too=with_reports, reps=max(reps, 1))

    # consortium norms: 1,400 institutions × 2,000 respondents (a small consortium in quick mode)
    import norms_scale

    at_scale = largest >= 1_000_000
    results["norms"] = norms_scale.measure(CACHE / ("consortium-gen" if at_scale else "consortium-quick"),
                                           1400 if at_scale else 3, 2000 if at_scale else 200)

    if with_reports:
        runs = max(reps, 1)
        results["notebooks"] = {"floor_papermill_s": statistics.median(floor_notebook_run() for _ in range(runs)),
                                "full_cycle_report_s": statistics.median(full_report() for _ in range(runs))}
        results["explorer"] = explorer_in_fresh_process()
        results["reports"] = reports_one_after_another_and_at_once()
    if with_suite:
        results["suite"] = suite_seconds()

    results["largest_size"] = largest
    results["ratios"] = ratios(results)
    _ = np, pd  # imported for their versions in machine()
    return results


def ratios(results: dict) -> dict:
    """Every target: its value (a ratio, or seconds/MB where the key says so), the absolute
    times it comes from, and whether it is met (``None`` when this run did not measure it)."""
    at_1m = results["largest_size"] >= 1_000_000
    big = results["sizes"][str(results["largest_size"])] if at_1m else {}
    fmt = results.get("formats", {}) if at_1m else {}
    psy = results.get("psychometrics", {})
    lavaan = psy.get("lavaan") or {}
    nb = results.get("notebooks", {})
    norms = results.get("norms", {}) if results.get("norms", {}).get("respondents", 0) >= 2_000_000 else {}
    pipeline_s = (big["read_parquet_s"] + big["screen_s"] + big["gap_table_item_s"] + big["gap_table_dimension_s"]
                  if big else None)

    def pair(ours, theirs, *, inverse=False):
        if ours is None or theirs is None or not ours or not theirs:
            return None, {}
        value = theirs / ours if inverse else ours / theirs
        return value, {"ours_s": ours, "theirs_s": theirs}

    entries = {
        "alpha_vs_pingouin_1m": pair(big.get("alpha_report_s"), big.get("pingouin_cronbach_alpha_s")),
        "alpha_vs_psych_1m": pair(big.get("alpha_report_s"), big.get("psych_alpha_s"), inverse=True),
        "read_csv_vs_arrow_1m": pair(fmt.get("csv_ours_s"), fmt.get("csv_pyarrow_s")),
        "excel_vs_openpyxl_100k": pair(fmt.get("xlsx_ours_s"), fmt.get("xlsx_openpyxl_s")),
        "sav_vs_pyreadstat_100k": pair(fmt.get("sav_ours_s"), fmt.get("sav_pyreadstat_s")),
        "pipeline_vs_floor_1m": pair(big.get("pipeline_fresh_process_s"), big.get("pipeline_floor_s")),
        "pipeline_memory_1m": ((big["pipeline_extra_memory_mb"] / big["ratings_memory_mb"],
                                {"extra_mb": big["pipeline_extra_memory_mb"], "ratings_mb": big["ratings_memory_mb"]})
                               if big else (None, {})),
        "report_vs_floor": pair(nb.get("full_cycle_report_s"), nb.get("floor_papermill_s")),
        "reports_parallel": pair(results.get("reports", {}).get("parallel_s"),
                                 results.get("reports", {}).get("sequential_s")),
        "cfa_vs_lavaan": pair(psy.get("ours", {}).get("cfa_ml_22"), lavaan.get("cfa_ml_22")),
        "suite_seconds": (results.get("suite", {}).get("seconds"), {}),
        "bootstrap_2000_5000x22_s": (results.get("bootstrap_5000x22", {}).get("ours_2000_s"), {}),
        "explorer_update_max_s": (results.get("explorer", {}).get("max_s"), {}),
        "norms_2_8m_s": (max(norms["dimension_s"], norms["item_s"]) if norms else None, {}),
        "norms_peak_mb": (norms.get("peak_mb"), {}),
    }
    if pipeline_s is not None:
        entries["pipeline_vs_floor_1m"][1]["in_process_s"] = pipeline_s
    out = {}
    for key, (label, op, bound) in TARGETS.items():
        value, times = entries[key]
        met = None if value is None else {"<=": value <= bound, "<": value < bound, ">=": value >= bound}[op]
        out[key] = {"label": label, "target": f"{op} {bound:g}", "value": value, "met": met, **times}
    return out


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = ["# servqual benchmarks", "",
             f"Machine: {m.get('cpu')}, {m.get('cpus')} cores, {m.get('memory_gb', '?')} GB; Python {m['python']}, "
             f"numpy {m['numpy']}, pandas {m['pandas']}; BLAS: {', '.join(m.get('blas', []))}.", "",
             "## Times (seconds, median)", "",
             "| respondents | read CSV | read Parquet | screen | gap_table item | gap_table dimension | alpha_report "
             "| pingouin alpha | psych::alpha | reliability | pipeline (fresh process) | extra memory MB | ratings MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, row in results["sizes"].items():
        psych = row.get("psych_alpha_s")
        lines.append(
            f"| {int(n):,} | {row['read_csv_s']:.3f} | {row['read_parquet_s']:.3f} | {row['screen_s']:.3f} | "
            f"{row['gap_table_item_s']:.3f} | {row['gap_table_dimension_s']:.3f} | {row['alpha_report_s']:.3f} | "
            f"{row['pingouin_cronbach_alpha_s']:.3f} | {'—' if psych is None else f'{psych:.3f}'} | "
            f"{row['reliability_s']:.3f} | {row['pipeline_fresh_process_s']:.3f} | {row['pipeline_extra_memory_mb']:.0f} | "
            f"{row['ratings_memory_mb']:.0f} |")
    boot = results["bootstrap_5000x22"]
    lines += ["", f"Bootstrap on 5,000 × 22: servqual 2,000 resamples {boot['ours_2000_s']:.3f} s"
              + (f"; psych::alpha(n.iter = 1000) {boot['psych_n_iter_1000_s']:.2f} s"
                 if boot.get("psych_n_iter_1000_s") else "") + "."]
    if "formats" in results:
        fm = results["formats"]
        lines += [f"Reading with validation beside the bare reader: CSV ({fm['csv_respondents']:,} respondents) "
                  f"{fm['csv_ours_s']:.2f} s vs pyarrow {fm['csv_pyarrow_s']:.2f} s; .xlsx "
                  f"({fm['other_respondents']:,}) {fm['xlsx_ours_s']:.2f} s vs openpyxl {fm['xlsx_openpyxl_s']:.2f} s; "
                  f".sav {fm['sav_ours_s']:.2f} s vs pyreadstat {fm['sav_pyreadstat_s']:.2f} s."]
    if "notebooks" in results:
        nb = results["notebooks"]
        lines += [f"Full cycle report {nb['full_cycle_report_s']:.1f} s; a notebook that imports servqual and reads "
                  f"the cycle, through papermill, {nb['floor_papermill_s']:.1f} s."]
    if "suite" in results:
        lines += [f"make test: {results['suite']['seconds']:.0f} s on {results['suite']['cores']} cores."]
    if "explorer" in results:
        ex = results["explorer"]
        lines += [f"Explorer: {ex['updates']} updates, median {ex['median_s']:.2f} s, slowest {ex['max_s']:.2f} s "
                  f"({ex['slowest']})."]
    if "psychometrics" in results:
        psy = results["psychometrics"]
        theirs = psy.get("lavaan") or {}
        labels = {"cfa_ml_22": "ML CFA, 22 items, 5 factors (2005 sample)",
                  "invariance_4_levels": "invariance, 4 levels × 4 segments (lavaan: 4 fits, no SEs)",
                  "cfa_fiml_hs": "FIML CFA, Holzinger–Swineford with blanks",
                  "cfa_wlsmv_13": "WLSMV CFA, 13 ordered items",
                  "cfa_fiml_lite": "FIML CFA, Lite sample (1,400 patterns)"}
        lines += ["", "## Psychometrics beside lavaan (seconds, median)", "",
                  "| fit | servqual | lavaan | lavaan / servqual |", "|---|---|---|---|"]
        for key, value in psy["ours"].items():
            other = theirs.get(key)
            lines.append(f"| {labels.get(key, key)} | {value:.3f} | {'—' if other is None else f'{other:.3f}'} | "
                         f"{'—' if other is None else f'{other / value:.1f}×'} |")
    if "reports" in results:
        rp = results["reports"]
        lines += [f"{rp['reports']} sample reports: one after another {rp['sequential_s']:.1f} s, on {rp['cores']} "
                  f"cores at once {rp['parallel_s']:.1f} s ({rp['ratio']:.2f}×)."]
    if "norms" in results:
        no = results["norms"]
        lines += ["", f"Consortium norms (DuckDB over Parquet, fresh process): {no['institutions']:,} institutions, "
                  f"{no['respondents']:,} respondents, {no['dataset_mb']:.0f} MB of Parquet — dimension norms by user "
                  f"group {no['dimension_s']:.2f} s, item norms {no['item_s']:.2f} s, peak {no['peak_mb']:.0f} MB; "
                  f"the same dimension norms in plain pandas (every file in one frame) {no['pandas_dimension_s']:.2f} s"
                  f", peak {no['pandas_peak_mb']:.0f} MB ({no['pandas_vs_duckdb_s']:.1f}× the time, "
                  f"{no['pandas_vs_duckdb_memory']:.1f}× the memory)."]
    lines += ["", "## Ratios and targets", "", "| measure | target | value | met |", "|---|---|---|---|"]
    for t in results["ratios"].values():
        value = "—" if t["value"] is None else f"{t['value']:.3f}"
        met = "—" if t["met"] is None else ("yes" if t["met"] else "**no**")
        lines.append(f"| {t['label']} | {t['target']} | {value} | {met} |")
    return "\n".join(lines) + "\n"


README_BEGIN = "<!-- speed table: written by benchmarks/run.py --readme from benchmarks/results.json -->"
README_END = "<!-- end of speed table -->"


def readme_table(results: dict) -> str:
    """The README's speed table, from a full run's results (what is missing is left out)."""
    m = results["machine"]
    r = results["ratios"]
    rows = []

    def times(key, theirs, unit="s"):
        t = r[key]
        if t.get("value") is None:
            return
        rows.append((t["label"].split(" / ")[0] + f" vs {theirs}",
                     f"{t['ours_s']:.2f} {unit} vs {t['theirs_s']:.2f} {unit} ({t['value']:.2f}×)"))

    times("alpha_vs_pingouin_1m", "`pingouin.cronbach_alpha`")
    if r["alpha_vs_psych_1m"]["value"]:
        rows.append(("`alpha_report` vs R `psych::alpha`", f"{r['alpha_vs_psych_1m']['value']:.0f}× faster"))
    times("read_csv_vs_arrow_1m", "`pyarrow.csv.read_csv`")
    times("excel_vs_openpyxl_100k", "openpyxl")
    times("sav_vs_pyreadstat_100k", "`pyreadstat.read_sav`")
    times("pipeline_vs_floor_1m", "pyarrow + one numpy pass")
    if r["pipeline_memory_1m"]["value"]:
        rows.append(("peak extra memory of that pipeline", f"{r['pipeline_memory_1m']['value']:.1f}× the ratings"))
    times("report_vs_floor", "a notebook that imports servqual and reads the cycle")
    rp = results.get("reports")
    if rp:
        rows.append((f"the {rp['reports']} sample reports, one after another vs on {rp['cores']} cores at once",
                     f"{rp['sequential_s']:.0f} s vs {rp['parallel_s']:.0f} s ({rp['ratio']:.2f}×)"))
    times("cfa_vs_lavaan", "`lavaan::cfa`")
    boot = results.get("bootstrap_5000x22", {})
    if boot.get("ours_2000_s"):
        theirs = (f" (psych, 1,000 resamples: {boot['psych_n_iter_1000_s']:.1f} s)"
                  if boot.get("psych_n_iter_1000_s") else "")
        rows.append(("bootstrap CI, 2,000 resamples on 5,000 × 22", f"{boot['ours_2000_s']:.2f} s{theirs}"))
    no = results.get("norms")
    if no and "pandas_dimension_s" in no:
        rows.append((f"consortium norms, {no['respondents'] / 1e6:.2f} M respondents: DuckDB vs plain pandas",
                     f"{no['dimension_s']:.2f} s / {no['peak_mb']:.0f} MB vs {no['pandas_dimension_s']:.1f} s / "
                     f"{no['pandas_peak_mb'] / 1024:.1f} GB"))
    if results.get("suite"):
        rows.append(("`make test` (the whole suite)", f"{results['suite']['seconds']:.0f} s"))
    n = results.get("largest_size", 0)
    met = sum(1 for t in r.values() if t["met"])
    measured = sum(1 for t in r.values() if t["met"] is not None)
    head = (f"Latest `make bench` ({m.get('cpus')} cores, {m.get('cpu')}, {m.get('memory_gb', '?')} GB, Python "
            f"{m['python']}), at {n:,} respondents × 22 items where a size applies; {met} of {measured} targets met "
            "(benchmarks/results.md):")
    lines = [head, "", "| measure | result |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


def update_readme(results: dict, path: Path = ROOT / "README.md") -> bool:
    """Replace the README's speed table (between its markers) with this run's."""
    text = path.read_text()
    if README_BEGIN not in text or README_END not in text:
        return False
    before, rest = text.split(README_BEGIN, 1)
    _, after = rest.split(README_END, 1)
    path.write_text(f"{before}{README_BEGIN}\n{readme_table(results)}\n{README_END}{after}")
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 respondents, one repetition, no R, no reports")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--no-reports", action="store_true")
    parser.add_argument("--no-suite", action="store_true", help="leave out timing the whole test suite")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    parser.add_argument("--readme", action="store_true", help="rewrite the README's speed table from this run")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.quick:
        args.sizes, args.reps, args.no_r, args.no_reports, args.no_suite = [10_000], 1, True, True, True
    results = run(args.sizes, args.reps, with_r=not args.no_r, with_reports=not args.no_reports,
                  with_suite=not args.no_suite)
    out = Path(args.out)
    out.write_text(json.dumps(results, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results))
    if args.readme and not args.quick:
        update_readme(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
