"""Gatys neural style transfer with a batch-averaged Gram loss: losses, optimiser, the stage."""
