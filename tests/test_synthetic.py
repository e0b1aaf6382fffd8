import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.synthetic import (
    SAMPLES,
    Defects,
    simulate_responses,
    simulate_staff,
    write_sample_data,
)

from .conftest import SAMPLE, SQ_COLUMNS


def test_deterministic_and_seeded():
    a = simulate_responses("servqual-22", n=300, seed=1)
    b = simulate_responses("servqual-22", n=300, seed=1)
    c = simulate_responses("servqual-22", n=300, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_committed_samples_are_regenerated_exactly(tmp_path):
    """data/README.md's command rewrites the committed files byte for byte."""
    written = write_sample_data(tmp_path)
    assert {p.name for p in written} == set(SAMPLES) | {"staff-hpws-2007.csv"}
    for path in written:
        assert path.read_bytes() == (SAMPLE / path.name).read_bytes(), path.name


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="OpenBLAS core names are x86 ones")
def test_samples_do_not_depend_on_the_processor(tmp_path):
    """The same files under another BLAS/LAPACK kernel: OpenBLAS picks its kernels by
    processor (an SVD of the equicorrelated latent covariance once gave other files on an
    Intel Xeon than on an AMD EPYC).  Prescott's kernels run on every x86-64 processor."""
    script = ("import sys; from servqual.synthetic import write_sample_data; "
              "print('\\n'.join(str(p) for p in write_sample_data(sys.argv[1])))")
    env = dict(os.environ, OPENBLAS_CORETYPE="Prescott")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    written = [Path(line) for line in run.stdout.split()]
    assert len(written) == len(SAMPLES) + 1
    for path in written:
        assert path.read_bytes() == (SAMPLE / path.name).read_bytes(), path.name


@pytest.mark.parametrize("name", list(SAMPLES))
def test_samples_read_and_score(name):
    instrument, kwargs = SAMPLES[name]
    survey = sq.read_survey(SAMPLE / name, instrument, columns=kwargs.get("columns"), id="respondent_id",
                            segments=["segment", "branch"], year=kwargs["year"],
                            comments="comment" if kwargs.get("comments") else None)
    assert 900 <= survey.n_read <= 1500
    assert set(survey.respondents["segment"]) == {"undergraduate", "postgraduate", "academic staff", "library staff"}
    assert set(survey.respondents["branch"]) == {"Central", "Science", "Health", "Law"}
    table = sq.gap_table(survey, "dimension")
    for gap in survey.instrument.gaps:
        assert table[gap.name].notna().all()


def test_realistic_defect_rates(sample_2005):
    e = sample_2005.ratings("expectation", include_excluded=True)
    p = sample_2005.ratings("perception", include_excluded=True)
    missing = np.isnan(np.r_[e.to_numpy(), p.to_numpy()]).mean()
    assert 0.005 < missing < 0.03
    flagged = sample_2005.screening.loc[sample_2005.screening["rule"] == "straight_lining", "id"].nunique()
    assert 0.01 < flagged / sample_2005.n_read < 0.08
    # expectations sit above perceptions, as in every published SERVQUAL study
    assert e.stack().mean() - p.stack().mean() > 0.8
    # dimensions correlate positively but are not identical
    dims = sq.scores(sample_2005, "dimension")["perception"].corr()
    off = dims.to_numpy()[np.triu_indices(5, 1)]
    assert (off > 0.3).all() and (off < 0.95).all()


def test_segment_and_year_effects():
    kwargs = dict(columns=SQ_COLUMNS, id="respondent_id", segments=["segment"])
    gaps = {
        y: sq.gap_table(sq.read_survey(SAMPLE / f"library-{y}.csv", "servqual-22", year=y,
                                       comments="comment" if y == 2007 else None, **kwargs), "overall")
        .set_index("dimension").loc["overall", "gap"]
        for y in (2005, 2006, 2007)
    }
    assert gaps[2005] < gaps[2006] < gaps[2007]  # service improves cycle by cycle
    table = sq.gap_table(sq.read_survey(SAMPLE / "library-2005.csv", "servqual-22", **kwargs), "overall", by="segment")
    by_seg = table[table["dimension"] == "overall"].set_index("segment")["gap"]
    assert by_seg["postgraduate"] == by_seg.min()  # postgraduates see the largest shortfall


def test_three_column_defects_trigger_each_rule():
    survey = sq.read_survey(SAMPLE / "library-core-2007.csv", "library-core-22", id="respondent_id",
                            segments=["segment"], comments="comment")
    rules = set(survey.screening.loc[survey.screening["action"] == "excluded", "rule"])
    assert rules == {"incomplete", "not_applicable", "inversions"}
    assert 0.03 < survey.n_excluded / survey.n_read < 0.2


def test_staff_survey_and_custom_defects():
    staff = simulate_staff()
    survey = sq.read_survey(SAMPLE / "staff-hpws-2007.csv", "hpws-staff", id="respondent_id", segments=["branch", "role"])
    assert survey.n_read == len(staff) and set(survey.respondents["branch"]) == {"Central", "Science", "Health", "Law"}
    clean = simulate_responses("servqual-22", n=200, seed=3, defects=Defects(
        missing_cell=0, straight_lining=0, abandoned=0, blank_weights=0, blank_overall=0))
    assert clean.drop(columns=["respondent_id", "segment", "branch"]).notna().all().all()


def test_an_unnamed_comment_column_with_personal_data_is_dropped_not_read():
    with pytest.warns(UserWarning, match="dropped column\\(s\\) that look like personal data: 'comment'"):
        survey = sq.read_survey(SAMPLE / "library-core-2007.csv", "library-core-22", id="respondent_id",
                                segments=["segment"])
    assert "comment" not in survey.frame.columns and survey.comments is None
