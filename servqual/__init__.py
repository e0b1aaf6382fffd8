"""servqual — a research workbench for client service-quality surveys.

>>> import servqual as sq
>>> inst = sq.load_instrument("servqual-22")
>>> survey = sq.read_survey("data/raw/library-2005.csv", inst,
...     columns={"expectation": "E{index:02d}", "perception": "P{index:02d}"},
...     id="respondent_id", segments=["segment"], year=2005)
>>> table = sq.gap_table(survey, level="dimension", by="segment")
>>> table[["segment", "dimension", "n", "gap"]].round(2).head(3)
          segment       dimension    n   gap
0  academic staff       tangibles  192 -1.01
1  academic staff     reliability  192 -1.19
2  academic staff  responsiveness  192 -1.68

The methods, formulas and their R equivalents are in ``docs/methods.md``.
"""

from . import linkage, questionnaire, synthetic
from .comments import code_comments, coder_agreement, comment_themes, theme_frequencies, theme_gaps
from .compare import (
    DriversResult,
    adjust_pvalues,
    drivers,
    games_howell,
    gap_tests,
    linked_trend,
    segment_tests,
    trend_table,
    weighting_effect,
    wilcoxon_signed_rank,
    year_changes,
)
from .dimensionality import (
    bartlett_sphericity,
    cfa,
    compare_models,
    efa,
    instrument_models,
    kmo,
    parallel_analysis,
    sampling_adequacy,
)
from .instrument import (
    Instrument,
    InstrumentError,
    ScreeningRules,
    list_instruments,
    load_instrument,
)
from .intake import Draft, draft_params
from .invariance import invariance
from .io import SurveyError, read_survey
from .ipa import importance_performance
from .norms import consortium_add, norms, position
from .params import load_params, read_cycle
from .polychoric import polychoric
from .priorities import action_plan, priorities
from .project import enter_project
from .reliability import (
    AlphaReport,
    alpha_report,
    gap_reliability,
    omega,
    omega_total_one_factor,
    reliability,
)
from .scoring import (
    SmallGroupWarning,
    combine_small_groups,
    gap_table,
    scores,
    suppress_small_groups,
)
from .screening import screen
from .sections import plan
from .survey import EmptySurveyError, Survey
from .weighting import Weighting, WeightingError, weight

__version__ = "0.1.0"


def explorer(surveys, **kwargs):
    """The interactive gap explorer (ipywidgets; imported only when called).

    See :func:`servqual.widgets.explorer`.

    Examples
    --------
    >>> import servqual as sq
    >>> ex = sq.explorer(['params/2005.yaml'])
    >>> [label for label, _ in ex.figure_choice.options]
    ['Gap bars', 'Importance–performance', 'Radar chart', 'Among the peer libraries']
    >>> import matplotlib.pyplot as plt; plt.close('all')
    """
    from . import widgets  # ipywidgets loads only when an explorer is built

    return widgets.explorer(surveys, **kwargs)

__all__ = [
    "action_plan",
    "AlphaReport",
    "Draft",
    "DriversResult",
    "EmptySurveyError",
    "Instrument",
    "InstrumentError",
    "ScreeningRules",
    "SmallGroupWarning",
    "Survey",
    "SurveyError",
    "Weighting",
    "WeightingError",
    "adjust_pvalues",
    "alpha_report",
    "bartlett_sphericity",
    "cfa",
    "combine_small_groups",
    "compare_models",
    "consortium_add",
    "draft_params",
    "drivers",
    "efa",
    "enter_project",
    "explorer",
    "games_howell",
    "gap_reliability",
    "gap_table",
    "gap_tests",
    "importance_performance",
    "invariance",
    "instrument_models",
    "kmo",
    "linkage",
    "linked_trend",
    "load_params",
    "list_instruments",
    "load_instrument",
    "norms",
    "omega",
    "omega_total_one_factor",
    "parallel_analysis",
    "plan",
    "polychoric",
    "position",
    "code_comments",
    "coder_agreement",
    "comment_themes",
    "theme_frequencies",
    "theme_gaps",
    "priorities",
    "questionnaire",
    "read_cycle",
    "read_survey",
    "reliability",
    "sampling_adequacy",
    "scores",
    "screen",
    "segment_tests",
    "suppress_small_groups",
    "synthetic",
    "trend_table",
    "weight",
    "weighting_effect",
    "wilcoxon_signed_rank",
    "year_changes",
]
