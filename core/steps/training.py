"""Fine-tuning shared by the Keras steps: progress per batch, cancel between batches, a safe copy.

Every Keras step trains a copy of its input (`copy_model`), so the artifact it was given stays as
it was even when the user cancels half way through an epoch.
"""

from __future__ import annotations

import numpy as np

from core.errors import DataError
from core.steps.base import Context, Progress
from core.tf_env import keras, set_seed

# Upper bounds of the fine-tuning parameters: far above any useful value for an MCU-sized model,
# low enough that a typo (epochs: 1e9) is refused instead of training until killed.
MAX_EPOCHS = 500
MAX_BATCH = 65_536


def copy_model(model):
    """An independent copy with the same architecture and weights (the input is never trained)."""
    k = keras()
    clone = k.models.clone_model(model)
    clone.build(model.input_shape) if not clone.built else None
    clone.set_weights(model.get_weights())
    return clone


def outputs_logits(model) -> bool:
    """True when the last layer has no softmax: the loss must then be computed from logits."""
    act = getattr(model.layers[-1], "activation", None)
    name = getattr(act, "__name__", "")
    return name != "softmax" and type(model.layers[-1]).__name__ != "Softmax"


def compile_model(model, learning_rate: float, from_logits: bool, task: str = "classification") -> None:
    """Adam with the task's loss: cross-entropy for classes, mean squared error for regression
    targets and for an autoencoder's reconstruction."""
    k = keras()
    if task == "classification":
        model.compile(optimizer=k.optimizers.Adam(learning_rate),
                      loss=k.losses.SparseCategoricalCrossentropy(from_logits=from_logits), metrics=["accuracy"])
    else:
        model.compile(optimizer=k.optimizers.Adam(learning_rate), loss="mse")


def progress_callback(ctx: Context, step: str, epochs: int, steps_per_epoch: int):
    """A Keras callback that reports per batch and raises `Cancelled` between batches."""
    k = keras()
    total = max(1, epochs * steps_per_epoch)

    class _Progress(k.callbacks.Callback):
        epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            done = self.epoch * steps_per_epoch + batch + 1
            loss = (logs or {}).get("loss")
            extra = f", loss {loss:.3f}" if loss is not None else ""
            ctx.progress(Progress(step, f"epoch {self.epoch + 1}/{epochs}, batch {batch + 1}/"
                                        f"{steps_per_epoch}{extra}", done / total))
            ctx.cancel.check()

        def on_epoch_end(self, epoch, logs=None):
            acc = (logs or {}).get("accuracy")
            if acc is not None:
                ctx.log(f"{step}: epoch {epoch + 1}/{epochs} train accuracy {acc:.4f}")

    return _Progress()


def require_data(ctx: Context, step: str):
    ds = ctx.dataset
    if ds is None or len(ds.x_train) == 0:
        raise DataError(f"Step '{step}' fine-tunes the model and needs training data: choose a dataset.")
    if len(ds.y_train) != len(ds.x_train) and ctx.task != "anomaly":  # an autoencoder learns x itself
        raise DataError(f"Step '{step}' fine-tunes the model and needs labels, but '{ds.name}' has none "
                        "(x only). Give y (a .npz with x and y, or class subfolders), or leave this step out.")
    return ds


def fine_tune(model, ctx: Context, step: str, *, epochs: int, batch_size: int, learning_rate: float,
              callbacks=(), from_logits: bool | None = None, compile: bool = True, data=None) -> None:
    """Train `model` in place on `data` (x, y) or the context's training split; cancellable."""
    if data is None:
        x = require_data(ctx, step).x_train
        y = x.reshape((len(x), *model.output_shape[1:])) if ctx.task == "anomaly" else ctx.dataset.y_train
    else:
        x, y = data
    if compile:
        compile_model(model, learning_rate, outputs_logits(model) if from_logits is None else from_logits,
                      ctx.task)
    if epochs <= 0:
        return
    set_seed(ctx.seed)
    steps_per_epoch = int(np.ceil(len(x) / batch_size))
    cbs = [progress_callback(ctx, step, epochs, steps_per_epoch), *callbacks]
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True,
              callbacks=cbs)


def accuracy(model, x, y, batch_size: int = 256) -> float:
    """Top-1 accuracy of a Keras model (logits or probabilities alike)."""
    pred = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(pred, axis=-1) == y))


def kernel_layers(model, kinds=("Conv2D", "Dense", "DepthwiseConv2D", "SeparableConv2D")):
    """Layers that carry a weight kernel worth pruning or clustering, in model order."""
    return [layer for layer in model.layers if type(layer).__name__ in kinds]


def sparsity(weights: np.ndarray) -> float:
    return float(np.mean(weights == 0)) if weights.size else 0.0
