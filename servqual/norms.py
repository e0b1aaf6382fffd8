"""Consortium norms: where a library stands among its peers.

A consortium dataset is a folder of Parquet files partitioned by institution, year and
form (``institution=<id>/year=<y>/form=<instrument>/part-0.parquet``), one row per kept
respondent: the user group and each measure's keyed item ratings — no respondent ids, no
free text, no personal data.  :func:`consortium_add` writes a cycle into it;
:func:`norms` summarises it the way published norms tables do: per institution the mean of
each score, then across institutions the count, mean, sd and percentiles.  The work is done
by DuckDB over the Parquet files, so programme-scale datasets (millions of respondents)
never pass through pandas.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .instrument import Instrument, load_instrument
from .scoring import answers_needed, scores, suppress_small_groups
from .survey import MIN_GROUP_N

__all__ = ["PERCENTILES", "consortium_add", "institution_means", "norms", "peer_table", "position",
           "set_institutions"]

#: The percentiles of a norms table (R's type 7, ``quantile``'s default).
PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$")


def _column(measure: str, item: str) -> str:
    return f"{measure}__{item}"


def consortium_add(survey, dataset: str | Path, *, institution: str, user_group: str | None = None) -> Path:
    """Add (or replace) one cycle of one institution in a consortium dataset.

    Parameters
    ----------
    survey
        A screened :class:`~servqual.survey.Survey` (kept respondents only are written).
    dataset
        The dataset folder (created when missing).
    institution
        The institution's id as the consortium knows it (letters, digits, ``-``, ``_``,
        ``.``, spaces).
    user_group
        The segment column that holds the user group (default the survey's first segment);
        respondents without one are written as ``"all"``.

    Returns
    -------
    Path
        The Parquet file written.  Written: user_group and ``<measure>__<item>`` keyed
        ratings (N/A and blanks as missing); never respondent ids, comments or other columns.

    Examples
    --------
    >>> import tempfile, servqual as sq
    >>> survey = sq.read_cycle("params/2005.yaml")
    >>> path = sq.consortium_add(survey, tempfile.mkdtemp(), institution="our-library")
    >>> path.parts[-4:-1]
    ('institution=our-library', 'year=2005', 'form=servqual-22')
    """
    if not isinstance(institution, str) or not _SAFE.match(institution):
        raise ValueError(f"institution must be a plain id (letters, digits, space, '-', '_', '.'), got {institution!r}")
    if survey.year is None:
        raise ValueError(f"{survey.source}: the cycle has no year; set year: in its params")
    survey.require_respondents()
    inst = survey.instrument
    group = user_group or (survey.segments[0] if survey.segments else None)
    if group is not None and group not in survey.respondents.columns:
        raise ValueError(f"user_group {group!r} is not a segment of the survey ({', '.join(survey.segments)})")
    frame = pd.DataFrame({"user_group": (survey.respondents[group].astype("string").fillna("all").to_numpy()
                                         if group else np.full(survey.n, "all"))})
    for measure in inst.measures:
        ratings = survey.ratings(measure)
        for item in inst.items:
            frame[_column(measure, item)] = ratings[item].to_numpy(dtype=float)
    folder = Path(dataset) / f"institution={institution}" / f"year={int(survey.year)}" / f"form={inst.id}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    _write_parquet(frame, path)
    return path


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Plain Parquet any engine reads: no pandas schema metadata (half of a small file),
    zstd-compressed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table.replace_schema_metadata(None), path, compression="zstd")


def _connect():
    try:
        import duckdb
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ImportError("norms need DuckDB: pip install duckdb") from exc
    return duckdb.connect()


def _forms(root: Path) -> list[str]:
    return sorted({p.name.split("=", 1)[1] for p in root.glob("institution=*/year=*/form=*") if p.is_dir()})


def _units(inst: Instrument, level: str, quantity: str) -> dict[str, str]:
    """unit → SQL expression of one respondent's score (the workbench's half rule for dimensions)."""
    if quantity in inst.measures:
        def item_sql(item):
            return f'"{_column(quantity, item)}"'
    else:
        gap = inst.gap(quantity)

        def item_sql(item):  # paired: both ratings present
            return f'("{_column(gap.minuend, item)}" - "{_column(gap.subtrahend, item)}")'
    if level == "item":
        return {item: item_sql(item) for item in inst.items}
    out = {}
    for dim, items in inst.dimensions.items():
        parts = [item_sql(i) for i in items]
        count = " + ".join(f"(CASE WHEN {x} IS NULL THEN 0 ELSE 1 END)" for x in parts)
        total = " + ".join(f"coalesce({x}, 0)" for x in parts)
        need = int(answers_needed(len(items)))  # the at-least-half rule of the cycle's own scores
        out[dim] = f"(CASE WHEN ({count}) >= {need} THEN ({total}) / ({count}) END)"
    return out


def institution_means(
    dataset: str | Path,
    *,
    level: str = "dimension",
    quantity: str | None = None,
    by: str | None = "user_group",
    year: int | Sequence[int] | None = None,
    form: str | None = None,
    min_group_n: int = MIN_GROUP_N,
    peers: Mapping[str, object] | Sequence[str] | None = None,
    institutions: pd.DataFrame | str | Path | None = None,
    exclude: str | None = None,
) -> pd.DataFrame:
    """Each institution's mean score per unit (and user group): the first stage of
    :func:`norms`.  Groups with fewer than ``min_group_n`` respondents with a score are
    left out; ``peers`` / ``institutions`` choose institutions as in :func:`norms`;
    ``exclude`` leaves one out (the library being placed among its peers).
    Columns: institution, year, [user_group], unit, n, mean."""
    if level not in ("dimension", "item"):
        raise ValueError(f"level must be 'dimension' or 'item', got {level!r}")
    if by not in (None, "user_group"):
        raise ValueError(f"by must be 'user_group' or None, got {by!r}")
    root = Path(dataset)
    if not root.is_dir() or not any(root.glob("institution=*/year=*/form=*/*.parquet")):
        raise ValueError(f"{root}: not a consortium dataset (no institution=…/year=…/form=… Parquet files); "
                         "add cycles with sq.consortium_add or `servqual consortium add`")
    forms = _forms(root)
    if form is None:
        if len(forms) != 1:
            raise ValueError(f"{root} holds several forms ({', '.join(forms)}); choose one with form=")
        form = forms[0]
    elif form not in forms:
        raise ValueError(f"form {form!r} is not in {root} (forms: {', '.join(forms)})")
    inst = load_instrument(form)
    # one form's files only: another form's columns differ
    glob = str(root / "institution=*" / "year=*" / f"form={form}" / "*.parquet").replace("'", "''")
    con = _connect()
    quantity = quantity or inst.performance
    if quantity not in inst.quantities:
        raise ValueError(f"quantity must be one of {', '.join(inst.quantities)}, got {quantity!r}")
    units = _units(inst, level, quantity)
    where = [f"form = '{form}'"]
    if year is not None:
        years = [int(year)] if isinstance(year, (int, np.integer)) else [int(y) for y in year]
        where.append(f"year IN ({', '.join(map(str, years))})")
    group_cols = ["institution", "year"] + (["user_group"] if by else [])
    scores = ", ".join(f"{sql} AS \"s_{k}\"" for k, sql in enumerate(units.values()))
    keys = ", ".join(group_cols)
    selects = " UNION ALL ".join(
        f"SELECT {keys}, '{unit}' AS unit, {k} AS position, count(\"s_{k}\") AS n, avg(\"s_{k}\") AS mean "
        f"FROM scored GROUP BY {keys}" for k, unit in enumerate(units))
    sql = (f"WITH scored AS (SELECT {keys}, {scores} FROM read_parquet('{glob}', hive_partitioning = true) "
           f"WHERE {' AND '.join(where)}) SELECT * FROM ({selects}) WHERE n >= {int(min_group_n)} "
           f"ORDER BY {keys}, position")
    table = con.execute(sql).df().drop(columns="position")
    table["institution"] = table["institution"].astype(str)
    table["n"] = table["n"].astype(int)
    if exclude is not None:
        table = table[table["institution"] != str(exclude)]
    table = _filter_peers(table, peers, institutions, dataset).reset_index(drop=True)
    table.attrs.update({"form": form, "quantity": quantity, "level": level,
                        "year": None if year is None else years})
    return table


def norms(
    dataset: str | Path,
    *,
    level: str = "dimension",
    quantity: str | None = None,
    by: str | None = "user_group",
    year: int | Sequence[int] | None = None,
    form: str | None = None,
    peers: Mapping[str, object] | Sequence[str] | None = None,
    institutions: pd.DataFrame | str | Path | None = None,
    min_group_n: int = MIN_GROUP_N,
) -> pd.DataFrame:
    """A norms table: the distribution of institutions' mean scores.

    Parameters
    ----------
    dataset
        A consortium dataset (:func:`consortium_add`).
    level
        ``"dimension"`` (default) or ``"item"``.
    quantity
        A measure or gap of the form (default its performance rating).
    by
        ``"user_group"`` (default) or ``None`` for all users together.
    year, form
        Restrict to cycles (one year or several) and choose the form when the dataset
        holds more than one.
    peers
        Which institutions count: a list of ids, or attribute → value(s) matched in the
        ``institutions`` table (``{"type": "university", "size_band": ["large"]}``).
    institutions
        A table (DataFrame or CSV path) with an ``institution`` column and attributes;
        default ``<dataset>/institutions.csv`` when it exists.
    min_group_n
        An institution's group enters the norms only with at least this many respondents.

    Returns
    -------
    pandas.DataFrame
        Per [user_group,] unit: ``institutions`` (count), ``mean``, ``sd`` (n − 1),
        ``p5`` … ``p95``.  No column names an institution.

    Notes
    -----
    Stage 1 (per institution, year and group): the mean of the respondents' scores (item
    rating, or the dimension mean of the answered items when at least half were answered;
    gaps paired per item).  Stage 2 (across institution-years): count, mean, sd and the
    percentiles of R's type 7 (``quantile``'s default; DuckDB's ``quantile_cont``).
    R: ``aggregate`` then ``quantile(x, c(.05, .1, .25, .5, .75, .9, .95))``.

    Examples
    --------
    >>> import tempfile, servqual as sq
    >>> folder = tempfile.mkdtemp()
    >>> for k in range(12):
    ...     _ = sq.consortium_add(sq.synthetic.consortium_member("servqual-22", k, n=120), folder,
    ...                           institution=f"lib{k:02d}")
    >>> table = sq.norms(folder, by=None)
    >>> list(table.columns[:4]), int(table["institutions"].iloc[0])
    (['dimension', 'institutions', 'mean', 'sd'], 12)
    """
    means = institution_means(dataset, level=level, quantity=quantity, by=by, year=year, form=form,
                              min_group_n=min_group_n, peers=peers, institutions=institutions)
    keys = (["user_group"] if by else []) + ["unit"]
    order = {u: k for k, u in enumerate(dict.fromkeys(means["unit"]))}
    rows = []
    for key, part in means.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        values = part["mean"].to_numpy(dtype=float)
        row = dict(zip(keys, key))
        row.update({"institutions": len(values), "mean": values.mean(),
                    "sd": values.std(ddof=1) if len(values) > 1 else np.nan})
        for q, v in zip(PERCENTILES, np.percentile(values, PERCENTILES, method="linear")):
            row[f"p{q}"] = v
        rows.append(row)
    out = pd.DataFrame(rows)
    if not out.empty:
        out = out.sort_values(keys, key=lambda c: c.map(order) if c.name == "unit" else c, kind="stable")
        out = out.rename(columns={"unit": level}).reset_index(drop=True)
    out.attrs.update(means.attrs)  # what was summarised: form, quantity, years
    return out


def set_institutions(dataset: str | Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Add or update institutions in the dataset's ``institutions.csv`` (one row per
    ``institution``: attributes for ``peers=`` such as type, size band and region, and
    ``shareable`` — yes where the library agrees to be named in other libraries' reports).

    For an institution already in the file, the columns given replace its values and the
    others stay; new institutions and new columns are added (blank where not given).  Returns the whole table,
    sorted by institution.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from servqual.norms import set_institutions
    >>> folder = tempfile.mkdtemp()
    >>> _ = set_institutions(folder, pd.DataFrame({"institution": ["b", "a"], "type": ["college", "university"]}))
    >>> table = set_institutions(folder, pd.DataFrame({"institution": ["b"], "shareable": ["yes"]}))
    >>> table.values.tolist()
    [['a', 'university', ''], ['b', 'college', 'yes']]
    """
    if "institution" not in rows.columns:
        raise ValueError("set_institutions: the rows need an 'institution' column")
    rows = rows.astype(str)
    bad = [i for i in rows["institution"] if not _SAFE.match(i)]
    if bad:
        raise ValueError(f"institution must be a plain id (letters, digits, space, '-', '_', '.'), got {bad[0]!r}")
    path = Path(dataset) / "institutions.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():  # update the given columns of known institutions, add the others
        table = pd.read_csv(path, dtype=str, keep_default_na=False).set_index("institution")
        given = rows.set_index("institution")
        for column in given.columns:
            if column not in table.columns:
                table[column] = ""
        new = given.index.difference(table.index)
        table = pd.concat([table, pd.DataFrame("", index=new, columns=table.columns)])
        table.loc[given.index, given.columns] = given
        rows = table.rename_axis("institution").reset_index()
    table = rows.fillna("").sort_values("institution", kind="stable").reset_index(drop=True)
    table.to_csv(path, index=False, lineterminator="\n")
    return table


def _institutions_table(institutions, dataset) -> pd.DataFrame | None:
    """The institutions table: ``institutions=`` (a DataFrame or CSV path), else
    ``<dataset>/institutions.csv``, else None."""
    if institutions is None:
        path = Path(dataset) / "institutions.csv"
        return pd.read_csv(path, dtype=str) if path.exists() else None
    return institutions if isinstance(institutions, pd.DataFrame) else pd.read_csv(institutions, dtype=str)


def _filter_peers(means: pd.DataFrame, peers, institutions, dataset) -> pd.DataFrame:
    if peers is None:
        return means
    if isinstance(peers, Mapping):
        table = _institutions_table(institutions, dataset)
        if table is None:
            raise ValueError(f"peers by attribute need an institutions table ({Path(dataset) / 'institutions.csv'} "
                             "or institutions=)")
        chosen = table.copy()
        for column, wanted in peers.items():
            if column not in chosen.columns:
                raise ValueError(f"peers: {column!r} is not a column of the institutions table "
                                 f"({', '.join(chosen.columns)})")
            wanted = [wanted] if isinstance(wanted, (str, int, float)) else list(wanted)
            chosen = chosen[chosen[column].astype(str).isin([str(w) for w in wanted])]
        ids = set(chosen["institution"].astype(str))
    else:
        ids = {str(p) for p in peers}
    return means[means["institution"].isin(ids)]


def position(
    survey,
    dataset: str | Path | pd.DataFrame,
    *,
    institution: str | None = None,
    level: str = "dimension",
    quantity: str | None = None,
    by: str | None = "user_group",
    peers: Mapping[str, object] | Sequence[str] | None = None,
    institutions: pd.DataFrame | str | Path | None = None,
    min_group_n: int = MIN_GROUP_N,
) -> pd.DataFrame:
    """Where a library stands among its peers: its percentile rank per unit and user group.

    The library's own means come from ``survey`` (same definitions as :func:`norms`); the
    peers are the dataset's institutions in the survey's year and form, other than
    ``institution``.  Percentile rank = 100·(peers below + ½·peers equal)/peers.
    The peers' own means (:func:`institution_means`) ride along in
    ``.attrs["peer_means"]``, for :func:`servqual.plots.plot_peers`.

    ``dataset`` may also be a published norms table (:func:`norms`' layout: p5 … p95 per
    unit), for a library that has the table and not the data: the percentile rank is then
    read off the table by linear interpolation between its percentiles (R:
    ``approx(c(p5, …, p95), c(5, …, 95), xout = mean, rule = 2)``), so it is approximate,
    and outside p5–p95 it says only "at most 5" or "at least 95" (``percentile_rank`` 5 or
    95, ``beyond_table`` True).  ``level``, ``quantity`` and ``by`` follow the table.

    Returns
    -------
    pandas.DataFrame
        Per [user_group,] unit: ``n``, ``mean`` (the library's), ``peers``, ``peer_median``,
        ``percentile_rank`` and a ``sentence`` ("Postgraduates rate information control
        higher than 78% of 41 peer libraries").  Groups under ``min_group_n`` are left out.

    Examples
    --------
    >>> import tempfile, servqual as sq
    >>> folder = tempfile.mkdtemp()
    >>> for k in range(12):
    ...     _ = sq.consortium_add(sq.synthetic.consortium_member("servqual-22", k, n=120), folder,
    ...                           institution=f"lib{k:02d}")
    >>> ours = sq.synthetic.consortium_member("servqual-22", 99, n=200)
    >>> table = sq.position(ours, folder, by=None)
    >>> int(table["peers"].iloc[0])
    12
    >>> published = sq.norms(folder, by=None)          # a norms table, without the data behind it
    >>> approx = sq.position(ours, published)
    >>> bool((approx["percentile_rank"] - table["percentile_rank"]).abs().max() < 15)
    True
    """
    inst = survey.instrument
    if isinstance(dataset, pd.DataFrame):
        return _position_in_table(survey, dataset, quantity=quantity, min_group_n=min_group_n)
    quantity = quantity or inst.performance
    peers_means = institution_means(dataset, level=level, quantity=quantity, by=by, year=survey.year, form=inst.id,
                                    min_group_n=min_group_n, peers=peers, institutions=institutions,
                                    exclude=institution)
    own = _own_means(survey, level, quantity, by, min_group_n)
    keys = (["user_group"] if by else []) + ["unit"]
    rows = []
    for _, row in own.iterrows():
        match = peers_means
        for k in keys:
            match = match[match[k] == row[k]]
        values = match["mean"].to_numpy(dtype=float)
        out = {k: row[k] for k in keys}
        out.update({"n": int(row["n"]), "mean": row["mean"], "peers": len(values)})
        if len(values):
            rank = 100 * ((values < row["mean"]).sum() + 0.5 * (values == row["mean"]).sum()) / len(values)
            out.update({"peer_median": float(np.median(values)), "percentile_rank": rank})
            who = f"{str(row['user_group']).capitalize()} rate" if by else "Clients rate"
            label = inst.dimension_label(row["unit"]) if level == "dimension" else row["unit"]
            out["sentence"] = (f"{who} {label.lower() if level == 'dimension' else label} higher than "
                               f"{rank:.0f}% of {len(values)} peer librar{'y' if len(values) == 1 else 'ies'}")
        rows.append(out)
    columns = [*keys, "n", "mean", "peers", "peer_median", "percentile_rank", "sentence"]
    table = pd.DataFrame(rows, columns=columns).rename(columns={"unit": level})
    table.attrs["peer_means"] = peers_means
    return table


def _position_in_table(survey, table: pd.DataFrame, *, quantity: str | None, min_group_n: int) -> pd.DataFrame:
    """:func:`position` against a published norms table (interpolated percentile ranks)."""
    inst = survey.instrument
    level = "item" if "item" in table.columns else "dimension"
    needed = [level, "institutions", *(f"p{q}" for q in PERCENTILES)]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"not a norms table: no column {', '.join(map(repr, missing))} "
                         "(expected the layout of sq.norms: dimension or item, institutions, p5 … p95)")
    form, quantity = table.attrs.get("form"), quantity or table.attrs.get("quantity") or inst.performance
    if form is not None and form != inst.id:
        raise ValueError(f"the norms table is for the {form} form; this survey uses {inst.id}")
    if quantity not in inst.quantities:
        raise ValueError(f"quantity must be one of {', '.join(inst.quantities)}, got {quantity!r}")
    by = "user_group" if "user_group" in table.columns else None
    own = _own_means(survey, level, quantity, by, min_group_n)
    keys = (["user_group"] if by else []) + [level]
    lookup = table.set_index(keys)
    rows = []
    for _, row in own.iterrows():
        key = tuple(str(row[k]) if k == "user_group" else row["unit" if k == level else k] for k in keys)
        key = key if len(key) > 1 else key[0]
        out = {k: row["unit" if k == level else k] for k in keys}
        out.update({"n": int(row["n"]), "mean": row["mean"]})
        if key in lookup.index:
            norm = lookup.loc[key]
            points = norm[[f"p{q}" for q in PERCENTILES]].to_numpy(dtype=float)
            rank = float(np.interp(row["mean"], points, PERCENTILES))
            out.update({"peers": int(norm["institutions"]), "peer_median": float(norm["p50"]),
                        "percentile_rank": rank,
                        "beyond_table": bool(row["mean"] < points[0] or row["mean"] > points[-1])})
        rows.append(out)
    return pd.DataFrame(rows, columns=[*keys, "n", "mean", "peers", "peer_median", "percentile_rank",
                                       "beyond_table"])


def _own_means(survey, level: str, quantity: str, by: str | None, min_group_n: int) -> pd.DataFrame:
    """The library's own means, as stage 1 computes the peers' (measures unpaired, gaps per
    item); groups under ``min_group_n`` left out, and with them enough others that none can
    be recovered from the all-users mean."""
    table = scores(survey, level, paired=False)[quantity]  # as stage 1: measures unpaired, gaps per item
    if by:
        group = survey.segments[0] if survey.segments else None
        labels = (survey.respondents[group].astype("string").fillna("all") if group
                  else pd.Series("all", index=table.index))
    else:
        labels = pd.Series("all", index=table.index)
    rows = []
    for label, part in table.groupby(labels.to_numpy(), sort=True):
        for unit in table.columns:
            values = part[unit].dropna()
            rows.append({"user_group": label, "unit": unit, "n": len(values),
                         "mean": values.mean() if len(values) else np.nan})
    out = pd.DataFrame(rows)
    if not by:
        return out[out["n"] >= min_group_n].drop(columns="user_group")
    return out[~suppress_small_groups(out, min_group_n, groups=["user_group"])["suppressed"].to_numpy()]


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("yes", "true", "1", "y")


def peer_table(
    dataset: str | Path,
    *,
    year: int,
    form: str,
    institution: str | None = None,
    level: str = "dimension",
    quantity: str | None = None,
    peers: Mapping[str, object] | Sequence[str] | None = None,
    institutions: pd.DataFrame | str | Path | None = None,
    min_group_n: int = MIN_GROUP_N,
    means: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Peer libraries' means side by side, named only where the consortium allows it.

    An institution is named when the institutions table (``<dataset>/institutions.csv``
    or ``institutions=``) marks it ``shareable`` (yes/true/1); every other one appears as
    "a peer library", so no output names a library that has not agreed to it.

    Parameters
    ----------
    means
        The peers' means when already computed (:func:`position`'s ``.attrs["peer_means"]``
        with ``by=None``), so they are not queried again.

    Returns
    -------
    pandas.DataFrame
        One row per peer: ``peer`` (the id when shareable, else "a peer library"), then one
        column per unit with its mean; shareable peers first, by id.

    Examples
    --------
    >>> import tempfile, pandas as pd, servqual as sq
    >>> folder = tempfile.mkdtemp()
    >>> for k in range(3):
    ...     _ = sq.consortium_add(sq.synthetic.consortium_member("servqual-22", k, n=60), folder,
    ...                           institution=f"lib{k}")
    >>> pd.DataFrame({"institution": ["lib0"], "shareable": ["yes"]}).to_csv(f"{folder}/institutions.csv",
    ...                                                                      index=False)
    >>> from servqual.norms import peer_table
    >>> list(peer_table(folder, year=2024, form="servqual-22")["peer"])
    ['lib0', 'a peer library', 'a peer library']
    """
    if means is None:  # else the peers' means already at hand (position's .attrs["peer_means"], by=None)
        means = institution_means(dataset, level=level, quantity=quantity, by=None, year=year, form=form,
                                  min_group_n=min_group_n, peers=peers, institutions=institutions,
                                  exclude=institution)
    table = _institutions_table(institutions, dataset)
    shareable = (set(table.loc[table["shareable"].map(_truthy), "institution"].astype(str))
                 if table is not None and "shareable" in table else set())
    wide = means.pivot_table(index="institution", columns="unit", values="mean", sort=False)
    wide = wide.reindex(columns=list(dict.fromkeys(means["unit"])))
    named = wide.index.isin(list(shareable))
    order = np.lexsort((wide.index.to_numpy(dtype=str), ~named))
    wide = wide.iloc[order]
    out = wide.reset_index(drop=True)
    out.insert(0, "peer", np.where(named[order], wide.index.to_numpy(dtype=str), "a peer library"))
    out.columns.name = None
    return out
