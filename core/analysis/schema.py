"""TensorFlow's own TFLite schema and the names it gives operators and tensor types: the leaf
that the reader and the structural check both read (neither imports the other's module for it)."""

from __future__ import annotations

from functools import lru_cache


def tflite_schema():
    from core import tf_env  # noqa: F401  (environment first)
    from tensorflow.lite.python import schema_py_generated as schema

    return schema


@lru_cache(maxsize=1)
def _enum_names(enum_name: str) -> dict:
    enum = getattr(tflite_schema(), enum_name)
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def op_name(model, operator) -> str:
    """Builtin name of an operator (e.g. 'CONV_2D'), or the custom code for custom ops."""
    code = model.operatorCodes[operator.opcodeIndex]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    name = _enum_names("BuiltinOperator").get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM" and code.customCode:
        custom = code.customCode
        return "CUSTOM:" + (custom.decode() if isinstance(custom, bytes) else str(custom))
    return name


def dtype_name(tensor) -> str:
    """Tensor type as TFLite names it, lower case ('int8', 'float32', ...)."""
    return _enum_names("TensorType").get(tensor.type, str(tensor.type)).lower()
