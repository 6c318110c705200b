"""Keep secrets out of logged and saved configs.

Any key whose name looks like a credential (api key, token, secret, password, auth, bearer,
passphrase, access key) has its value replaced, at any depth, before a config reaches W&B, a
CSV header or a file on disk. A key name is split into words at ``_ . -`` and at camelCase
humps (``hfToken`` is ``hf token``); a credential word must be a whole word (``hf_token``,
``wandb_api_key``, ``authToken``, ``wandbkey``), so settings such as ``tokenizer``,
``original_tokenizer``, ``author`` or ``max_tokens`` are neither hidden nor mistaken for
secrets. Keys ending in ``_env`` name an environment variable, not a secret.

A value is a secret whatever its key when it has a credential's shape: a URL carrying
``user:password@`` (``http://user:PASS@host/v1``, a ``postgres://u:p@h/db`` DSN) or a token
with a provider's prefix (``hf_…``, ``sk-…``, ``ghp_…``, ``github_pat_…``, ``xoxb-…``, AWS
``AKIA…``, a JWT). ``redact_text`` hides those inside any text we write or print (a
traceback, a log line): a URL keeps its scheme and host, only its userinfo goes. Long hex
strings are not taken for secrets: model revisions and content hashes look the same.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

SECRET_WORDS = frozenset(
    {"token", "secret", "password", "passwd", "passphrase", "bearer", "auth", "credential"}
    | {"credentials", "apikey", "cookie", "authorization", "pwd", "pat", "session", "dsn"}
    | {"sessionid"}
)
# "<prefix> key" or "<prefix>key" is a credential (api_key, access-key, wandbkey, hfKey)
KEY_PREFIXES = frozenset({"api", "access", "private", "secret", "wandb", "hf", "openai", "auth"})
REDACTED = "<redacted>"
OVERRIDE_PREFIXES = "+~"
# scheme://user[:password]@ — the userinfo part of a URL or DSN
URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/@?#]+@")
# tokens whose prefix says which service issued them
TOKEN_SHAPES = re.compile(
    r"\b(?:hf_[A-Za-z0-9]{30,}|sk-[A-Za-z0-9_\-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|github_pat_[A-Za-z0-9_]{30,}|xox[abposr]-[A-Za-z0-9\-]{10,}|AKIA[0-9A-Z]{16}"
    r"|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]+)"
)


def key_words(name: str) -> list[str]:
    """``wandbApiKey`` → ``[wandb, api, key]``; ``HF_TOKEN`` → ``[hf, token]``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[\s_.\-]+", spaced.lower()) if w]


def looks_secret(key: Any) -> bool:
    """True for a key that holds a credential (not for ``*_env`` keys naming a variable)."""
    name = str(key)
    if name.endswith("_env"):
        return False
    words = key_words(name)
    if words == ["key"]:  # a bare `key`; `sort_key`, `keyword` are settings
        return True
    for i, word in enumerate(words):
        if word in SECRET_WORDS or (word.endswith("key") and word[:-3] in KEY_PREFIXES):
            return True
        if word == "key" and i > 0 and words[i - 1] in KEY_PREFIXES:
            return True
    return False


def secret_shaped(value: Any) -> bool:
    """A string holding a URL with userinfo or a provider-issued token, whatever its key."""
    return isinstance(value, str) and redact_text(value) != value


def redact_text(text: str) -> str:
    """``text`` with URL userinfo and token-shaped strings replaced by REDACTED."""
    text = URL_USERINFO.sub(rf"\g<scheme>{REDACTED}@", text)
    return TOKEN_SHAPES.sub(REDACTED, text)


def holds_secret(key: Any, value: Any) -> bool:
    """A credential-like key with a literal value (string or number, not a flag or a section),
    or a secret-shaped string under any key."""
    literal = isinstance(value, (str, int, float)) and not isinstance(value, bool)
    return (looks_secret(key) and literal and value != "") or secret_shaped(value)


def redact(value: Any) -> Any:
    """A copy of a nested dict/list structure with credential-like keys' values redacted and
    secret-shaped strings hidden (a URL keeps its host)."""
    if isinstance(value, dict):
        return {
            k: (REDACTED if looks_secret(k) and v is not None else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def secret_values(value: Any) -> list[str]:
    """The literal values under credential-like keys anywhere in a nested config."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if holds_secret(key, item):
                found.append(str(item))
            else:
                found.extend(secret_values(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(secret_values(item))
    elif secret_shaped(value):
        found.append(value)
    return found


def secret_override_values(overrides: list[str]) -> list[str]:
    """The values of command-line overrides such as ``+paths.hf_token=abc`` (here ``abc``), and
    of any override whose value has a secret's shape (``base_url=http://u:p@h``)."""
    values = []
    for override in overrides:
        key, sep, value = override.partition("=")
        last = key.lstrip(OVERRIDE_PREFIXES).rsplit(".", 1)[-1]
        if sep and value and (looks_secret(last) or secret_shaped(value)):
            values.append(value)
    return values


def scrub_files(folder: Path, secrets: list[str]) -> None:
    """Replace every occurrence of each secret, and every secret-shaped string, in the text
    files of ``folder`` by REDACTED.

    Hydra writes ``.hydra/{config,hydra,overrides}.yaml`` (overrides, the job's
    ``override_dirname``) before our code sees the config, so a secret given on the command
    line would otherwise stay on disk even though validation then rejects the job.
    """
    secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
    if not folder.is_dir():
        return
    for path in folder.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        scrubbed = text
        for secret in secrets:
            scrubbed = scrubbed.replace(secret, REDACTED)
        scrubbed = redact_text(scrubbed)
        if scrubbed != text:
            path.write_text(scrubbed, encoding="utf-8")
