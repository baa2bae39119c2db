"""Load a model file into an `Artifact`, refusing bad or unsafe input with a clear message.

Keras files are inspected *before* deserialization: a Lambda layer (or any config that carries
Python code) would run code from the file, so it is refused unless the user opts in with
``trust_model_code`` (CLI: ``--trust-model-code``).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

from core.artifact import KERAS, TFLITE, Artifact
from core.errors import LoadError, UnsafeModelError, setting

KERAS_SUFFIXES = (".h5", ".hdf5", ".keras")
TFLITE_SUFFIXES = (".tflite",)
ONNX_SUFFIXES = (".onnx",)
SUPPORTED = "Keras .h5/.keras, a SavedModel folder, .tflite, or .onnx"

TRUST_HINT = (f"Open it only if you trust where it came from: {setting('trust_model_code')} (a recipe "
              "file cannot grant this).")


def load_model(path, *, trust_model_code: bool = False, progress=lambda message: None) -> Artifact:
    """Load `path` (Keras .h5/.keras, SavedModel folder, .tflite, or .onnx: converted to Keras by
    onnx2tf in a child process, cached; core/model/onnx_import.py).

    Raises
    ------
    LoadError
        With a message naming the file and the cause, for anything that is not a usable model.
    UnsafeModelError
        When loading would execute code stored in the file and `trust_model_code` is False.
    """
    path = Path(path)
    if not path.exists():
        raise LoadError(f"{path}: no such file or folder.")
    if path.is_dir():
        return _load_savedmodel(path, trust_model_code)
    suffix = path.suffix.lower()
    if suffix not in KERAS_SUFFIXES + TFLITE_SUFFIXES + ONNX_SUFFIXES:
        raise LoadError(f"{path.name}: unknown model format '{suffix or '(no extension)'}'. "
                        f"Open {SUPPORTED}.")
    if path.stat().st_size == 0:
        raise LoadError(f"{path.name}: the file is empty (0 bytes). Re-export or re-download it.")
    if suffix in TFLITE_SUFFIXES:
        return tflite_artifact(path.read_bytes(), name="original", source=str(path))
    if suffix in ONNX_SUFFIXES:
        return _load_onnx(path, progress)
    if suffix == ".keras":
        config = _keras_zip_config(path)
    else:
        config = _h5_config(path)
    _check_config(path, config, trust_model_code)
    return _keras_load(path, trust_model_code, config)


def tflite_artifact(data: bytes, *, name: str, source: str) -> Artifact:
    """Check untrusted .tflite bytes and wrap them in an `Artifact`.

    In order: the identifier; TFLite's flatbuffer verifier and our structural checks (pure Python,
    core.analysis.validate); then LiteRT's first contact (build, allocate, invoke on zeros) in a
    child process, because a damaged file that passes both can still crash LiteRT's C++.
    """
    label = Path(source).name
    if len(data) < 8 or data[4:8] != b"TFL3":
        looks = " (it looks like text)" if _looks_like_text(data) else ""
        raise LoadError(f"{label}: not a TensorFlow Lite model{looks}: the 'TFL3' identifier is "
                        "missing. Convert the model with the TFLite converter, or open the Keras file.")
    from core.analysis.tflite_reader import read_model

    read_model(data, label)
    first_contact(data, label)
    return Artifact(kind=TFLITE, name=name, source=source, data=bytes(data))


def first_contact(data: bytes, label: str, timeout: float = 120) -> dict:
    """Run LiteRT on `data` in a child process; a crash there becomes a `LoadError` naming `label`.

    A valid model LiteRT cannot run (a custom op, ...) is kept: evaluation says why.
    """
    import subprocess

    from core.probes.isolation import describe_crash, run_probe, temp_dir

    with temp_dir("litert") as tmp:
        model = Path(tmp) / "model.tflite"
        model.write_bytes(data)
        try:
            proc = run_probe("core.probes.litert_probe", "--litert-probe", [str(model)], timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LoadError(f"{label}: LiteRT did not finish opening this model within {timeout:.0f} s; "
                            "the file may be damaged or crafted. Export it again.") from None
    lines = proc.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        result = json.loads(lines[-1]) if proc.returncode == 0 else None
    except (ValueError, IndexError):
        result = None
    if result is None:
        raise LoadError(f"{label}: LiteRT crashed while opening this model ({describe_crash(proc.returncode)}). "
                        "The file passes the flatbuffer checks but holds values no runtime can use "
                        "(damaged or crafted). Export it again from its source.")
    if not result.get("verified"):
        raise LoadError(f"{label}: the TFLite file is corrupt or truncated ({len(data):,} bytes fail "
                        "TFLite's flatbuffer verifier). Copy or export it again.")
    return result


def _looks_like_text(data: bytes) -> bool:
    head = data[:512]
    return bool(head) and all(32 <= b < 127 or b in (9, 10, 13) for b in head)


# --- Keras: read the stored config without deserializing anything -------------------------------

def _h5_config(path: Path) -> dict:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
    except OSError:
        looks = " (it looks like text)" if _looks_like_text(path.read_bytes()[:512]) else ""
        raise LoadError(f"{path.name}: not a valid HDF5 file{looks}; it may be truncated or not a "
                        "Keras model. Save the model again with model.save('model.h5').") from None
    if raw is None:
        raise LoadError(f"{path.name}: this HDF5 file holds no Keras model (no model_config; weights "
                        "only?). Save the whole model with model.save(), not save_weights().")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise LoadError(f"{path.name}: the model configuration inside the file is damaged.") from None


def _keras_zip_config(path: Path) -> dict:
    try:
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError):
        raise LoadError(f"{path.name}: not a valid .keras archive (truncated, or not saved by "
                        "Keras). Save the model again with model.save('model.keras').") from None


def _savedmodel_configs(path: Path) -> list[dict]:
    meta = path / "keras_metadata.pb"
    if not meta.exists():
        return []
    from tf_keras.protobuf import saved_metadata_pb2

    proto = saved_metadata_pb2.SavedMetadata()
    try:
        proto.ParseFromString(meta.read_bytes())
    except Exception:
        raise LoadError(f"{path.name}: keras_metadata.pb is damaged. Save the model again.") from None
    configs = []
    for node in proto.nodes:
        try:
            configs.append(json.loads(node.metadata))
        except json.JSONDecodeError:
            continue
    return configs


def _walk_layers(config, found: list) -> None:
    """Collect (layer name, class name, config) for every layer config nested in `config`."""
    if isinstance(config, dict):
        cls = config.get("class_name")
        inner = config.get("config")
        if isinstance(cls, str) and isinstance(inner, dict):
            found.append((inner.get("name", "?"), cls, inner))
        for value in config.values():
            _walk_layers(value, found)
    elif isinstance(config, list):
        for value in config:
            _walk_layers(value, found)


def _unsafe_layers(config) -> list[tuple[str, str]]:
    layers: list = []
    _walk_layers(config, layers)
    unsafe = []
    for name, cls, inner in layers:
        carries_code = cls == "Lambda" or inner.get("function_type") == "lambda"
        if carries_code and (name, cls) not in unsafe:
            unsafe.append((name, cls))
    return unsafe


def _check_config(path: Path, config, trust: bool) -> None:
    if trust:
        return
    unsafe = _unsafe_layers(config)
    if unsafe:
        names = ", ".join(f"'{n}' ({c})" for n, c in unsafe)
        raise UnsafeModelError(f"{path.name}: layer {names} stores Python code that would run when "
                               f"the model is loaded, so it was not loaded. {TRUST_HINT}",
                               path=str(path), layers=[n for n, _ in unsafe])


def _load_savedmodel(path: Path, trust: bool) -> Artifact:
    if not (path / "saved_model.pb").exists() and not (path / "saved_model.pbtxt").exists():
        raise LoadError(f"{path}: this folder is not a SavedModel (no saved_model.pb inside). "
                        f"Open {SUPPORTED}.")
    configs = _savedmodel_configs(path)
    if not configs:
        raise LoadError(f"{path.name}: a SavedModel without Keras metadata. Convert it to .tflite "
                        "with tf.lite.TFLiteConverter.from_saved_model and open that, or save the "
                        "Keras model itself.")
    _check_config(path, configs, trust)
    return _keras_load(path, trust, configs)


_UNKNOWN = re.compile(r"Unknown (layer|object|class)", re.I)
_BUILTIN_EXTRA = {"Sequential", "Functional", "Model", "TFOpLambda", "SlicingOpLambda"}


def _layer_entries(config, found: list) -> list:
    """(layer name, class name) of every entry of every nested 'layers' list."""
    if isinstance(config, dict):
        for key, value in config.items():
            if key == "layers" and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and isinstance(item.get("class_name"), str):
                        inner = item.get("config") if isinstance(item.get("config"), dict) else {}
                        found.append((inner.get("name", "?"), item["class_name"]))
            _layer_entries(value, found)
    elif isinstance(config, list):
        for value in config:
            _layer_entries(value, found)
    return found


def _unknown_layers(config, k) -> list:
    custom = set(k.utils.get_custom_objects())
    return [(n, c) for n, c in _layer_entries(config, [])
            if not hasattr(k.layers, c) and c not in _BUILTIN_EXTRA and c not in custom]


def _load_onnx(path: Path, progress) -> Artifact:
    from core.model.onnx_import import onnx_to_keras

    h5, info = onnx_to_keras(path, progress)
    config = _h5_config(h5)
    _check_config(path, config, False)  # onnx2tf writes TFOpLambda layers: TensorFlow ops, no code
    art = _keras_load(h5, False, config)
    return Artifact(kind=KERAS, name="original", source=str(path), model=art.model, info={"onnx": info})


def _keras_load(path: Path, trust: bool, config=None) -> Artifact:
    from core.tf_env import keras

    k = keras()
    try:
        if path.suffix.lower() == ".keras":
            model = k.models.load_model(path, compile=False, safe_mode=not trust)
        else:
            model = k.models.load_model(str(path), compile=False)
    except Exception as exc:  # Keras raises many types; all become one message naming the cause
        text = str(exc)
        unknown = _unknown_layers(config, k) if _UNKNOWN.search(text) else []
        if unknown:
            names = ", ".join(f"'{n}' ({c})" for n, c in unknown)
            raise LoadError(f"{path.name}: custom layer {names} cannot be rebuilt: its code is not "
                            "part of the file. Load the model in Python with its custom_objects and "
                            "save a .tflite, or replace the custom layer.") from None
        first = text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
        raise LoadError(f"{path.name}: Keras could not load this model: {first}") from None
    if not isinstance(model, k.Model):
        raise LoadError(f"{path.name}: the file loaded but is not a Keras model.")
    return Artifact(kind=KERAS, name="original", source=str(path), model=model)
