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
# One survey cycle. A params/<cycle>.yaml file sets these (servqual report params/2005.yaml);
# the defaults point at the 2005 sample so a bare run works.
year = 2005
title = "Library client survey 2005"
instrument = "servqual-22"
responses = "data/raw/library-2005.csv"
columns = {"expectation": "E{index:02d}", "perception": "P{index:02d}"}
id = "respondent_id"
segments = ["segment", "branch"]
min_group_n = 10
encoding = None
weights = None
overall = None
screening = {}
sheet = None
skip_rows = 0
output_dir = "reports/2005"

# %%
import servqual as sq
from servqual.report import CycleReport

survey = sq.read_survey(
    responses, instrument, columns=columns, id=id, segments=segments, year=year, encoding=encoding,
    weights=weights, overall=overall, screening=screening or None, sheet=sheet, skip_rows=skip_rows,
)
report = CycleReport(survey, output_dir, min_group_n=min_group_n, title=title)
report.header()

# %% [markdown]
# ## The data and screening
# Who answered, who was excluded and why. Screening never drops anyone silently: each rule's
# count is below; respondents flagged for straight-lining are kept unless the cycle says otherwise.

# %%
report.data_and_screening()

# %% [markdown]
# ## Respondents by segment
# Groups under the minimum size are suppressed to protect respondents; groups under 100 are
# flagged because their item means are unstable.

# %%
report.respondents()

# %% [markdown]
# ## Reliability and dimensionality
# Are the dimensions internally consistent (alpha, omega), and how reliable are the gap scores
# themselves? Does this year's data support the instrument's dimensions?

# %%
report.reliability()

# %%
report.dimensionality()

# %% [markdown]
# ## The overall gap analysis
# Mean gaps with 95% confidence intervals; the largest shortfalls are at the top of the chart.

# %%
report.gap_analysis()

# %% [markdown]
# ## Radar chart per segment
# Each segment's expectations and perceptions (or minimum, desired and perceived levels)
# around the circle, items grouped by dimension.

# %%
report.radar_charts()

# %% [markdown]
# ## Zone of tolerance
# Where perceived service sits between the minimum acceptable and the desired level.

# %%
report.zone_of_tolerance()

# %% [markdown]
# ## Importance and performance
# Items in "concentrate here" matter most and perform worst.

# %%
report.importance_performance()

# %% [markdown]
# ## Segment comparisons
# Do the client segments see the service differently?

# %%
report.segment_comparisons()

# %% [markdown]
# ## What drives overall satisfaction

# %%
report.drivers()

# %% [markdown]
# ## Three things to do on Monday
# Per segment, the shortfalls that remain significant after adjustment, weighted by importance.

# %%
report.priorities()

# %%
report.methods()
report.finish()
