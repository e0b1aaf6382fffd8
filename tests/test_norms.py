"""Consortium norms (DuckDB over Parquet) against a plain pandas computation."""

import math

import numpy as np
import pandas as pd
import pytest

import servqual as sq
from servqual.norms import PERCENTILES, institution_means
from servqual.synthetic import consortium_member


@pytest.fixture(scope="module")
def consortium(tmp_path_factory):
    folder = tmp_path_factory.mktemp("consortium")
    raw = tmp_path_factory.mktemp("raw")
    members = {}
    for k in range(9):
        for year in (2023, 2024):
            survey = consortium_member("library-core-22", k, n=60 + 15 * k, year=year, folder=raw)
            sq.consortium_add(survey, folder, institution=f"lib-{k}")
            members[(f"lib-{k}", year)] = survey
    pd.DataFrame({"institution": [f"lib-{k}" for k in range(9)],
                  "type": ["university"] * 6 + ["college"] * 3,
                  "shareable": ["yes"] * 2 + ["no"] * 7}).to_csv(folder / "institutions.csv", index=False)
    return folder, members


def pandas_means(members, quantity, by, min_group_n, level="dimension"):
    """Stage 1 by hand: per institution-year (and user group) the mean of each score."""
    rows = []
    for (inst_id, year), survey in members.items():
        inst = survey.instrument
        x = {m: survey.ratings(m) for m in inst.measures}
        if quantity in inst.measures:
            items = x[quantity]
        else:
            gap = inst.gap(quantity)
            items = x[gap.minuend] - x[gap.subtrahend]
        if level == "dimension":
            scores = {}
            for dim, its in inst.dimensions.items():
                block = items[list(its)]
                count = block.notna().sum(axis=1)
                scores[dim] = (block.sum(axis=1) / count).where(count >= math.ceil(len(its) / 2))
            scores = pd.DataFrame(scores)
        else:
            scores = items
        groups = survey.respondents["segment"].astype(str) if by else pd.Series("all", index=scores.index)
        for label, part in scores.groupby(groups.to_numpy()):
            for unit in scores.columns:
                values = part[unit].dropna()
                if len(values) >= min_group_n:
                    rows.append({"institution": inst_id, "year": year, "user_group": label, "unit": unit,
                                 "n": len(values), "mean": values.mean()})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("quantity", ["perceived", "adequacy"])
def test_norms_equal_a_plain_pandas_computation(consortium, quantity):
    folder, members = consortium
    ours = sq.norms(folder, quantity=quantity, min_group_n=10)
    means = pandas_means(members, quantity, True, 10)
    assert len(ours) == means.groupby(["user_group", "unit"]).ngroups
    for _, row in ours.iterrows():
        values = means[(means["user_group"] == row["user_group"]) & (means["unit"] == row["dimension"])]["mean"]
        assert row["institutions"] == len(values)
        assert row["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert row["sd"] == pytest.approx(values.std(ddof=1), rel=1e-10, nan_ok=True)
        # R's type 7 = numpy's "linear"
        expected = np.percentile(values, PERCENTILES, method="linear")
        np.testing.assert_allclose(row[[f"p{q}" for q in PERCENTILES]].astype(float), expected, rtol=1e-12)
    assert "institution" not in ours.columns


def test_stage_one_and_items(consortium):
    folder, members = consortium
    ours = institution_means(folder, level="item", by=None, year=2024, min_group_n=10)
    theirs = pandas_means({k: v for k, v in members.items() if k[1] == 2024}, "perceived", False, 10, level="item")
    merged = ours.merge(theirs, on=["institution", "year", "unit"], suffixes=("", "_pd"))
    assert len(merged) == len(theirs) == len(ours)
    np.testing.assert_allclose(merged["mean"], merged["mean_pd"], rtol=1e-12)
    assert (merged["n"] == merged["n_pd"]).all()


def test_small_groups_peers_and_position(consortium):
    folder, members = consortium
    strict = sq.norms(folder, min_group_n=40)
    loose = sq.norms(folder, min_group_n=1)
    assert strict["institutions"].sum() < loose["institutions"].sum()  # small groups stay out
    colleges = sq.norms(folder, by=None, peers={"type": "college"})
    assert (colleges["institutions"] == 3 * 2).all()  # three institutions, two years each
    listed = sq.norms(folder, by=None, peers=["lib-0", "lib-1"], year=2024)
    assert (listed["institutions"] == 2).all()
    ours = consortium_member("library-core-22", 42, n=300, year=2024)
    table = sq.position(ours, folder, by=None)
    peers = institution_means(folder, by=None, year=2024)
    for _, row in table.iterrows():
        values = peers[peers["unit"] == row["dimension"]]["mean"].to_numpy()
        below = (values < row["mean"]).sum() + 0.5 * (values == row["mean"]).sum()
        assert row["percentile_rank"] == pytest.approx(100 * below / len(values))
        assert row["peers"] == 9
        assert "of 9 peer libraries" in row["sentence"]
    # the library itself never counts among its own peers
    mine = sq.position(members[("lib-3", 2024)], folder, institution="lib-3", by=None)
    assert (mine["peers"] == 8).all()


def test_bad_input_is_named(consortium, tmp_path):
    folder, members = consortium
    with pytest.raises(ValueError, match="not a consortium dataset"):
        sq.norms(tmp_path)
    with pytest.raises(ValueError, match="institution must be a plain id"):
        sq.consortium_add(members[("lib-0", 2023)], folder, institution="../etc")
    with pytest.raises(ValueError, match="quantity must be one of"):
        sq.norms(folder, quantity="expectation")
    with pytest.raises(ValueError, match="peers: 'region' is not a column"):
        sq.norms(folder, peers={"region": "north"})
    # a second form in the dataset: the caller must choose
    sq.consortium_add(consortium_member("servqual-22", 1, n=40, year=2024), folder, institution="lib-x")
    with pytest.raises(ValueError, match="several forms"):
        sq.norms(folder)
    assert len(sq.norms(folder, form="servqual-22", by=None, min_group_n=10)) == 5


def test_nothing_personal_is_written(consortium):
    folder, _ = consortium
    frame = pd.read_parquet(next(folder.glob("institution=lib-0/year=2023/form=*/*.parquet")))
    assert "respondent_id" not in frame.columns and "branch" not in frame.columns
    assert set(frame.columns) == {"user_group"} | {c for c in frame.columns if "__" in c}


def test_the_revised_two_question_form_reads_scores_and_enters_norms(tmp_path):
    inst = sq.load_instrument("library-revised-25")
    assert inst.measures == ("importance", "current") and inst.performance == "current"
    assert inst.importance == "importance" and inst.gaps[0].expression == "current - importance"
    assert list(inst.dimensions) == ["service_quality", "information_control", "library_spaces",
                                     "skills_development"]
    assert not inst.has_zone_of_tolerance
    survey = consortium_member(inst, 0, n=250, year=2025, folder=tmp_path / "raw")
    table = sq.gap_table(survey, "dimension")
    assert list(table["dimension"]) == list(inst.dimensions)
    np.testing.assert_allclose(table["gap"], table["current"] - table["importance"], atol=1e-12)
    for k in range(4):
        sq.consortium_add(consortium_member(inst, k, n=80, year=2025, folder=tmp_path / "raw"), tmp_path / "c",
                          institution=f"r{k}")
    norms = sq.norms(tmp_path / "c", quantity="gap", by=None)
    assert list(norms["dimension"]) == list(inst.dimensions) and (norms["institutions"] == 4).all()


def test_consortium_command(tmp_path, capsys):
    from servqual.cli import main

    from .conftest import ROOT

    dataset = tmp_path / "consortium"
    files = [str(ROOT / "params" / f"{y}.yaml") for y in (2005, 2006)]
    assert main(["consortium", "add", *files, "--to", str(dataset), "--institution", "sample"]) == 0
    out = capsys.readouterr().out
    assert "added 1180 respondents of 2005 (servqual-22) as sample" in out
    assert sorted(p.name for p in (dataset / "institution=sample").iterdir()) == ["year=2005", "year=2006"]
    assert main(["consortium", "norms", str(dataset), "--by", "none", "--output", str(tmp_path / "n.csv")]) == 0
    table = pd.read_csv(tmp_path / "n.csv")
    assert (table["institutions"] == 2).all() and len(table) == 5
    assert main(["consortium", "add", files[0], "--to", str(dataset), "--institution", "../x"]) == 1
    assert "institution must be a plain id" in capsys.readouterr().err
    assert main(["consortium", "add", files[0], "--to", str(dataset), "--institution", "sample",
                 "--attribute", "type=university", "--attribute", "shareable=yes"]) == 0
    table = pd.read_csv(dataset / "institutions.csv", dtype=str)
    assert table.to_dict("records") == [{"institution": "sample", "type": "university", "shareable": "yes"}]
    assert main(["consortium", "add", files[0], "--to", str(dataset), "--institution", "sample",
                 "--attribute", "university"]) == 1
    assert "--attribute expects NAME=VALUE" in capsys.readouterr().err


def test_peer_figure_shows_every_peer_and_the_library(consortium):
    import matplotlib.pyplot as plt

    from servqual.plots import alt_text, plot_peers

    folder, _ = consortium
    ours = consortium_member("library-core-22", 42, n=300, year=2024)
    own = sq.position(ours, folder, by=None)
    peers = institution_means(folder, by=None, year=2024, form="library-core-22")  # another test adds a form
    ax = plot_peers(peers, own, instrument=ours.instrument)
    dots = next(c for c in ax.collections if c.get_gid() == "peers")
    assert len(dots.get_offsets()) == len(peers)
    library = next(c for c in ax.collections if c.get_gid() == "library")
    np.testing.assert_allclose(library.get_offsets()[:, 0], own["mean"])
    ranks = [t.get_text() for t in ax.texts if t.get_gid() == "rank"]
    assert ranks == [f"above {r:.0f}% of peers" for r in own["percentile_rank"]]
    assert [t.get_text().replace("\n", " ") for t in ax.get_yticklabels()] == [
        ours.instrument.dimension_label(d) for d in own["dimension"]]
    assert "against 9 peer libraries" in alt_text(ax)
    plt.close("all")


def test_the_cycle_report_places_the_library_among_its_peers(consortium, tmp_path):
    import matplotlib.pyplot as plt

    from servqual.params import ParamsError, load_params
    from servqual.report import CycleReport

    from .conftest import ROOT

    folder, members = consortium
    survey = members[("lib-4", 2024)]
    report = CycleReport(survey, tmp_path / "report",
                         consortium={"dataset": str(folder), "institution": "lib-4"})
    report.show("results")
    plt.close("all")
    assert "peers" in report.shown and not report.out.summary.get("failed_sections")
    table = pd.read_csv(tmp_path / "report" / "tables" / "peers.csv")
    assert (table["peers"] == 8).all()  # the library itself is not its own peer
    assert (tmp_path / "report" / "figures" / "peers.png").exists()
    assert "institution" not in table.columns
    # only the libraries marked shareable (lib-0, lib-1) are named, anywhere in the outputs
    named = pd.read_csv(tmp_path / "report" / "tables" / "peers_named.csv")
    assert list(named["peer"][:2]) == ["lib-0", "lib-1"] and set(named["peer"][2:]) == {"a peer library"}
    for path in (tmp_path / "report").rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json", ".html", ".md", ".svg"):
            text = path.read_text(errors="replace")
            assert not any(f"lib-{k}" in text for k in range(2, 9)), path
    plain = CycleReport(survey, tmp_path / "plain")
    plain.show("results")
    plt.close("all")
    assert "peers" not in plain.shown
    # params: the dataset folder resolves beside the params file, and a missing one is named
    params = tmp_path / "p.yaml"
    params.write_text(f"year: 2005\ninstrument: servqual-22\nresponses: {ROOT / 'data/raw/library-2005.csv'}\n"
                      f"consortium: {{dataset: {folder}, institution: lib-4}}\n")
    assert load_params(params).consortium["dataset"] == str(folder)
    params.write_text(f"year: 2005\ninstrument: servqual-22\nresponses: {ROOT / 'data/raw/library-2005.csv'}\n"
                      "consortium: {dataset: nowhere, institution: lib-4}\n")
    with pytest.raises(ParamsError, match="consortium: dataset folder 'nowhere' not found"):
        load_params(params)


def test_linked_trend_compares_only_what_both_forms_ask(tmp_path):
    from .conftest import ROOT

    core = sq.read_cycle(ROOT / "params" / "library-core-2007.yaml")
    revised = consortium_member("library-revised-25", 0, n=300, year=2025, folder=tmp_path)
    trend = sq.linked_trend([revised, core], min_group_n=None)  # any order: sorted by year
    assert list(dict.fromkeys(trend["year"])) == [2007, 2025]
    assert list(dict.fromkeys(trend["measure"])) == ["perceived", "current"]
    assert list(dict.fromkeys(trend["dimension"])) == ["service_quality", "information_control", "library_spaces"]
    assert "skills_development left out" in trend.attrs["note"] and "not compared" in trend.attrs["note"]
    assert not {"desired", "importance", "minimum"} & set(trend.columns)
    # the 2007 row of "service_quality" is the three-column form's service affect, scored as usual
    affect = sq.scores(core, "dimension", paired=False)["perceived"]["service_affect"].dropna()
    row = trend[(trend["year"] == 2007) & (trend["dimension"] == "service_quality")].iloc[0]
    assert row["n"] == len(affect) and row["mean"] == pytest.approx(affect.mean(), rel=1e-12)
    items = sq.linked_trend([core, revised], level="item", min_group_n=None)
    assert items["item"].nunique() == 22
    by_segment = sq.linked_trend([core, revised], by="segment")
    assert {"segment", "suppressed"} <= set(by_segment.columns)
    with pytest.raises(ValueError, match="share no dimension"):
        sq.linked_trend([sq.read_cycle(ROOT / "params" / "2005.yaml"), revised])


def test_trends_report_across_the_change_of_form(tmp_path):
    import json

    from servqual.report import run_trends

    from .conftest import ROOT

    raw = tmp_path / "raw"
    consortium_member("library-revised-25", 0, n=400, year=2025, folder=raw)
    params = tmp_path / "revised-2025.yaml"
    params.write_text(f"year: 2025\ninstrument: library-revised-25\nresponses: {raw / 'member-0-2025.csv'}\n"
                      "id: respondent_id\nsegments: [segment]\n")
    folder = run_trends([ROOT / "params" / "library-core-2007.yaml", params], reports_dir=tmp_path / "reports",
                        progress=False, out=open("/dev/null", "w"))
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["years"] == [2007, 2025] and summary["significant_changes"] == 0
    table = pd.read_csv(folder / "tables" / "trend_table_all.csv")
    assert set(table["measure"]) == {"perceived", "current"}
    assert list(dict.fromkeys(table["dimension"])) == ["service_quality", "information_control", "library_spaces"]
    html = (folder / "report.html").read_text()
    assert "Compared across the change of form" in html and "cycle-to-cycle tests are not run" in html
    assert (folder / "figures" / "trend.png").exists()


def test_the_synthetic_consortium_has_institutions_years_and_both_forms(tmp_path):
    from servqual.synthetic import simulate_consortium

    years = (2021, 2022, 2023, 2024)
    cycles = simulate_consortium(tmp_path, institutions=12, years=years, respondents=(40, 90), seed=3)
    table = pd.read_csv(tmp_path / "institutions.csv", dtype=str, keep_default_na=False)
    assert list(table.columns) == ["institution", "type", "size_band", "region", "shareable", "switched"]
    assert len(table) == 12 and set(cycles["institution"]) <= set(table["institution"])
    # every cycle written is in the dataset, with its kept respondents
    for row in cycles.itertuples():
        frame = pd.read_parquet(tmp_path / f"institution={row.institution}" / f"year={row.year}" / f"form={row.form}")
        assert len(frame) == row.respondents
    assert len(list(tmp_path.glob("institution=*/year=*/form=*/*.parquet"))) == len(cycles)
    # one change of form per institution, never back, from its switch year on
    for ident, part in cycles.groupby("institution"):
        switched = table.set_index("institution").loc[ident, "switched"]
        expected = ["library-revised-25" if switched and y >= int(switched) else "library-core-22"
                    for y in part["year"]]
        assert list(part["form"]) == expected, ident
    assert set(cycles["form"]) == {"library-core-22", "library-revised-25"} and cycles["year"].nunique() == 4
    # institutions differ beyond sampling noise: their own effects (between-institution F test)
    from scipy import stats

    groups = [sq.scores(consortium_member("library-core-22", k, n=120, year=2021, folder=tmp_path / "raw",
                                          base_year=2021), "overall", paired=False)["perceived"]["overall"].dropna()
              for k in range(6)]
    assert stats.f_oneway(*groups).pvalue < 0.01
    # attributes choose peers, on either form
    kind = table["type"].iloc[0]
    chosen = set(table.loc[table["type"] == kind, "institution"])
    means = institution_means(tmp_path, form="library-core-22", by=None, peers={"type": kind}, min_group_n=10)
    assert set(means["institution"]) <= chosen and len(means)
    # the same seed gives the same consortium
    again = simulate_consortium(tmp_path / "again", institutions=12, years=years, respondents=(40, 90), seed=3)
    pd.testing.assert_frame_equal(cycles, again)


def test_position_hides_a_group_that_subtraction_would_reveal(consortium):
    folder, _ = consortium
    ours = consortium_member("library-core-22", 42, n=300, year=2024)
    counts = ours.respondents["segment"].value_counts()
    small = counts.index[-1]
    min_n = int(counts.iloc[-1]) + 1  # exactly one group is too small
    table = sq.position(ours, folder, by="user_group", min_group_n=min_n)
    shown = set(table["user_group"])
    assert small not in shown
    assert len(shown) <= len(counts) - 2  # another group left out with it: the total cannot reveal it
    hidden = [g for g in counts.index if g not in shown]
    assert counts[hidden].sum() >= min_n


def test_the_sample_consortium_and_the_first_screen(tmp_path):
    import json

    import matplotlib.pyplot as plt

    from servqual.report import CycleReport

    from .conftest import ROOT

    dataset = ROOT / "data" / "consortium"
    table = pd.read_csv(dataset / "institutions.csv", dtype=str, keep_default_na=False)
    assert table.set_index("institution").loc["sample-library", "shareable"] == "yes"
    forms = {p.name for p in dataset.glob("institution=*/year=*/form=*")}
    assert forms == {"form=servqual-22", "form=library-core-22", "form=library-revised-25"}
    survey = sq.read_cycle(ROOT / "params" / "library-revised-2009.yaml")
    report = CycleReport(survey, tmp_path / "revised", consortium={"dataset": str(dataset),
                                                                   "institution": "sample-library"})
    report.show("summary")
    report.show("results")
    plt.close("all")
    summary = report.out.summary
    position = sq.position(survey, dataset, institution="sample-library", by=None)
    best = position.loc[position["percentile_rank"].idxmax()]
    worst = position.loc[position["percentile_rank"].idxmin()]
    headline = summary["peer_headline"]
    assert f"Compared with {int(position['peers'].max())} peer libraries" in headline
    assert survey.instrument.dimension_label(best["dimension"]).lower() in headline
    assert survey.instrument.dimension_label(worst["dimension"]).lower() in headline
    assert "peers" in report.shown and not summary.get("failed_sections")
    # the revised form end to end: its gap is current − importance, its peers the revised-form libraries
    gaps = pd.read_csv(tmp_path / "revised" / "tables" / "gap_table_dimension.csv")
    np.testing.assert_allclose(gaps["gap"], gaps["current"] - gaps["importance"], atol=0.011)
    peers = pd.read_csv(tmp_path / "revised" / "tables" / "peers.csv")
    assert list(peers["dimension"]) == list(survey.instrument.dimensions)
    json.dumps(summary, default=str)


def test_position_in_a_published_norms_table(consortium):
    folder, _ = consortium
    ours = consortium_member("library-core-22", 42, n=300, year=2024)
    exact = sq.position(ours, folder, by=None)
    published = sq.norms(folder, by=None, year=2024, form="library-core-22")  # another test adds a form
    assert published.attrs["form"] == "library-core-22" and published.attrs["quantity"] == "perceived"
    approx = sq.position(ours, published)
    assert list(approx["dimension"]) == list(exact["dimension"])
    np.testing.assert_allclose(approx["mean"], exact["mean"], rtol=1e-12)
    assert (approx["peers"] == published["institutions"]).all()
    # by hand: a table whose percentiles sit q/100 points above the library's mean minus ½
    means = exact.set_index("dimension")["mean"]
    table = pd.DataFrame({"dimension": means.index, "institutions": 40})
    for q in PERCENTILES:
        table[f"p{q}"] = means.to_numpy() - 0.5 + q / 100
    got = sq.position(ours, table)
    np.testing.assert_allclose(got["percentile_rank"], 50.0, atol=1e-9)  # mean = p50
    table[[f"p{q}" for q in PERCENTILES]] += 0.02  # mean now 2 points of percentile below p50: 48
    np.testing.assert_allclose(sq.position(ours, table)["percentile_rank"], 48.0, atol=1e-9)
    table[[f"p{q}" for q in PERCENTILES]] += 5  # far above every percentile
    beyond = sq.position(ours, table)
    assert (beyond["percentile_rank"] == 5).all() and beyond["beyond_table"].all()
    # by user group, and a table of another form is refused by name
    grouped = sq.position(ours, sq.norms(folder, year=2024, form="library-core-22"))
    assert set(grouped["user_group"]) <= set(ours.respondents["segment"].astype(str))
    revised = consortium_member("library-revised-25", 1, n=100, year=2024)
    with pytest.raises(ValueError, match="norms table is for the library-core-22 form; this survey uses "
                                         "library-revised-25"):
        sq.position(revised, published)
    with pytest.raises(ValueError, match="not a norms table: no column 'p5'"):
        sq.position(ours, published.drop(columns="p5"))


def test_the_institutions_table_is_kept_and_checked(tmp_path):
    from servqual.norms import set_institutions

    set_institutions(tmp_path, pd.DataFrame({"institution": ["lib-a", "lib-b"], "type": ["college", "university"]}))
    table = set_institutions(tmp_path, pd.DataFrame({"institution": ["lib-a"], "shareable": ["yes"]}))
    assert table.to_dict("list") == {"institution": ["lib-a", "lib-b"], "type": ["college", "university"],
                                     "shareable": ["yes", ""]}  # lib-a keeps its type
    table = set_institutions(tmp_path, pd.DataFrame({"institution": ["lib-c"], "type": ["public"]}))
    assert table.to_dict("list")["shareable"] == ["yes", "", ""]
    with pytest.raises(ValueError, match=r"plain id .* got '\.\./x'"):
        set_institutions(tmp_path, pd.DataFrame({"institution": ["../x"]}))
    with pytest.raises(ValueError, match="need an 'institution' column"):
        set_institutions(tmp_path, pd.DataFrame({"name": ["x"]}))


def test_norms_equal_r_type_7_quantiles(consortium, tmp_path):
    """R (base: aggregate by hand, quantile type 7) on the same rows, read from CSV."""
    import json
    import shutil
    import subprocess

    from .conftest import ROOT

    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed (make r-oracle)")
    folder, _ = consortium
    inst = sq.load_instrument("library-core-22")
    frames = []
    for path in sorted(folder.glob("institution=*/year=*/form=library-core-22/*.parquet")):
        frame = pd.read_parquet(path)
        frame.insert(0, "institution", path.parts[-4].split("=", 1)[1])
        frame.insert(1, "year", int(path.parts[-3].split("=", 1)[1]))
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[["institution", "year", "user_group", *[f"perceived__{i}" for i in inst.items]]]
    rows.columns = [*rows.columns[:3], *inst.items]
    rows.to_csv(tmp_path / "rows.csv", index=False)
    (tmp_path / "spec.json").write_text(json.dumps({"dimensions": {d: list(i) for d, i in inst.dimensions.items()},
                                                    "min_group_n": 10, "probs": [q / 100 for q in PERCENTILES]}))
    subprocess.run(["Rscript", str(ROOT / "tests" / "r" / "norms.R"), str(tmp_path / "rows.csv"),
                    str(tmp_path / "spec.json"), str(tmp_path / "out.json")], check=True, capture_output=True)
    theirs = json.loads((tmp_path / "out.json").read_text())
    ours = sq.norms(folder, form="library-core-22", min_group_n=10).set_index(["user_group", "dimension"])
    assert len(theirs) == len(ours)
    for row in theirs:
        mine = ours.loc[(row["user_group"], row["dimension"])]
        assert mine["institutions"] == row["institutions"]
        assert mine["mean"] == pytest.approx(row["mean"], rel=1e-12)
        assert mine["sd"] == pytest.approx(row["sd"], rel=1e-10)
        np.testing.assert_allclose(mine[[f"p{q}" for q in PERCENTILES]].astype(float), row["quantiles"], rtol=1e-12)
