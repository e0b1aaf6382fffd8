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
# The staff climate survey and a client cycle with the same unit column
# (servqual linkage params/staff-hpws-2007.yaml params/2007.yaml).
staff = "params/staff-hpws-2007.yaml"
clients = "params/2007.yaml"
unit = "branch"
output_dir = "reports/linkage"
min_group_n = 10

# %%
import servqual as sq
from servqual.report import LinkageReport

sq.enter_project()  # paths resolve from the project folder, also when JupyterLab runs this from notebooks/

report = LinkageReport.from_params(staff, clients, output_dir, unit=unit, min_group_n=min_group_n)
report.header()

# %% [markdown]
# ## The staff climate scales
# How consistent each high performance work system characteristic is.

# %%
report.staff_reliability()

# %% [markdown]
# ## Can staff answers be aggregated to units?
# Within-unit agreement (r_wg(j)) and between-unit differences (ICC(1), ICC(2)).

# %%
report.aggregation()

# %% [markdown]
# ## Staff climate and client service, unit by unit
# Each unit placed by its staff climate and its clients' gap; a correlation across units and
# a mixed model of client respondents with a random unit intercept.

# %%
report.link()
report.finish()
