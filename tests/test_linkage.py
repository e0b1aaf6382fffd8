import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import servqual as sq  # noqa: E402
from servqual.linkage import aggregation, icc_anova, link, rwg_j  # noqa: E402
from servqual.plots import alt_text, plot_linkage  # noqa: E402
from servqual.report import run_linkage  # noqa: E402

from .conftest import DATA, GOLDEN, ROOT  # noqa: E402

GOLD = json.loads((GOLDEN / "linkage.json").read_text())
TOL = 1e-4


@pytest.fixture(scope="module")
def staff():
    return sq.read_survey(DATA / "fixture-staff.csv", "hpws-staff", id="respondent_id", segments=["branch"])


@pytest.fixture(scope="module")
def clients():
    return sq.read_survey(DATA / "fixture-clients.csv", "servqual-22", id="respondent_id", segments=["branch"])


def test_agreement_and_icc_match_r(staff):
    result = aggregation(staff)
    ours = result.agreement.set_index(["branch", "characteristic"])["rwg_j"]
    theirs = pd.DataFrame(GOLD["agreement"]).set_index(["branch", "characteristic"])["rwg_j"]
    assert len(ours) == len(theirs) == 12 * 8
    np.testing.assert_allclose(ours, theirs.reindex(ours.index), rtol=TOL)
    icc = result.icc.set_index("characteristic")
    gold = pd.DataFrame(GOLD["icc"]).set_index("characteristic")
    for column in ("icc1", "icc2", "f", "p"):
        np.testing.assert_allclose(icc[column], gold.loc[icc.index, column], rtol=TOL, err_msg=column)


def test_rwg_and_icc_formulas_on_known_cases():
    # perfect agreement within a unit: r_wg(j) = 1; uniform answering: 0
    assert rwg_j(np.array([[3, 4], [3, 4], [3, 4]]), 5) == 1.0
    uniform = np.array([[1, 5], [2, 4], [3, 3], [4, 2], [5, 1]] * 4, dtype=float)
    assert rwg_j(uniform, 5) == 0.0
    # units that differ and agree inside: ICC(1) near 1
    values = np.r_[np.full(10, 2.0) + np.linspace(-0.01, 0.01, 10), np.full(10, 4.0) + np.linspace(-0.01, 0.01, 10)]
    icc = icc_anova(values, np.repeat(["a", "b"], 10))
    assert icc["icc1"] > 0.99 and icc["icc2"] > 0.99


def test_link_matches_r(staff, clients):
    result = link(staff, clients)
    units = result.units.set_index("branch")
    gold_units = pd.DataFrame(GOLD["units"]).set_index("branch")
    for column in ("staff_n", "climate", "client_gap", "client_perception"):
        np.testing.assert_allclose(units[column], gold_units.loc[units.index, column], rtol=TOL, err_msg=column)
    corr = result.correlations.set_index("outcome")
    for outcome, key in (("client_gap", "gap"), ("client_perception", "perception")):
        for column in ("r", "ci_low", "ci_high", "p"):
            assert corr.loc[outcome, column] == pytest.approx(GOLD["correlations"][key][column], rel=TOL)
    mixed = result.mixed_model.set_index("term")
    assert mixed.loc["intercept", "estimate"] == pytest.approx(GOLD["mixed"]["fixef"]["(Intercept)"], rel=TOL)
    assert mixed.loc["climate", "estimate"] == pytest.approx(GOLD["mixed"]["fixef"]["climate"], rel=TOL)
    assert mixed.loc["intercept", "se"] == pytest.approx(GOLD["mixed"]["se"]["(Intercept)"], rel=TOL)
    assert mixed.loc["climate", "se"] == pytest.approx(GOLD["mixed"]["se"]["climate"], rel=TOL)
    assert mixed.loc["unit intercept variance", "estimate"] == pytest.approx(GOLD["mixed"]["unit_variance"], rel=1e-3)
    assert mixed.loc["residual variance", "estimate"] == pytest.approx(GOLD["mixed"]["residual_variance"], rel=TOL)
    assert int(mixed["n_respondents"].iloc[0]) == GOLD["mixed"]["n"]


def test_sample_branches_show_a_modest_honest_link():
    staff = sq.read_cycle(ROOT / "params" / "staff-hpws-2007.yaml")
    clients = sq.read_cycle(ROOT / "params" / "2007.yaml")
    result = link(staff, clients)
    assert result.n_units == 4
    r = result.correlations.set_index("outcome").loc["client_gap"]
    assert r["r"] > 0.3 and r["ci_low"] < 0  # positive, and four units cannot show more
    assert any("only 4 units" in n for n in result.notes)
    assert any("only 4 units" in w for w in aggregation(staff).warnings)


def test_errors(staff, clients):
    with pytest.raises(KeyError, match="unit column 'campus' is not in the staff survey"):
        link(staff, clients, unit="campus")
    with pytest.raises(ValueError, match="at least three units"):
        link(staff, clients, min_group_n=10_000)
    with pytest.raises(ValueError, match="has no gaps to link"):
        link(staff, staff)


def test_plot_linkage(staff, clients):
    units = link(staff, clients).units
    ax = plot_linkage(units)
    points = [c for c in ax.collections if c.get_gid() == "units"][0].get_offsets()
    np.testing.assert_allclose(points[:, 0], units["climate"])
    np.testing.assert_allclose(points[:, 1], units["client_gap"])
    assert [t.get_text() for t in ax.texts if t.get_text().startswith("B")] == list(units["branch"])
    assert "r = " in alt_text(ax)
    plt.close("all")


def test_linkage_report(tmp_path):
    folder = run_linkage(ROOT / "params" / "staff-hpws-2007.yaml", ROOT / "params" / "2007.yaml",
                         reports_dir=tmp_path, progress=False, out=open("/dev/null", "w"))
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["correlation_climate_gap"]["n_units"] == 4
    for name in ("units", "unit_correlations", "mixed_model", "staff_icc", "staff_reliability"):
        assert (folder / "tables" / f"{name}.csv").exists()
    assert (folder / "figures" / "linkage.png").exists()
    html = (folder / "report.html").read_text()
    assert "LinkageReport" not in html and "Can staff answers be aggregated to units?" in html
