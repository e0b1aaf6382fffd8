"""servqual — a research workbench for client service-quality surveys.

>>> import servqual as sq
>>> inst = sq.load_instrument("servqual-22")
>>> survey = sq.read_survey("data/raw/library-2005.csv", inst,
...     columns={"expectation": "E{index:02d}", "perception": "P{index:02d}"},
...     id="respondent_id", segments=["segment"], year=2005)          # doctest: +SKIP
>>> sq.gap_table(survey, level="dimension", by="segment")            # doctest: +SKIP
"""

from .instrument import (
    Instrument,
    InstrumentError,
    ScreeningRules,
    list_instruments,
    load_instrument,
)
from .io import SurveyError, read_survey
from .scoring import gap_table, scores
from .screening import screen
from .survey import Survey

__version__ = "0.1.0"

__all__ = [
    "Instrument",
    "InstrumentError",
    "ScreeningRules",
    "Survey",
    "SurveyError",
    "gap_table",
    "list_instruments",
    "load_instrument",
    "read_survey",
    "scores",
    "screen",
]
