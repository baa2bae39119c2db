"""TinyOpt Studio engine: loading, optimization steps, evaluation. Never imports Qt."""

__version__ = "0.1.0"
