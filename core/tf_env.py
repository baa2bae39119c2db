"""The one place that prepares TensorFlow's environment before it is imported.

tensorflow-model-optimization needs Keras 2, so `TF_USE_LEGACY_KERAS=1` must be set before the
first `import tensorflow`. Every module that needs TensorFlow or Keras gets them from here, lazily,
so importing `core` (or starting the GUI) stays fast.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # converter chatter belongs in no user's terminal


def tf():
    """Return the `tensorflow` module, importing it on first use."""
    import tensorflow

    return tensorflow


def keras():
    """Return Keras 2 (`tf_keras`), the Keras that tfmot and the converter share."""
    import tf_keras
    from tf_keras.src.saving import saving_lib

    # tf_keras keeps "save .keras as a zip" in a thread-local set only in the importing thread; the
    # app imports it in a worker, and other threads would then write HDF5 into .keras files.
    if not hasattr(saving_lib._SAVING_V3_ENABLED, "value"):
        saving_lib._SAVING_V3_ENABLED.value = True
    return tf_keras


def set_seed(seed: int) -> None:
    """Make Python, NumPy and TensorFlow random streams (and TF ops) deterministic."""
    keras().utils.set_random_seed(int(seed))
    try:
        tf().config.experimental.enable_op_determinism()
    except Exception:  # already enabled or unsupported on this build: determinism is best-effort
        pass


def tfmot():
    """Return `tensorflow_model_optimization` (needs the Keras 2 set up above)."""
    import tensorflow_model_optimization

    return tensorflow_model_optimization


def name_counters():
    """Keras' per-process name counters (conv2d_3, quantize_layer_1, ...) as they are now.

    Layer and model names reach a .tflite's tensor names, so a run that skips steps it has
    already computed (core/search/prefixes.py) sets these back to what the steps would have left, and
    writes the same bytes as a run that computed them. tf_keras keeps them in module globals
    (PER_GRAPH_OBJECT_NAME_UIDS, OBSERVED_NAMES): checked with the pinned tf-keras 2.21.0."""
    from tf_keras.src import backend as impl

    uids = impl.PER_GRAPH_OBJECT_NAME_UIDS.get(impl.get_graph(), {})
    return dict(uids), set(impl.OBSERVED_NAMES)


def set_name_counters(snapshot) -> None:
    import collections

    from tf_keras.src import backend as impl

    uids, observed = snapshot
    impl.PER_GRAPH_OBJECT_NAME_UIDS[impl.get_graph()] = collections.defaultdict(int, uids)
    impl.OBSERVED_NAMES.clear()
    impl.OBSERVED_NAMES.update(observed)
