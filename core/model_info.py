"""What a model takes and gives: input shape, number of outputs, expected input range."""

from __future__ import annotations

from dataclasses import dataclass

from core.artifact import Artifact


@dataclass(frozen=True)
class ModelIO:
    input_shape: tuple  # without the batch axis; None for unknown dimensions
    num_outputs: int | None
    value_range: tuple = (0.0, 1.0)
    output_shape: tuple = ()  # without the batch axis


def model_io(artifact: Artifact) -> ModelIO:
    if artifact.is_keras:
        return _keras_io(artifact.model)
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=artifact.data)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    shape = tuple(None if d < 0 else int(d) for d in inp.get("shape_signature", inp["shape"])[1:])
    out_shape = tuple(None if d < 0 else int(d) for d in out.get("shape_signature", out["shape"])[1:])
    return ModelIO(shape, int(out["shape"][-1]) if len(out["shape"]) else None, output_shape=out_shape)


def _keras_io(model) -> ModelIO:
    in_shape = model.input_shape
    if isinstance(in_shape, list):
        in_shape = in_shape[0]
    out_shape = model.output_shape
    if isinstance(out_shape, list):
        out_shape = out_shape[0]
    return ModelIO(tuple(in_shape[1:]), out_shape[-1], _keras_value_range(model), tuple(out_shape[1:]))


def _keras_value_range(model) -> tuple:
    # A model that starts with Rescaling(1/255) expects raw 0..255 pixels.
    for layer in model.layers[:3]:
        if type(layer).__name__ == "Rescaling":
            scale = float(layer.get_config().get("scale", 1.0))
            if 0 < scale < 1:
                return (0.0, round(1.0 / scale, 3))
    return (0.0, 1.0)

