"""bailong: bilingual transfer learning with vocabulary extension, zip-tie embeddings and QLoRA."""

__version__ = "0.1.0"
