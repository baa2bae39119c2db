"""GNU ld's map file (-Wl,-Map, with --cref): where each input section went, how big it is, which
file it came from, and which files reference which (the cross-reference table).

Only what a footprint needs: allocated output sections, their input sections and fill, and file
references. Input files are named as ld names them: 'path/x.o' or 'path/lib.a(member.o)'.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEX = re.compile(r"0x[0-9a-fA-F]+$")
CREF_COLUMN = 50


@dataclass
class Piece:
    output: str  # the output section, e.g. .text
    section: str  # the input section, e.g. .text._ZN6tflite...; '*fill*' for padding
    address: int
    size: int
    file: str  # '' for fill and linker-made pieces


@dataclass
class LinkMap:
    pieces: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)  # output section -> (address, size)
    refs: dict = field(default_factory=dict)  # file -> set of files defining symbols it references
    defines: dict = field(default_factory=dict)  # symbol -> the file that defines it

    def in_output(self, *names: str) -> list:
        return [p for p in self.pieces if p.output in names]


def parse(text: str) -> LinkMap:
    result = LinkMap()
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("Linker script and memory map"))
    except StopIteration:
        raise ValueError("not a GNU ld map file (no 'Linker script and memory map')") from None
    cref = next((i for i, line in enumerate(lines) if line.startswith("Cross Reference Table")), len(lines))
    _sections(lines[start + 1:cref], result)
    _clip_merged(result)
    _cross_references(lines[cref + 1:], result)
    return result


def _sections(lines: list, result: LinkMap) -> None:
    output = None
    pending = None  # an input section whose name filled its line: address, size, file follow
    for line in lines:
        if not line.strip():
            continue
        if not line[0].isspace():
            parts = line.split()
            output = parts[0] if parts[0].startswith(".") else None
            if output and len(parts) >= 3 and _HEX.match(parts[1]) and _HEX.match(parts[2]):
                result.outputs[output] = (int(parts[1], 16), int(parts[2], 16))
            pending = None
            continue
        if output is None:
            continue
        parts = line.split()
        if pending is not None:
            if len(parts) >= 2 and _HEX.match(parts[0]) and _HEX.match(parts[1]):
                _add(result, output, pending, parts[0], parts[1], " ".join(parts[2:]))
            pending = None
            continue
        if line.startswith(" *fill*"):
            if len(parts) >= 3:
                _add(result, output, "*fill*", parts[1], parts[2], "")
            continue
        if line[1] != " " and not line.startswith(" *"):  # ' .text.x  0x..  0x..  file' or ' .text.x'
            if len(parts) == 1:
                pending = parts[0]
            elif len(parts) >= 3 and _HEX.match(parts[1]) and _HEX.match(parts[2]):
                _add(result, output, parts[0], parts[1], parts[2], " ".join(parts[3:]))


def _clip_merged(result: LinkMap) -> None:
    """Merged string sections (.str1.*) are listed at the size each file brought, several at one
    address: clip every piece to where the next one starts (and the last to its section's end), so
    the pieces of a section add up to its size; merged strings count for the first file listed."""
    by_output: dict = {}
    for p in result.pieces:
        by_output.setdefault(p.output, []).append(p)
    for name, pieces in by_output.items():
        pieces.sort(key=lambda p: p.address)  # stable: map order among equal addresses
        start, size = result.outputs.get(name, (None, None))
        ends = [p.address for p in pieces[1:]] + ([start + size] if start is not None else [None])
        for p, end in zip(pieces, ends):
            if end is not None:
                p.size = max(0, min(p.size, end - p.address))


def _add(result: LinkMap, output: str, section: str, address: str, size: str, file: str) -> None:
    n = int(size, 16)
    if n:
        result.pieces.append(Piece(output, section, int(address, 16), n, file))


def _cross_references(lines: list, result: LinkMap) -> None:
    symbol, definer = None, None
    for line in lines:
        if not line.strip() or line.startswith("Symbol "):
            continue
        if not line[0].isspace():
            # ld pads a symbol (demangled: it may hold spaces) to column 50 and writes the first
            # file there; a longer symbol has its line to itself.
            head, tail = line[:CREF_COLUMN], line[CREF_COLUMN:].strip()
            if tail and head.endswith(" "):
                symbol, definer = head.strip(), tail
                result.defines.setdefault(symbol, definer)
            else:
                symbol, definer = line.strip(), None
            continue
        name = line.strip()
        if symbol is None:
            continue
        if definer is None:
            definer = name
            result.defines.setdefault(symbol, definer)
        elif name != definer:
            result.refs.setdefault(name, set()).add(definer)
