"""Optimization components, one module each. `REGISTRY` maps a step name to its class."""

from core.steps.base import Context, CancelToken, Step
from core.steps.quantize import QuantizeStep

REGISTRY: dict[str, type[Step]] = {
    QuantizeStep.name: QuantizeStep,
}

__all__ = ["Context", "CancelToken", "Step", "REGISTRY", "QuantizeStep"]
