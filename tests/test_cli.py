import subprocess
import sys

import pytest

import servqual as sq
from servqual.cli import main

from .conftest import ROOT, SAMPLE


def run(*args):
    return subprocess.run([sys.executable, "-m", "servqual.cli", *args], cwd=ROOT, capture_output=True, text=True)


def test_score_prints_the_2005_gap_tables(sample_2005, capsys):
    assert main(["score", "params/2005.yaml"]) == 0
    out = capsys.readouterr().out
    assert "Library client survey 2005" in out and "1180 of 1180 respondents kept" in out
    table = sq.gap_table(sample_2005, "dimension", by="segment").set_index(["segment", "dimension"])
    line = next(line for line in out.splitlines() if line.strip().startswith("postgraduate") and "empathy" in line)
    row = table.loc[("postgraduate", "empathy")]
    assert line.split()[2:7] == [str(int(row["n"])), f"{row['expectation']:.2f}", f"{row['perception']:.2f}",
                                 f"{row['gap']:.2f}", f"{row['gap_ci_low']:.2f}"]
    overall = sq.gap_table(sample_2005, "overall").set_index("dimension").loc["overall"]
    assert f"{overall['gap']:.2f}" in out.split("All respondents, overall")[1]
    assert "R05" not in out  # no respondent-level rows in the main job's output


def test_validate_reports_problems_and_exit_code(tmp_path):
    bad = tmp_path / "bad.csv"
    lines = (SAMPLE / "library-2005.csv").read_text().splitlines()
    cells = lines[2].split(",")  # line 3 of the file: the second respondent
    cells[lines[0].split(",").index("E01")] = "66"
    bad.write_text("\n".join(lines[:2] + [",".join(cells)] + lines[3:]) + "\n")
    result = run("validate", str(bad), "--instrument", "servqual-22", "--column", "expectation=E{index:02d}",
                 "--column", "perception=P{index:02d}", "--id", "respondent_id", "--segment", "segment")
    assert result.returncode == 1
    assert "line 3, column 'E01': 66 is outside the scale 1–7" in result.stderr
    ok = run("validate", "params/library-core-2007.yaml")
    assert ok.returncode == 0, ok.stderr
    assert "1250 respondents read" in ok.stdout and "not_applicable" in ok.stdout


def test_instruments_and_show(capsys):
    assert main(["instruments"]) == 0
    assert "library-core-22" in capsys.readouterr().out
    assert main(["show", "servqual-22-1988"]) == 0
    out = capsys.readouterr().out
    assert "reverse-keyed: RS1, RS2, RS3, RS4, E1, E2, E3, E4, E5" in out


def test_params_errors_are_one_line(tmp_path, capsys):
    params = tmp_path / "p.yaml"
    params.write_text("year: 2005\ninstrument: servqual-22\nresponses: data/raw/library-2005.csv\nsegmnets: [segment]\n")
    assert main(["score", str(params)]) == 1
    assert f"{params}: unknown key 'segmnets'; did you mean 'segments'?" in capsys.readouterr().err
    params.write_text("year: 2005\ninstrument: servqual-23\nresponses: data/raw/library-2005.csv\n")
    assert main(["score", str(params)]) == 1
    assert "unknown instrument 'servqual-23'" in capsys.readouterr().err
    params.write_text("year: 2005\ninstrument: servqual-22\nresponses: data/raw/nothing.csv\n")
    assert main(["score", str(params)]) == 1
    assert "responses: file 'data/raw/nothing.csv' not found" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["2005", "2006", "2007", "library-core-2007", "library-lite-2008", "ipa-2007",
                                  "staff-hpws-2007"])
def test_every_params_file_reads(name):
    from servqual.params import load_params, read_cycle

    params = load_params(ROOT / "params" / f"{name}.yaml")
    survey = read_cycle(params)
    assert survey.n > 0 and survey.year == params.year


def test_several_reports_run_at_once_and_each_failure_is_named(tmp_path, capsys, monkeypatch):
    """The parallel path (a worker process per report); the reports themselves are the
    sequential path's, run concurrently by the wheel test and timed by the benchmark."""
    import os

    from servqual.cli import main

    from .conftest import ROOT

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"instrument: servqual-22\nresponses: {tmp_path / 'missing.csv'}\n")
    worse = tmp_path / "worse.yaml"
    worse.write_text(f"instrument: no-such-instrument\nresponses: {ROOT / 'data/raw/library-2005.csv'}\n")
    code = main(["report", str(bad), str(worse), "--jobs", "2", "--reports-dir", str(tmp_path / "reports")])
    captured = capsys.readouterr()
    assert code == 1
    assert "2 reports, 2 at a time" in captured.out and "0 of 2 reports written; 2 failed" in captured.out
    assert "bad.yaml: failed" in captured.err and "missing.csv" in captured.err
    assert "worse.yaml: failed" in captured.err and "no-such-instrument" in captured.err
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # the one-thread setting is the workers' only
    assert "reports:" in captured.err and "2/2" in captured.err  # the bar over the reports


@pytest.mark.parametrize("quiet", [False, True])
def test_long_reads_show_their_stages_unless_quiet(monkeypatch, capsys, quiet):
    """Each stage of a large read is a line on standard error while the command runs;
    --quiet leaves them out, and the result on standard output is the same."""
    import logging

    import servqual.io

    monkeypatch.setattr(servqual.io, "LARGE_READ", 100)  # the sample's 1,180 rows count as large
    code = main(["validate", "--params", str(ROOT / "params" / "2005.yaml")] + (["--quiet"] if quiet else []))
    captured = capsys.readouterr()
    assert code == 0 and "respondents read" in captured.out
    stages = [line.strip() for line in captured.err.splitlines() if line.startswith("  library-2005.csv: ")]
    if quiet:
        assert stages == []
    else:
        assert [s.split(": ", 1)[1].split(" (")[0] for s in stages] == [
            "read 1,180 rows × 53 columns", "checked 44 rating columns", "ids, segments and weights",
            "screened: 1,180 of 1,180 respondents kept"]
        assert all(s.endswith(" s)") for s in stages)
    assert not logging.getLogger("servqual").handlers  # the command's handler is gone again
