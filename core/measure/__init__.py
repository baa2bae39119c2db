"""What a variant is measured by: evaluation, the task's scores, fidelity to the original, TFLM's arena, the Data tab's samples."""
