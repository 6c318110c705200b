"""Tokenizers: train SentencePiece models, extend Llama 2's with Chinese pieces, load them.

The package imports nothing itself, so its settings (``config.py``) load without transformers.
"""
