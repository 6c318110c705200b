"""Evaluation: perplexity and bits per character, multiple choice, MT-Bench-style generation
judged by an LLM through an OpenAI-compatible endpoint."""
