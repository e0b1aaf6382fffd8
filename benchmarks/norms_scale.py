"""Consortium norms at programme scale: 1,400 institutions × about 2,000 kept respondents
(2.8 million respondents × 22 items × 3 ratings) in one partitioned Parquet dataset, then
``sq.norms`` in a fresh process, timed, with its peak memory.

    python benchmarks/norms_scale.py [--institutions 1400] [--respondents 2000] [--folder DIR]

Targets (issue 17): under 10 s and under 2 GB on 2 cores.  The dataset is written once by
the same generator the tests use (``servqual.synthetic.simulate_consortium``: each library
its own level and profile, every cycle a raw export read and screened by ``read_survey``
and added by ``consortium_add``), in chunks that a rerun skips, and reused.
``benchmarks/run.py`` runs this too and reports it beside the other measures.  Beside it, in
a fresh process, the same dimension norms the plain way (every file into one pandas frame),
for the ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

_NORMS = """
import json, sys, time
import servqual as sq
out = {}
for level in ("dimension", "item"):
    start = time.perf_counter()
    table = sq.norms(sys.argv[1], level=level, by="user_group")
    out[f"{level}_s"] = time.perf_counter() - start
    out[f"{level}_rows"] = len(table)
# VmHWM of this process (ru_maxrss would carry a large parent's peak over the fork)
out["peak_mb"] = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps(out))
"""
#: The same dimension norms the plain way, for the ratio: every file into one pandas frame,
#: dimension scores by the half rule, means per institution and group, then the percentiles.
_PANDAS = """
import json, math, sys, time
import numpy as np, pandas as pd
import servqual as sq
inst = sq.load_instrument("library-core-22")
start = time.perf_counter()
import pyarrow.dataset as ds
frame = ds.dataset(sys.argv[1], format="parquet", partitioning="hive", exclude_invalid_files=True).to_table().to_pandas()
rows = []
for dim, items in inst.dimensions.items():
    block = frame[[f"perceived__{i}" for i in items]].to_numpy(dtype=float)
    count = (~np.isnan(block)).sum(axis=1)
    score = np.where(count >= math.ceil(len(items) / 2), np.nansum(block, axis=1) / np.maximum(count, 1), np.nan)
    part = pd.DataFrame({"institution": frame["institution"].astype(str), "user_group": frame["user_group"],
                         "score": score}).dropna()
    means = part.groupby(["institution", "user_group"])["score"].agg(["count", "mean"])
    means = means[means["count"] >= 10].reset_index()
    for group, values in means.groupby("user_group")["mean"]:
        rows.append([dim, group, len(values), *np.percentile(values, [5, 10, 25, 50, 75, 90, 95])])
seconds = time.perf_counter() - start
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
print(json.dumps({"pandas_dimension_s": seconds, "pandas_rows": len(rows), "pandas_peak_mb": peak}))
"""
#: raw respondents per kept one (screening excludes about one in nine on the three-column form)
_RAW_PER_KEPT = 1.12
_CHUNK = 50


def build(folder: Path, institutions: int, respondents: int) -> float:
    """Write the dataset in chunks of institutions (a chunk already written is skipped)."""
    from servqual.synthetic import simulate_consortium

    raw = math.ceil(respondents * _RAW_PER_KEPT)
    start = time.perf_counter()
    for first in range(0, institutions, _CHUNK):
        count = min(_CHUNK, institutions - first)
        if (folder / f"institution=lib-{first + count - 1:03d}").exists():  # the ids simulate_consortium writes
            continue
        simulate_consortium(folder, institutions=count, first=first, prefix="lib-", years=(2024,),
                            forms=("library-core-22",), respondents=(raw, raw), participation=1.0, seed=first)
    return time.perf_counter() - start


def measure(folder: str | Path, institutions: int = 1400, respondents: int = 2000) -> dict:
    """Build (once) and time the norms in a fresh process; the dataset's size and counts."""
    import duckdb

    folder = Path(folder)
    built = build(folder, institutions, respondents)
    files = list(folder.rglob("*.parquet"))
    kept = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{folder}/institution=*/year=*/form=*/*.parquet')").fetchone()[0]
    run = subprocess.run([sys.executable, "-c", _NORMS, str(folder)], capture_output=True, text=True, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    plain = subprocess.run([sys.executable, "-c", _PANDAS, str(folder)], capture_output=True, text=True, check=True)
    result.update(json.loads(plain.stdout.strip().splitlines()[-1]))
    result["pandas_vs_duckdb_s"] = result["pandas_dimension_s"] / result["dimension_s"]
    result["pandas_vs_duckdb_memory"] = result["pandas_peak_mb"] / result["peak_mb"]
    result.update({"institutions": len({p.parts[-4] for p in files}), "respondents": int(kept), "build_s": built,
                   "dataset_mb": sum(p.stat().st_size for p in files) / 2**20})
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--institutions", type=int, default=1400)
    parser.add_argument("--respondents", type=int, default=2000, help="kept respondents per institution (about)")
    parser.add_argument("--folder", default="benchmarks/cache/consortium-gen")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.folder, args.institutions, args.respondents), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
