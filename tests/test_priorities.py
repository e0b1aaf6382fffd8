import numpy as np
import pandas as pd
import pytest

import servqual as sq

from .conftest import SAMPLE

INSTRUMENT = """\
id: known
scale: {min: 1, max: 7}
measures: [expectation, perception]
gaps: {gap: perception - expectation}
dimensions:
  service: [q1, q2, q3]
  place: [q4, q5, q6]
items:
  q1: {text: "Staff give prompt service."}
  q2: {text: "Opening hours suit me."}
  q3: {text: "The catalogue is easy to search."}
  q4: {text: "WiFi works in every room."}
  q5: {text: "The building is clean."}
  q6: {text: "Signs are clear."}
"""
# expectation and perception targets per item: three large shortfalls on important items,
# one large shortfall on an unimportant item, two items without a gap
TARGETS = {"q1": (6.8, 4.0), "q2": (6.5, 4.5), "q3": (6.6, 5.0), "q4": (3.0, 1.5), "q5": (5.0, 5.0), "q6": (5.0, 5.0)}


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    folder = tmp_path_factory.mktemp("known")
    (folder / "known.yaml").write_text(INSTRUMENT)
    rng = np.random.default_rng(8)
    rows = []
    for segment, n in (("postgraduate", 80), ("undergraduate", 120), ("visitor", 6)):
        for i in range(n):
            row = {"id": f"{segment[:2]}{i}", "segment": segment}
            for item, (e, p) in TARGETS.items():
                row[f"expectation_{item}"] = int(np.clip(np.rint(rng.normal(e, 0.6)), 1, 7))
                row[f"perception_{item}"] = int(np.clip(np.rint(rng.normal(p, 0.6)), 1, 7))
            rows.append(row)
    pd.DataFrame(rows).to_csv(folder / "known.csv", index=False)
    return sq.read_survey(folder / "known.csv", folder / "known.yaml", id="id", segments=["segment"])


def test_ranking_known_by_construction(known):
    table = sq.priorities(known, by="segment", top=3)
    for segment in ("postgraduate", "undergraduate"):
        part = table[table["segment"] == segment]
        assert list(part["item"]) == ["q1", "q2", "q3"], segment
        assert list(part["rank"]) == [1, 2, 3]
        assert (part["shortfall"] > 1).all() and (part["p_adj"] < 0.05).all()
        assert (part["ci_low"] < part["shortfall"]).all() and (part["shortfall"] < part["ci_high"]).all()
    # q4's shortfall is as large as q3's but nobody cares about it
    assert "q4" not in set(table["item"])


def test_sentences_read_like_advice(known):
    table = sq.priorities(known, by="segment", top=1)
    first = table[table["segment"] == "postgraduate"].iloc[0]
    with pytest.warns(sq.SmallGroupWarning):
        gaps = sq.gap_tests(known, "item", by="segment", min_group_n=None)
    q1 = gaps[(gaps["segment"] == "postgraduate") & (gaps["item"] == "q1")].iloc[0]
    expected = (
        f'Postgraduate: "staff give prompt service" falls {-q1["mean_gap"]:.1f} points short of expectations '
        f'(95% CI {-q1["ci_high"]:.1f} to {-q1["ci_low"]:.1f}, n = {q1["n"]}); it ranks first of 6 in expectations '
        "clients stated and performs below average: “concentrate here” in the importance–performance grid."
    )
    assert first["sentence"] == expected


def test_small_groups_get_no_list(known):
    table = sq.priorities(known, by="segment")
    visitor = table[table["segment"] == "visitor"]
    assert len(visitor) == 1 and visitor["rank"].isna().all()
    assert visitor["sentence"].iloc[0] == "Visitor: fewer than 10 respondents; not shown."
    assert visitor[["shortfall", "n"]].isna().all().all()


def test_no_significant_shortfall(tmp_path):
    (tmp_path / "i.yaml").write_text(INSTRUMENT)
    rng = np.random.default_rng(1)
    rows = [{"id": i, "segment": "all", **{f"{m}_{q}": int(rng.integers(4, 6)) for m in ("expectation", "perception")
                                            for q in TARGETS}} for i in range(40)]
    pd.DataFrame(rows).to_csv(tmp_path / "flat.csv", index=False)
    survey = sq.read_survey(tmp_path / "flat.csv", tmp_path / "i.yaml", id="id", segments=["segment"])
    table = sq.priorities(survey, by="segment")
    assert len(table) == 1
    assert "no item falls significantly short of expectations" in table["sentence"].iloc[0]


def test_three_column_and_dimension_level():
    core = sq.read_survey(SAMPLE / "library-core-2007.csv", "library-core-22", id="respondent_id",
                          segments=["segment"], comments="comment")
    table = sq.priorities(core, by=None, top=3)
    assert 1 <= len(table) <= 3 and table["rank"].tolist() == list(range(1, len(table) + 1))
    assert table["sentence"].str.startswith("All respondents: ").all()
    assert table["sentence"].str.contains("short of the minimum acceptable level").all()
    dims = sq.priorities(core, by="segment", level="dimension", gap="superiority", top=1)
    assert dims["dimension"].notna().all()
    assert dims["sentence"].str.contains("short of the desired level").all()
    with pytest.raises(ValueError, match="top must be a whole number"):
        sq.priorities(core, top=0)


def test_a_big_gap_on_an_unimportant_item_never_outranks_the_most_important_one(tmp_path):
    # q4: the largest shortfall (3.3 points) on an item clients rate less important;
    # q1: a moderate shortfall (2.1) on the item they rate most important
    targets = {"q1": (6.9, 4.8), "q2": (6.0, 5.9), "q3": (6.2, 6.1), "q4": (5.3, 2.0), "q5": (5.5, 5.5),
               "q6": (5.8, 5.8)}
    (tmp_path / "i.yaml").write_text(INSTRUMENT)
    rng = np.random.default_rng(3)
    rows = [{"id": i, "segment": "all", **{f"{m}_{q}": int(np.clip(np.rint(rng.normal(t[k], 0.5)), 1, 7))
                                           for q, t in targets.items() for k, m in enumerate(("expectation",
                                                                                             "perception"))}}
            for i in range(300)]
    pd.DataFrame(rows).to_csv(tmp_path / "c.csv", index=False)
    survey = sq.read_survey(tmp_path / "c.csv", tmp_path / "i.yaml", id="id", segments=["segment"])
    table = sq.priorities(survey, top=3)
    assert table.loc[0, "item"] == "q1" and table.loc[0, "quadrant"] == "concentrate here"
    q4 = table.set_index("item").loc["q4"]
    assert q4["shortfall"] > table.loc[0, "shortfall"] + 1  # the bigger gap …
    assert q4["rank"] > 1 and q4["quadrant"] in ("low priority", "possible overkill")  # … ranks later
    assert "clients rate it less important" in q4["sentence"]
    # the old rule (shortfall × relative importance alone) would have put q4 first
    assert q4["score"] > table.loc[0, "score"]
    # the grid the report draws agrees: the top priority is in "concentrate here" there too
    grid = sq.importance_performance(survey).set_index("item")
    assert grid.loc["q1", "quadrant"] == "concentrate here"
    plan = sq.action_plan(survey)
    assert plan.actions["item"].tolist()[0] == "q1" and len(plan.actions) <= 3


def test_action_plan_most_affected_and_exceptions(known):
    plan = sq.action_plan(known, min_group_n=10)
    assert list(plan.actions["rank"]) == [1, 2, 3]
    gaps = sq.gap_tests(known, "item", by="segment", min_group_n=10)
    for row in plan.actions.itertuples():
        shown = gaps[(gaps["item"] == row.item) & ~gaps["suppressed"]]
        worst = shown.loc[shown["mean_gap"].astype(float).idxmin()]
        assert row.most_affected == worst["segment"] and row.most_affected_column == "segment"
        assert row.most_affected != "visitor"  # under min_group_n: never named
        assert f"Most affected: {worst['segment']} (segment)" in row.sentence
    # each group's own first priority is one of the library's three here: no exception
    assert plan.exceptions.empty
    assert set(plan.to_frame()["kind"]) == {"action"}
