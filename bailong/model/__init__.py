"""Model: 4-bit base loading, LoRA wrapping, and the LightningModule that trains it."""
