"""Child processes for what may crash the caller (TFLM, LiteRT on untrusted files) and the temporary folders they use."""
