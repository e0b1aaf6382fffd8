# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Service-quality gap explorer
# Choose a cycle, one or more client segments, a gap or measure, the level and the figure;
# the chart and the table update together. Groups under the minimum size are not shown.

# %% tags=["parameters"]
cycles = ["params/2005.yaml", "params/2006.yaml", "params/2007.yaml"]
min_group_n = 10

# %%
import servqual as sq

sq.enter_project()  # paths resolve from the project folder, also when JupyterLab runs this from notebooks/
sq.explorer(cycles, min_group_n=min_group_n)
