"""Weight clustering (tfmot cluster_weights) with fine-tuning, then strip_clustering.

Clustering alone does not shrink a .tflite either (each weight still takes a byte); the LUT
compression step turns "few distinct values" into few bits per weight on TFLM.
cluster_weights changes the layers of the model it is given, so it only ever sees our own copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.artifact import KERAS
from core.errors import SequenceError
from core.params import param
from core.steps.base import Context, Progress, Step
from core.steps.training import MAX_BATCH, MAX_EPOCHS, copy_model, fine_tune, kernel_layers, sparsity
from core.tf_env import keras, tfmot

INITS = {"kmeans++": "KMEANS_PLUS_PLUS", "linear": "LINEAR", "density": "DENSITY_BASED",
         "random": "RANDOM"}


@dataclass
class ClusterParams:
    clusters: int = param(16, "distinct weight values per layer (16 gives 4-bit LUT weights)",
                          min=2, max=256)
    init: str = param("kmeans++", "how the cluster centroids start", choices=tuple(INITS))
    preserve_sparsity: str = param("auto", "keep pruned zeros at zero (auto: when pruned earlier)",
                                   choices=("auto", "yes", "no"))
    epochs: int = param(1, "fine-tuning epochs", min=0, max=MAX_EPOCHS, unit="epochs")
    batch_size: int = param(32, "fine-tuning batch size", min=1, max=MAX_BATCH)
    learning_rate: float = param(1e-4, "fine-tuning learning rate", min=1e-7, max=1.0)
    skip_layers: list = param([], "layers left unclustered", kind="layers")


class ClusterStep(Step):
    name = "cluster"
    title = "Weight clustering"
    takes = KERAS
    gives = KERAS
    primary = "clusters"
    Params = ClusterParams

    def check_order(self, previous):
        if any(s.name == "qat" for s in previous):
            return "cluster before 'qat' (cluster-preserving QAT keeps the clusters; the reverse does not)."
        return None

    def run(self, artifact, ctx: Context) -> list:
        p = self.params
        c = tfmot().clustering.keras
        pruned = artifact.applied("prune")
        keep_zeros = p.preserve_sparsity == "yes" or (p.preserve_sparsity == "auto" and pruned)
        if keep_zeros:
            # The public name tfmot.clustering.keras.experimental.cluster exists only once this
            # module is imported (QAT's collaborative schemes did it, so a prune -> cluster run
            # without QAT in a fresh process failed). Import it by its module path.
            from tensorflow_model_optimization.python.core.clustering.keras.experimental import cluster as exp

            cluster_weights = exp.cluster_weights
        else:
            cluster_weights = c.cluster_weights
        extra = {"preserve_sparsity": True} if keep_zeros else {}
        init = getattr(c.CentroidInitialization, INITS[p.init])
        model = copy_model(artifact.model)
        targets = {layer.name for layer in kernel_layers(model) if layer.name not in p.skip_layers}
        if not targets:
            raise SequenceError("Clustering: no layer left to cluster (every kernel layer is skipped).")

        # A layer with fewer weights to cluster than clusters (a small kernel pruned hard: 13 non-zero
        # weights for 16 clusters) makes tfmot's k-means++ fail: it gets one cluster per weight.
        counts = {layer.name: int(np.count_nonzero(w) if keep_zeros else w.size)
                  for layer in kernel_layers(model) if layer.name in targets for w in layer.get_weights()[:1]}
        for name, n in counts.items():
            if n < p.clusters:
                ctx.log(f"cluster: {name} has {n} {'non-zero ' if keep_zeros else ''}weights: {max(n, 1)} "
                        f"clusters instead of {p.clusters}")

        def wrap(layer):  # our own copy: wrapping its built layers keeps their weights
            if layer.name in targets:
                return cluster_weights(layer, number_of_clusters=max(1, min(p.clusters, counts[layer.name])),
                                       cluster_centroids_init=init, **extra)
            return layer

        clustered = keras().models.clone_model(model, clone_function=wrap)
        ctx.log(f"cluster: {len(targets)} layer(s) into {p.clusters} clusters ({p.init}"
                f"{', keeping zeros' if keep_zeros else ''})")
        fine_tune(clustered, ctx, self.name, epochs=p.epochs, batch_size=p.batch_size,
                  learning_rate=p.learning_rate)
        stripped = c.strip_clustering(clustered)
        uniques = {layer.name: int(np.unique(layer.get_weights()[0]).size)
                   for layer in kernel_layers(stripped) if layer.name in targets}
        for name, n in uniques.items():
            ctx.log(f"cluster: {name} has {n} distinct weight values")
        info = {"clusters": p.clusters, "distinct_values": uniques, "preserve_sparsity": keep_zeros}
        if keep_zeros:
            info["sparsity"] = {layer.name: round(sparsity(layer.get_weights()[0]), 4)
                                for layer in kernel_layers(stripped) if layer.name in targets}
        ctx.progress(Progress(self.name, "done", 1.0))
        return [artifact.derive(kind=KERAS, name="clustered", step=f"cluster:{p.clusters}",
                                model=stripped, info=info)]
