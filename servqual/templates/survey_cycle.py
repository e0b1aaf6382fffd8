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
header_rows = None
value_labels = None
recode = None
comments = None
layout = "wide"
long_columns = None
output_dir = "reports/2005"
previous = None  # params file of the cycle before (servqual report finds it beside this one)
consortium = None  # {dataset: …, institution: …, peers: …}: where the library stands among its peers
codebook = None  # the comments' codebook (default the built-in "library" one)
quotes = True  # false: no comment is quoted
population = None  # {column: {category: count}}: weight the respondents to the library's population
weighting = None  # {method: rake or poststratify, trim: the largest weight as a multiple of the mean}

# %%
import servqual as sq
from servqual.report import CycleReport

sq.enter_project()  # paths resolve from the project folder, also when JupyterLab runs this from notebooks/

survey = sq.read_survey(
    responses, instrument, columns=columns, id=id, segments=segments, year=year, encoding=encoding,
    weights=weights, overall=overall, screening=screening or None, sheet=sheet, skip_rows=skip_rows,
    header_rows=header_rows, value_labels=value_labels, recode=recode, comments=comments, layout=layout,
    long_columns=long_columns,
)
report = CycleReport(survey, output_dir, min_group_n=min_group_n, title=title, previous=previous,
                     consortium=consortium, codebook=codebook, quotes=quotes, population=population,
                     weighting=weighting)
report.header()

# %%
report.show("summary")

# %% [markdown]
# ---
# The details: where the gaps are, for whom, and how sure we are. Each section appears
# only when it applies to this instrument and data.

# %%
report.show("results")

# %% [markdown]
# ---
# ## Technical appendix
# Screening, reliability and dimensionality: what a researcher checks before trusting the
# numbers above.

# %%
report.show("appendix")

# %%
report.methods()
report.finish()
