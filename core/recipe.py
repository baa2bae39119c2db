"""`Recipe`: the plain JSON that the GUI and the CLI both run (model, dataset, steps, seed)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import SequenceError
from core.sequence import Sequence

FORMAT = 1
REFERENCE = "reference"  # model value meaning "train (or reuse) the study's reference CNN"


@dataclass
class Recipe:
    model: str = REFERENCE
    data: str = "mnist-5k"
    steps: list = field(default_factory=list)
    seed: int = 0
    trust_model_code: bool = False
    latency_runs: int = 200
    reference_epochs: int = 15

    def sequence(self) -> Sequence:
        return Sequence.from_dicts(self.steps)

    def to_dict(self) -> dict:
        return {"format": FORMAT, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    def digest(self) -> str:
        """Short hash that identifies what this recipe produces."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(self.to_json())
        return path

    @classmethod
    def from_dict(cls, d: dict, origin: str = "recipe") -> "Recipe":
        if not isinstance(d, dict):
            raise SequenceError(f"{origin}: a recipe is a JSON object.")
        fmt = d.get("format", FORMAT)
        if fmt != FORMAT:
            raise SequenceError(f"{origin}: recipe format {fmt} is not supported (this version "
                                f"reads format {FORMAT}).")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known - {"format"})
        if unknown:
            raise SequenceError(f"{origin}: unknown field(s) {', '.join(unknown)}; known fields are "
                                f"{', '.join(sorted(known))}.")
        recipe = cls(**{k: v for k, v in d.items() if k in known})
        if not isinstance(recipe.steps, list):
            raise SequenceError(f"{origin}: 'steps' must be a list.")
        recipe.sequence()  # builds every step: bad names and parameters fail here, before running
        return recipe

    @classmethod
    def load(cls, path) -> "Recipe":
        path = Path(path)
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError:
            raise SequenceError(f"{path}: no such recipe file.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SequenceError(f"{path.name}: not valid JSON ({exc}).") from None
        return cls.from_dict(d, path.name)
