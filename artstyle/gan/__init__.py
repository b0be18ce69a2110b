"""Stage 1: a DCGAN that learns a painting style from a folder and emits batches of new images."""
