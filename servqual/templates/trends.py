# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
# Every cycle of one instrument, by their params files (servqual trends params/2005.yaml ...).
cycles = ["params/2005.yaml", "params/2006.yaml", "params/2007.yaml"]
output_dir = "reports/trends"
min_group_n = 10

# %%
import servqual as sq
from servqual.report import TrendsReport

sq.enter_project()  # paths resolve from the project folder, also when JupyterLab runs this from notebooks/

report = TrendsReport.from_params(cycles, output_dir, min_group_n=min_group_n)
report.header()

# %% [markdown]
# ## Dimension gaps across cycles
# Each segment's dimension gaps per cycle with 95% confidence intervals.

# %%
report.trends()

# %% [markdown]
# ## What changed significantly
# Changes from one cycle to the next (Welch t-tests, Holm-adjusted across the table).

# %%
report.changes()

# %% [markdown]
# ## Items added or dropped between cycles

# %%
report.instrument_changes()
report.finish()
