"""Optimization components, one module each. `REGISTRY` maps a step name to its class."""

from core.steps.base import Context, CancelToken, Step
from core.steps.channels import ChannelStep
from core.steps.cluster import ClusterStep
from core.steps.compress import CompressStep
from core.steps.graph import GraphStep
from core.steps.prune import PruneStep
from core.steps.qat import QatStep
from core.steps.quantize import QuantizeStep
from core.steps.separable import SeparableStep
from core.steps.strip import StripStep

# In the order a sequence applies them (the GUI lists them so).
REGISTRY: dict[str, type[Step]] = {cls.name: cls for cls in (
    ChannelStep, SeparableStep, PruneStep, ClusterStep, QatStep, QuantizeStep, GraphStep, StripStep, CompressStep,
)}

__all__ = ["Context", "CancelToken", "Step", "REGISTRY", "ChannelStep", "PruneStep", "ClusterStep", "QatStep",
           "QuantizeStep", "StripStep", "CompressStep", "SeparableStep", "GraphStep"]
