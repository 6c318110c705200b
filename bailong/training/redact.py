"""Keep secrets out of logged and saved configs.

Any key whose name looks like a credential (api key, token, secret, password) has its value
replaced, at any depth, before a config reaches W&B, a CSV header or a YAML file on disk.
"""

from __future__ import annotations

import re
from typing import Any

# "token" only as a whole word part (hf_token, auth_token), never "tokenizer" or "max_tokens".
SECRET_KEY = re.compile(
    r"(api[_-]?key|(^|_)token($|_)|secret|password|passwd|credential)", re.IGNORECASE
)
REDACTED = "<redacted>"


def redact(value: Any) -> Any:
    """A copy of a nested dict/list structure with credential-like keys' values redacted."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if SECRET_KEY.search(str(k)) and v is not None else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
