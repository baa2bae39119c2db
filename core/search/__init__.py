"""The search over sequences (Optuna): its space, objectives and bounds, the study's storage,
trial outcomes, the front.

    space.py       which components a trial switches on and the parameters it draws
    objectives.py  objectives measured as the table does; budget and accuracy floor as constraints
    bounds.py      strict lower bounds on flash and arena, before any fine-tuning
    prefixes.py    fine-tuned prefixes reused by later trials (same bytes as a fresh run)
    storage.py     the Optuna storage, created once however many workers start together
    outcome.py     how a trial ended (Outcome), as recorded on the study and read back
    front.py       the finished trials, the Pareto front, the best for the device, front.json
    run.py         search(): the study, its trials, resume
"""

from core.search.front import SearchResult, TrialResult, dominates, mark_front, table
from core.search.objectives import OBJECTIVES, Budget, measure
from core.search.outcome import Outcome, note, outcome
from core.search.run import search
from core.search.space import ORDER, describe, draw, preset_params

__all__ = ["OBJECTIVES", "ORDER", "Budget", "Outcome", "SearchResult", "TrialResult", "describe", "dominates",
           "draw", "mark_front", "measure", "note", "outcome", "preset_params", "search", "table"]
