"""The study's base CNN, so a user without a model can start.

Reshape to 28x28x1, Conv2D(12, 3x3, relu), MaxPooling2D(2x2), Flatten, Dense(10) logits:
20,410 parameters, Adam and sparse categorical cross-entropy from logits.
"""

from __future__ import annotations

from pathlib import Path

from core.artifact import KERAS, Artifact
from core.data import Dataset, load_dataset
from core.tf_env import keras, set_seed

PARAMS = 20_410


def build_reference(input_shape=(28, 28)):
    """The untrained reference CNN (Keras 2 Sequential, compiled)."""
    k = keras()
    model = k.Sequential([
        k.layers.InputLayer(input_shape=input_shape),
        # Fixed names: Keras numbers default names per process, and users (and tests) name layers
        # in skip lists.
        k.layers.Reshape((28, 28, 1), name="reshape"),
        k.layers.Conv2D(12, (3, 3), activation="relu", name="conv2d"),
        k.layers.MaxPooling2D((2, 2), name="max_pooling2d"),
        k.layers.Flatten(name="flatten"),
        k.layers.Dense(10, name="dense"),
    ], name="reference_cnn")
    compile_for_training(model)
    return model


def compile_for_training(model, learning_rate: float = 1e-3) -> None:
    k = keras()
    model.compile(optimizer=k.optimizers.Adam(learning_rate),
                  loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])


def train_reference(data: Dataset | str = "mnist-5k", *, epochs: int = 15, batch_size: int = 32,
                    seed: int = 0, callbacks=None) -> Artifact:
    """Train the reference CNN deterministically on `data` (28x28 images)."""
    ds = load_dataset(data, seed=seed) if isinstance(data, str) else data
    from core.data import adapt

    ds = adapt(ds, (28, 28), 10, model_name="the reference CNN")
    set_seed(seed)
    model = build_reference()
    model.fit(ds.x_train, ds.y_train, epochs=epochs, batch_size=batch_size, verbose=0,
              shuffle=True, callbacks=callbacks or [])
    return Artifact(kind=KERAS, name="original", source=f"reference CNN ({ds.name}, seed {seed})",
                    model=model)


def save_keras(model, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path), include_optimizer=False)
    return path
