"""Would padding a convolution's input channels to a multiple of 4 make CMSIS-NN faster? Measured
before building it (issue 27): one int8 CONV_2D (16 filters, ReLU, SAME) for 1..8 input channels,
a 3x3 over 32x32 and a 1x5 over 1x64 (the 1xN shape CMSIS-NN has a fast path for when
(stride * channels) % 4 == 0), on the Cortex-M4F and the Cortex-M55: the operator's exact
instructions, MACs per instruction and the kernel it took.

    python bench/channel_padding.py

Writes bench/results/channel_padding.md. Padding pays where a larger channel count takes fewer
instructions than a smaller one.
"""

import sys
from pathlib import Path

import numpy as np
from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHANNELS = (1, 2, 3, 4, 5, 6, 8)
SHAPES = (((3, 3), (32, 32)), ((1, 5), (1, 64)))


def conv_int8(cin: int, kernel, hw) -> bytes:
    import tensorflow as tf

    from core.tf_env import keras

    k = keras()
    k.utils.set_random_seed(0)
    model = k.Sequential([k.Input((*hw, cin)), k.layers.Conv2D(16, kernel, padding="same", activation="relu")])
    rng = np.random.default_rng(0)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([rng.random((1, *hw, cin), np.float32)] for _ in range(20))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


def main() -> int:
    from core.target.build import firmware
    from core.target.measure import run, sample_inputs
    from core.target.targets import get

    runners = {t: firmware(get(t), "cmsis-nn") for t in ("cortex-m4f", "cortex-m55")}
    rows = []
    for kernel, hw in SHAPES:
        for cin in CHANNELS:
            data = conv_int8(cin, kernel, hw)
            for target, fw in runners.items():
                op = next(o for o in run(data, sample_inputs(data, 1), fw).ops if o.op == "CONV_2D")
                rows.append([target, f"{kernel[0]}x{kernel[1]} over {hw[0]}x{hw[1]}", str(cin),
                             f"{op.instructions:,}", f"{op.macs:,}", f"{op.macs_per_instruction:.3f}",
                             op.kernel.split(", arm_nn")[0]])
                print(" | ".join(rows[-1]), flush=True)
    rows.sort(key=lambda r: (r[0], r[1], int(r[2])))
    text = ("# Channel padding for CMSIS-NN: measured before building\n\n"
            f"{machine()}. One int8 CONV_2D (16 filters) per row, run once on the emulated core; "
            "instructions are the operator's own (exact, QEMU).\n\n"
            + markdown(["target", "convolution", "input channels", "instructions", "MACs", "MACs/instr",
                        "kernel"], rows) + "\n")
    write("channel_padding.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
