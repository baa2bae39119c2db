"""Channel pruning to a budget on a residual network with BatchNorm (built and trained here on the
built-in 8x8 digits): flash, arena and instructions on the emulated Cortex-M4F falling with the
budget, and the accuracy each step costs.

    python bench/channels_resnet.py

Writes bench/results/channels_resnet.md.
"""

import sys
import tempfile
import time
from pathlib import Path

from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARES = (None, 0.75, 0.5, 0.35)  # flash budget as a share of the int8 model's (None: int8 alone)


def build_and_train(path: Path, seed: int = 0) -> int:
    from core.data import adapt, load_dataset
    from core.tf_env import keras, set_seed

    set_seed(seed)
    k = keras()

    def block(x, name):
        y = k.layers.Conv2D(16, 3, padding="same", name=f"{name}_a")(x)
        y = k.layers.BatchNormalization(name=f"{name}_a_bn")(y)
        y = k.layers.ReLU()(y)
        y = k.layers.Conv2D(16, 3, padding="same", name=f"{name}_b")(y)
        y = k.layers.BatchNormalization(name=f"{name}_b_bn")(y)
        return k.layers.ReLU()(k.layers.Add(name=f"{name}_add")([x, y]))

    inp = k.Input((8, 8, 1))
    x = k.layers.Conv2D(16, 3, padding="same", name="stem")(inp)
    x = k.layers.ReLU()(k.layers.BatchNormalization(name="stem_bn")(x))
    x = block(block(x, "r1"), "r2")
    x = k.layers.GlobalAveragePooling2D()(x)
    model = k.Model(inp, k.layers.Dense(10, name="head")(x))
    ds = adapt(load_dataset("digits", seed=seed), (8, 8, 1), 10)
    model.compile(optimizer=k.optimizers.Adam(3e-3), metrics=["accuracy"],
                  loss=k.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(ds.x_train, ds.y_train, epochs=40, batch_size=32, verbose=0)
    model.save(str(path))
    return model.count_params()


def main() -> int:
    from core.recipe import Recipe
    from core.session import Session
    from core.steps.base import Context

    folder = Path(tempfile.mkdtemp(prefix="tinyopt-resnet-"))
    model = folder / "resnet_digits.h5"
    t = time.monotonic()
    params = build_and_train(model)
    trained = time.monotonic() - t
    rows, int8_flash, int8_instr = [], None, None
    for share in SHARES:
        steps = [{"name": "quantize", "params": {"modes": ["int8"]}}]
        if share is not None:
            steps.insert(0, {"name": "channels", "params": {"flash_budget": int(int8_flash * share), "epochs": 15}})
        recipe = Recipe(model=str(model), data="digits", latency_runs=0, target="cortex-m4f", clock_mhz=64,
                        steps=steps)
        started = time.monotonic()
        session = Session(recipe)
        result = session.run(Context())
        seconds = time.monotonic() - started
        base, m = result.variants[0].metrics, result.variants[-1].metrics
        if share is None:
            int8_flash, int8_instr = m.size_bytes, m.target.instructions
        groups = (result.variants[-1].artifact.info.get("channels") or {}).get("groups", {})
        kept = ", ".join(f"{g['kept']}/{g['channels']}" for g in groups.values()) or "all 16"
        rows.append(["int8" if share is None else f"channels to {share:.0%} of int8's flash → int8",
                     f"{m.size_bytes:,}", f"{m.target.arena_used:,}", f"{m.target.instructions:,}",
                     f"{m.target.instructions / int8_instr:.2f}x", kept, f"{m.accuracy:.4f}",
                     f"{(m.accuracy - base.accuracy) * 100:+.2f}", f"{seconds:.0f}"])
        print(" | ".join(rows[-1]), flush=True)
    text = ("# Channel pruning to a budget on a residual network\n\n"
            f"{machine()}. A residual CNN built here (stem Conv 16 + BatchNorm, two residual blocks of two "
            f"Conv 16 + BatchNorm each, global average pooling, Dense 10; {params:,} parameters), trained 40 epochs "
            f"on the built-in 8x8 digits (1,437 / 360) in {trained:.0f} s. Each budget is a share of the int8 "
            "model's flash; channels go round by round, each candidate measured as int8 on the emulated "
            "Cortex-M4F (CMSIS-NN), then 15 epochs of fine-tuning. 'kept' lists the channel groups: the "
            "residual stream (stem and both blocks' second convolutions, tied by the Adds) and each block's "
            "inner convolution.\n\n"
            + markdown(["sequence", "flash B", "arena B (M4F)", "instructions (M4F)", "vs int8", "kept",
                        "accuracy", "Δ pt", "wall s"], rows) + "\n")
    write("channels_resnet.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
