"""LLM-as-a-judge over any OpenAI-compatible chat-completions endpoint (single-answer 1–10).

The client is plain ``urllib``: one POST to ``<base_url>/chat/completions`` per judgment, a
timeout on every request, and retries with exponential backoff on rate limits (429), server
errors (5xx) and connection failures; other HTTP errors (a bad key, a wrong model name) stop
at once with the server's message. The API key is read from an environment variable named in
the config, never from the config itself.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}

# "[[7]]", "[[7.5]]" (the requested format), then "Rating: 7" / "rating: [7]", then "[7]".
_RATING_PATTERNS = (
    re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]"),
    re.compile(r"rating\s*[:：]\s*\[*\s*(\d+(?:\.\d+)?)", re.IGNORECASE),
    re.compile(r"\[\s*(\d+(?:\.\d+)?)\s*\]"),
)


def parse_rating(text: str, low: float = 1.0, high: float = 10.0) -> float | None:
    """The judge's score, or None when there is none in range. The last match of the most
    specific pattern wins (judges explain first and give the verdict at the end)."""
    for pattern in _RATING_PATTERNS:
        values = [float(m) for m in pattern.findall(text)]
        values = [v for v in values if low <= v <= high]
        if values:
            return values[-1]
    return None


class JudgeError(RuntimeError):
    """The judge endpoint failed for good (a non-retryable error, or retries ran out)."""


@dataclass
class JudgeClient:
    base_url: str
    model: str
    api_key: str | None = None
    timeout_s: float = 120.0
    max_retries: int = 5
    backoff_s: float = 2.0
    temperature: float = 0.0
    max_tokens: int = 2048
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def from_env(cls, api_key_env: str | None, **kwargs: object) -> JudgeClient:
        key = None
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise JudgeError(
                    f"the judge API key variable {api_key_env} is not set; export it, or set "
                    "judge.api_key_env=null for an endpoint without authentication"
                )
        return cls(api_key=key, **kwargs)  # type: ignore[arg-type]

    def check(self) -> None:
        """Fail now, before hours of answer generation, when the endpoint cannot be reached or
        rejects the key: one ``GET <base_url>/models`` (OpenAI, vLLM and most compatible
        servers list models there). Any other reply means a server is there and takes the key."""
        url = self.base_url.rstrip("/") + "/models"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s):
                return
        except urllib.error.HTTPError as err:
            if err.code in (401, 403):
                detail = err.read().decode("utf-8", "replace")[:300]
                raise JudgeError(f"the judge endpoint {url} rejected the key: {detail}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as err:
            raise JudgeError(f"the judge endpoint {url} cannot be reached: {err}") from None

    def complete(self, system: str, user: str) -> str:
        """The judge's reply text to one system + user prompt."""
        messages = [{"role": "user", "content": user}]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        url = self.base_url.rstrip("/") + "/chat/completions"
        last_error = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    payload = json.loads(response.read().decode("utf-8"))
                return str(payload["choices"][0]["message"]["content"])
            except urllib.error.HTTPError as err:
                detail = err.read().decode("utf-8", "replace")[:300]
                last_error = f"HTTP {err.code} from {url}: {detail}"
                if err.code not in RETRYABLE_STATUS:
                    raise JudgeError(last_error) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                last_error = f"{url}: {err}"
            except (KeyError, IndexError, ValueError) as err:
                raise JudgeError(f"{url} returned an unexpected response ({err!r})") from None
        raise JudgeError(f"judge failed after {self.max_retries + 1} attempts; last: {last_error}")
