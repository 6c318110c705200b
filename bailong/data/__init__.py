"""Data: read documents, tokenize, pack into blocks, serve resumable dataloaders."""
