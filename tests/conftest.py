"""Shared fixtures: the reference CNN trained once per session, paths to ../shared/models."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
SHARED_MODELS = ROOT.parent / "shared" / "models"


def shared_model(name: str) -> Path:
    path = SHARED_MODELS / name
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared/models is not beside the checkout")
    return path


@pytest.fixture(scope="session")
def mnist5k():
    from core.data import load_dataset

    return load_dataset("mnist-5k")


@pytest.fixture(scope="session")
def trained_reference(mnist5k):
    """The reference CNN trained for 3 epochs on mnist-5k (about 5 s on 2 cores)."""
    from core.model.reference import train_reference

    return train_reference(mnist5k, epochs=3, seed=0)


@pytest.fixture(scope="session")
def adapted_mnist(trained_reference, mnist5k):
    from core.data import adapt

    return adapt(mnist5k, (28, 28), 10)


@pytest.fixture(scope="session")
def reference_h5(trained_reference, tmp_path_factory):
    from core.model.reference import save_keras

    return save_keras(trained_reference.model, tmp_path_factory.mktemp("ref") / "reference.h5")
