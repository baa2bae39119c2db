"""Analysis of .tflite models: reading, lifetimes, planning, MACs (one algorithm per module)."""


def inspect_tflite(data: bytes, label: str = "model") -> dict:
    """Everything the app reads from a .tflite without running it: structure, parameters, I/O
    types, per-operator memory and MACs, the offline plan. Raises only `LoadError` on bad files
    (the fuzz tests hold it to that)."""
    from core.analysis import tflite_reader as r
    from core.analysis.graph import build_graph
    from core.analysis.memory import analyze_graph
    from core.analysis.offline_plan import read_plan

    model = r.read_model(data, label)
    graph = build_graph(data, label)
    return {"ops": r.op_names(model), "params": r.parameter_count(model), "io": r.io_dtypes(model),
            "weights": sorted(r.weight_dtypes(model)), "activations": sorted(r.activation_dtypes(model)),
            "memory": analyze_graph(graph), "offline_plan": read_plan(model)}
