"""Consortium norms at programme scale: 1,400 institutions × 2,000 respondents (2.8 million
respondents × 22 items × 3 ratings) in one partitioned Parquet dataset, then ``sq.norms`` in
a fresh process, timed, with its peak memory.

    python benchmarks/norms_scale.py [--institutions 1400] [--respondents 2000] [--folder DIR]

Targets (issue 17): under 10 s and under 2 GB on 2 cores.  The dataset is written once
(numpy, one Parquet file per institution, the layout ``sq.consortium_add`` writes) and reused.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

_NORMS = """
import json, resource, sys, time
import servqual as sq
out = {}
for level in ("dimension", "item"):
    start = time.perf_counter()
    table = sq.norms(sys.argv[1], level=level, by="user_group")
    out[f"{level}_s"] = time.perf_counter() - start
    out[f"{level}_rows"] = len(table)
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def build(folder: Path, institutions: int, respondents: int, seed: int = 1) -> float:
    import servqual as sq

    inst = sq.load_instrument("library-core-22")
    items = list(inst.items)
    groups = np.array(["undergraduate", "postgraduate", "academic staff", "library staff"])
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for k in range(institutions):
        path = folder / f"institution=i{k:04d}" / "year=2024" / f"form={inst.id}" / "part-0.parquet"
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        level = rng.normal(0, 0.4)
        latent = 6.5 + level + rng.normal(0, 0.9, size=(respondents, 1))
        frame = {"user_group": groups[rng.integers(0, 4, respondents)]}
        for measure, shift in (("minimum", -1.2), ("desired", 0.8), ("perceived", 0.0)):
            values = np.clip(np.rint(latent + shift + rng.normal(0, 0.8, size=(respondents, len(items)))), 1, 9)
            values[rng.random(values.shape) < 0.03] = np.nan
            for j, item in enumerate(items):
                frame[f"{measure}__{item}"] = values[:, j]
        pd.DataFrame(frame).to_parquet(path, index=False)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--institutions", type=int, default=1400)
    parser.add_argument("--respondents", type=int, default=2000)
    parser.add_argument("--folder", default="benchmarks/cache/consortium")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    built = build(folder, args.institutions, args.respondents)
    size_mb = sum(p.stat().st_size for p in folder.rglob("*.parquet")) / 2**20
    run = subprocess.run([sys.executable, "-c", _NORMS, str(folder)], capture_output=True, text=True, check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result.update({"institutions": args.institutions, "respondents": args.institutions * args.respondents,
                   "build_s": built, "dataset_mb": size_mb})
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
