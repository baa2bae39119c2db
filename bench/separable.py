"""Operations optimization on a model with multi-channel convolutions (issue: >= 3x fewer MACs,
within 2 accuracy points after fine-tuning).

Model: Conv2D(32, 3x3) -> MaxPool -> Conv2D(32, 3x3) -> MaxPool -> Dense(10), trained on mnist-5k,
then the separable step at rank 1 and rank 2 (its accuracy guard on, 1 point).
Run: .venv/bin/python bench/separable.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._table import machine, markdown, write  # noqa: E402


def build(k):
    inp = k.Input((28, 28, 1))
    x = k.layers.MaxPooling2D()(k.layers.Conv2D(32, 3, padding="same", activation="relu")(inp))
    x = k.layers.MaxPooling2D()(k.layers.Conv2D(32, 3, padding="same", activation="relu")(x))
    return k.Model(inp, k.layers.Dense(10)(k.layers.Flatten()(x)), name="two_conv")


def main() -> int:
    from core.artifact import Artifact
    from core.data import adapt, load_dataset
    from core.steps.base import Context
    from core.steps.separable import SeparableStep
    from core.steps.training import accuracy, compile_model
    from core.tf_env import keras, set_seed

    ds = adapt(load_dataset("mnist-5k"), (28, 28, 1), 10)
    set_seed(0)
    model = build(keras())
    compile_model(model, 3e-3, True)
    model.fit(ds.x_train, ds.y_train, epochs=4, batch_size=32, verbose=0)
    base = accuracy(model, ds.x_test, ds.y_test)
    art = Artifact("keras", "original", "two-conv CNN (mnist-5k)", model=model)
    rows = []
    for rank in (1, 2):
        t = time.perf_counter()
        out = SeparableStep(rank=rank, epochs=3).run(art, Context(dataset=ds))[0]
        layers = out.info["separable"]["layers"]
        before = sum(v["macs_before"] for v in layers.values())
        after = sum(v["macs_after"] if v["replaced"] else v["macs_before"] for v in layers.values())
        acc = accuracy(out.model, ds.x_test, ds.y_test)
        rows.append([f"rank {rank}", ", ".join(f"{n}: {'replaced' if v['replaced'] else 'kept (' + v['reason'] + ')'}"
                                                for n, v in layers.items()),
                     f"{before:,}", f"{after:,}", f"{before / after:.1f}x", f"{base:.4f}", f"{acc:.4f}",
                     f"{(acc - base) * 100:+.2f} pt", f"{time.perf_counter() - t:.0f}"])
    table = markdown(["setting", "layers", "conv MACs before", "after", "reduction", "test acc before",
                      "after", "Δ", "seconds"], rows)
    write("separable.md", f"# Separable rewrite on a two-conv CNN (mnist-5k)\n\nMeasured {machine()}.\n\n"
          + table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
