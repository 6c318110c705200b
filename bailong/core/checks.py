"""What every stage's config checks are made of: the error, its one message shape, the schema merge.

Each stage keeps its settings and their checks beside its code (``bailong/<stage>/config.py``);
they all fail the same way, ``<key>=<value> is invalid: <what is allowed>``, through ``fail``
(or ``collect`` several checks and ``raise_all`` their problems in one error), and every app's
config goes onto its dataclass schema through ``merge_schema`` (unknown keys and wrong types
named by their full key; a secret written into the config refused).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from bailong.core.redact import holds_secret

Schema = TypeVar("Schema")


class ConfigError(ValueError):
    """A config value is invalid; the message names the key, the value and what is allowed."""


def problem(key: str, value: object, allowed: str) -> str:
    """The one shape of every config problem: key, value, what is allowed."""
    return f"{key}={value!r} is invalid: {allowed}"


def fail(key: str, value: Any, allowed: str) -> NoReturn:
    raise ConfigError(problem(key, value, allowed))


def check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        fail(key, value, f"allowed values are {list(choices)}")


def collect(checks: list[Callable[[], list[str] | None]]) -> list[str]:
    """Run every check; a check returns its problems or raises ConfigError for its first one."""
    found: list[str] = []
    for check in checks:
        try:
            found.extend(check() or [])
        except ConfigError as err:
            found.append(str(err))
    return found


def raise_all(problems: list[str]) -> None:
    """One ConfigError holding every problem (one per line), or nothing when there are none."""
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} problems:\n" + "\n".join(f"  - {p}" for p in problems))


def reject_inline_secrets(raw: Any, prefix: str = "") -> None:
    """Credentials belong in environment variables, never in configs that get logged/saved.

    A key that looks like a credential (api_key, hf_token, password, ...) with a literal value
    (a string or a number) is rejected; name the environment variable instead, in a key ending
    in ``_env``.
    """
    if isinstance(raw, dict):
        for key, value in raw.items():
            name = f"{prefix}{key}"
            if holds_secret(key, value):
                raise ConfigError(
                    f"{name}=<hidden> looks like a secret written into the config; configs are "
                    f"logged and saved, so set it in an environment variable and give its name "
                    f"in {name}_env instead"
                )
            reject_inline_secrets(value, f"{name}.")
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            reject_inline_secrets(value, f"{prefix[:-1]}[{i}].")


def merge_schema(schema: type[Schema], cfg: DictConfig) -> Schema:
    """A composed config (``hydra`` node dropped) as an instance of ``schema``; type and
    unknown-key errors, and secrets written into it, become ``ConfigError``."""
    raw = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(raw, dict)
    raw.pop("hydra", None)
    reject_inline_secrets(raw)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), raw)
    except OmegaConfBaseException as err:
        raise ConfigError(str(err).strip()) from None
    obj = OmegaConf.to_object(merged)
    assert isinstance(obj, schema)
    return obj
