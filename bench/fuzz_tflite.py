"""Fuzz what parses .tflite files, longer than the test suite does.

    python bench/fuzz_tflite.py [SECONDS]      (default 300)

Mutants: a real model from ../shared/models with 1 to 4 bytes changed, 95 % of them in the
flatbuffer's structure (outside weight payloads). Each goes through `inspect_tflite` (the in-process
analysis); any exception that is not a TinyOptError is a finding. The mutants that pass are opened
with `load_model`'s LiteRT first contact on a sample (a child process each): a crash there must
come back as a LoadError. Writes bench/results/fuzz_tflite.md.
"""

import collections
import random
import sys
import time
import traceback
from pathlib import Path

from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VALUES = (0, 1, 0x7F, 0x80, 0xFF)


def structure(data: bytes) -> list[int]:
    from core.analysis.tflite_reader import payload_ranges

    inside = bytearray(len(data))
    for start, end in payload_ranges(data):
        inside[start:end] = b"\x01" * (end - start)
    return [i for i in range(len(data)) if not inside[i]]


def main() -> int:
    from core.analysis import inspect_tflite
    from core.errors import TinyOptError
    from core.model.loading import first_contact

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 300
    seeds = {p.name: p.read_bytes() for p in sorted((ROOT.parent / "shared" / "models").glob("*.tflite"))}
    positions = {k: structure(v) for k, v in seeds.items()}
    rng = random.Random(0)
    findings, outcomes = collections.Counter(), collections.Counter()
    examples = {}
    n = passed = probed = 0
    started = time.perf_counter()
    probe_time = 0.0
    while time.perf_counter() - started < seconds:
        name = rng.choice(sorted(seeds))
        data = bytearray(seeds[name])
        edits = []
        for _ in range(rng.randint(1, 4)):
            pos = rng.choice(positions[name]) if rng.random() < 0.95 else rng.randrange(len(data))
            data[pos] = rng.choice(VALUES) if rng.random() < 0.5 else rng.randrange(256)
            edits.append((pos, data[pos]))
        n += 1
        try:
            inspect_tflite(bytes(data), name)
        except TinyOptError as exc:
            outcomes[str(exc).split(":")[1].strip()[:40] if ":" in str(exc) else "error"] += 1
            continue
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            sig = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
            findings[sig] += 1
            examples.setdefault(sig, (name, edits))
            continue
        passed += 1
        if passed % 20 == 1:  # LiteRT's first contact costs a process: sample it
            t = time.perf_counter()
            try:
                first_contact(bytes(data), name)
                outcomes["LiteRT first contact: opened"] += 1
            except TinyOptError as exc:
                outcomes["LiteRT first contact: " + ("crash contained" if "crashed" in str(exc)
                                                     else "refused")] += 1
            probe_time += time.perf_counter() - t
            probed += 1
    elapsed = time.perf_counter() - started
    rate = (n - probed) / max(elapsed - probe_time, 1e-9)
    rows = [[k, v] for k, v in outcomes.most_common()]
    text = (f"# .tflite fuzzing ({machine()})\n\n{n:,} mutants in {elapsed:.0f} s; in-process analysis "
            f"{rate:,.0f} mutants/s; {passed:,} passed every check; {probed} opened by LiteRT in a child.\n\n"
            f"Findings (exceptions other than the project's own): {sum(findings.values())}\n\n"
            + (markdown(["signature", "count", "example (model, edits)"],
                        [[s, c, examples[s]] for s, c in findings.most_common()]) + "\n\n" if findings else "")
            + markdown(["outcome", "mutants"], rows) + "\n")
    write("fuzz_tflite.md", text)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
