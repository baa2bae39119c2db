"""Match the operators of an original and a variant by what they compute, never by position.

Each operator is described by its type and its output shape (without the batch axis); the two
sequences are aligned (longest matching blocks, difflib). Inside a block that differs, operators
of the same type are paired in order, and an operator whose type changed but whose output is the
same shape at the same place (the converter's CONV_2D with one input channel becomes a
DEPTHWISE_CONV_2D) is "replaced". What only the variant has (a DECODE of LUT weights, a QUANTIZE at
the input) is "added"; what only the original has is "removed".
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    original: int | None  # position in the original report's ops, or None (added)
    variant: int | None  # position in the variant report's ops, or None (removed)
    status: str = "matched"  # matched, replaced, added, removed


def _token(op) -> tuple:
    return op.op_type, tuple(op.output_shape[1:])


def match_ops(original_ops: list, variant_ops: list) -> list[Row]:
    """Rows in execution order: each pairs an original operator with the variant's, or stands alone."""
    a, b = [_token(o) for o in original_ops], [_token(o) for o in variant_ops]
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [Row(i, j) for i, j in zip(range(i1, i2), range(j1, j2))]
        elif tag == "replace" and [a[i][1] for i in range(i1, i2)] == [b[j][1] for j in range(j1, j2)]:
            rows += [Row(i, j, "matched" if a[i][0] == b[j][0] else "replaced")
                     for i, j in zip(range(i1, i2), range(j1, j2))]
        else:
            rows += _by_type(original_ops, variant_ops, range(i1, i2), range(j1, j2))
    return rows


def _by_type(original_ops, variant_ops, left: range, right: range) -> list[Row]:
    """Inside a differing block: pair operators of the same type in order, the rest stand alone."""
    a = [original_ops[i].op_type for i in left]
    b = [variant_ops[j].op_type for j in right]
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [Row(left[i], right[j]) for i, j in zip(range(i1, i2), range(j1, j2))]
        else:
            rows += [Row(left[i], None, "removed") for i in range(i1, i2)]
            rows += [Row(None, right[j], "added") for j in range(j1, j2)]
    return rows


def channels_note(original_op, variant_op) -> str:
    """"12→3 ch" when a matched operator writes fewer (or more) channels at the same spatial size
    (channel pruning), else ""."""
    if original_op is None or variant_op is None:
        return ""
    a, b = list(original_op.output_shape), list(variant_op.output_shape)
    if len(a) == len(b) >= 2 and a[1:-1] == b[1:-1] and a[-1] != b[-1]:
        return f"{a[-1]}→{b[-1]} ch"
    return ""
