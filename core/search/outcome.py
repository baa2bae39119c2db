"""How a trial ended, as one type: what the search records on an Optuna trial (its user attributes,
the keys of studies already stored) and what the command line, the window and front.json read."""

from __future__ import annotations

from enum import Enum


class Outcome(str, Enum):
    COMPLETE = "complete"  # made a variant, measured on every objective
    INVALID = "invalid"  # a draw Sequence.validate refuses: never run
    RULED_OUT = "ruled out"  # the device budget rules it out before any fine-tuning
    REFUSED = "refused"  # a step refused the combination while running (LUT on a hybrid model)
    UNMEASURED = "not measured"  # an objective could not be measured (no TFLM arena)
    FAILED = "failed"  # an unexpected error, stored with the trial
    SURPLUS = "surplus"  # beyond the total the workers share: closed unrun, not counted
    RUNNING = "running"


# The user attribute each outcome is recorded under, with why (the keys stored studies hold).
_ATTR = {Outcome.INVALID: "invalid", Outcome.RULED_OUT: "ruled_out", Outcome.REFUSED: "refused",
         Outcome.UNMEASURED: "unmeasured", Outcome.SURPLUS: "surplus", Outcome.FAILED: "error"}


def mark(trial, what: Outcome, why) -> None:
    """Record on a running Optuna trial how it ends, and why."""
    trial.set_user_attr(_ATTR[what], why)


def outcome(frozen) -> Outcome:
    """How a stored (frozen) Optuna trial ended."""
    attrs, state = frozen.user_attrs, frozen.state.name
    if "surplus" in attrs:
        return Outcome.SURPLUS
    if state == "COMPLETE":
        return Outcome.COMPLETE
    if state == "FAIL":
        return Outcome.FAILED
    if state in ("RUNNING", "WAITING"):
        return Outcome.RUNNING
    for what in (Outcome.INVALID, Outcome.RULED_OUT, Outcome.REFUSED, Outcome.UNMEASURED):
        if _ATTR[what] in attrs:
            return what
    return Outcome.FAILED


def note(frozen) -> str:
    """Why a trial made no variant ('' for a complete one)."""
    what = outcome(frozen)
    why = frozen.user_attrs.get(_ATTR.get(what, ""), "")
    if what is Outcome.UNMEASURED:
        return ", ".join(why)
    return str(why or "")


def counted(frozen) -> bool:
    """A finished trial that counts towards the total (not one closed unrun beyond it)."""
    return frozen.state.is_finished() and "surplus" not in frozen.user_attrs
