"""The benchmark harness runs (quick mode) so that it does not rot; no timing is asserted."""

import json
import subprocess
import sys

from .conftest import ROOT


def test_quick_benchmark_runs_and_reports_every_measure(tmp_path):
    out = tmp_path / "results.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
                   check=True, capture_output=True, cwd=ROOT)
    results = json.loads(out.read_text())
    row = results["sizes"]["10000"]
    for key in ("read_csv_s", "read_parquet_s", "screen_s", "gap_table_item_s", "gap_table_dimension_s",
                "alpha_report_s", "pingouin_cronbach_alpha_s", "reliability_s", "pipeline_fresh_process_s",
                "pipeline_floor_s", "pipeline_extra_memory_mb", "ratings_memory_mb"):
        assert row[key] >= 0, key
    for key in ("csv_ours_s", "csv_pyarrow_s", "xlsx_ours_s", "xlsx_openpyxl_s", "sav_ours_s", "sav_pyreadstat_s"):
        assert results["formats"][key] > 0, key
    assert results["bootstrap_5000x22"]["ours_2000_s"] > 0
    ratios = results["ratios"]
    assert set(ratios) == {"alpha_vs_pingouin_1m", "alpha_vs_psych_1m", "read_csv_vs_arrow_1m",
                           "excel_vs_openpyxl_100k", "sav_vs_pyreadstat_100k", "pipeline_vs_floor_1m",
                           "pipeline_memory_1m", "report_vs_floor", "reports_parallel", "cfa_vs_lavaan",
                           "suite_seconds", "bootstrap_2000_5000x22_s", "explorer_update_max_s", "norms_2_8m_s",
                           "norms_peak_mb"}
    # measured at 1M only: a quick run leaves them open rather than calling 10k a million
    assert ratios["read_csv_vs_arrow_1m"]["met"] is None and ratios["pipeline_vs_floor_1m"]["value"] is None
    assert ratios["bootstrap_2000_5000x22_s"]["value"] > 0 and ratios["bootstrap_2000_5000x22_s"]["met"] in (True, False)
    assert all(t["target"][0] in "<>" for t in ratios.values())
    assert results["norms"]["institutions"] == 3 and results["norms"]["dimension_rows"] > 0
    assert set(results["psychometrics"]["ours"]) == {"cfa_ml_22", "invariance_4_levels", "cfa_fiml_hs",
                                                     "cfa_wlsmv_13"}
    table = out.with_suffix(".md").read_text()
    assert "| 10,000 |" in table and "Ratios and targets" in table and "Psychometrics beside lavaan" in table and results["machine"]["cpus"] >= 1


def test_norms_scale_harness_runs(tmp_path):
    import pandas as pd

    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "norms_scale.py"), "--institutions", "3",
                          "--respondents", "150", "--folder", str(tmp_path / "c")],
                         check=True, capture_output=True, text=True, cwd=ROOT)
    result = json.loads(out.stdout)
    kept = sum(len(pd.read_parquet(p)) for p in (tmp_path / "c").rglob("*.parquet"))
    assert result["institutions"] == 3 and result["respondents"] == kept and 3 * 120 < kept < 3 * 180
    assert result["dimension_rows"] == 12 and result["item_rows"] == 4 * 22 and result["peak_mb"] > 0


def test_the_readme_speed_table_is_the_committed_results():
    """README's table is written from benchmarks/results.json (make bench), never by hand."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    readme = (ROOT / "README.md").read_text()
    block = readme.split(run.README_BEGIN, 1)[1].split(run.README_END, 1)[0].strip()
    assert block == run.readme_table(results)
    assert f"{results['machine']['cpus']} cores" in block and "| measure | result |" in block
