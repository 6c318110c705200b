"""The judge client against a local HTTP server on 127.0.0.1: ratings, retries, resume."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bailong.eval.judge import JudgeClient, JudgeError, parse_rating
from bailong.eval.mt_bench import judge_answers, judge_prompt_name, summarize

PROMPTS = {
    name: {
        "name": name,
        "system_prompt": f"system of {name}",
        "prompt_template": "Q1={question_1}{question} A={answer}{answer_2} REF={ref_answer_1}",
        "type": "single",
    }
    for name in ("single-v1", "single-v1-multi-turn", "single-math-v1", "single-math-v1-multi-turn")
}
QUESTIONS = [
    {"question_id": 1, "category": "writing", "turns": ["寫一首詩", "改短一點"]},
    {"question_id": 2, "category": "math", "turns": ["1+1=?", "再加 1 呢？"]},
]
ANSWERS = [
    {"question_id": 1, "choices": [{"index": 0, "turns": ["春眠不覺曉", "春眠"]}]},
    {"question_id": 2, "choices": [{"index": 0, "turns": ["2", "3"]}]},
]
REFERENCES = {2: ["2", "3"]}


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("The answer is fine. Rating: [[7]]", 7.0),
        ("Rating: [[7.5]]", 7.5),
        ("評分：[7]", 7.0),
        ("Rating: 8", 8.0),
        ('Use "[[rating]]", e.g. [[5]] ... final: [[9]]', 9.0),
        ("[[11]] is out of range; [3]", 3.0),
        ("no score here", None),
    ],
)
def test_parse_rating(text: str, score: float | None) -> None:
    assert parse_rating(text) == score


class FakeJudge(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint: the first request of a server fails with 500."""

    def do_POST(self) -> None:
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server.requests.append({"body": body, "auth": self.headers.get("Authorization")})  # type: ignore[attr-defined]
        if len(server.requests) == 1 or server.status != 200:  # type: ignore[attr-defined]
            self.send_response(500 if server.status == 200 else server.status)  # type: ignore[attr-defined]
            self.end_headers()
            self.wfile.write(b'{"error": "try again"}')
            return
        reply = {"choices": [{"message": {"role": "assistant", "content": "OK. Rating: [[7]]"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # the model list: the key check before generation
        status = self.server.status if self.server.status in (401, 403) else 200  # type: ignore[attr-defined]
        data = b'{"error": "bad key"}' if status != 200 else b'{"data": []}'
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeJudge)
    srv.requests = []  # type: ignore[attr-defined]
    srv.status = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def client_for(srv: ThreadingHTTPServer, sleeps: list[float] | None = None) -> JudgeClient:
    host, port = srv.server_address[:2]
    return JudgeClient(
        base_url=f"http://{host}:{port}/v1",
        model="judge-model",
        api_key="secret",
        timeout_s=5,
        max_retries=2,
        backoff_s=0.01,
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
    )


def test_judge_retries_a_500_then_grades_and_resumes(server, tmp_path: Path) -> None:
    sleeps: list[float] = []
    out = tmp_path / "judgments.jsonl"
    rows = judge_answers(
        QUESTIONS, ANSWERS, PROMPTS, REFERENCES, client_for(server, sleeps), out, "m"
    )
    assert len(server.requests) == 5, "4 judgments + the one request that got a 500"
    assert sleeps == [0.01], "one backoff before the retry"
    assert [(r["question_id"], r["turn"], r["score"]) for r in rows] == [
        (1, 1, 7.0),
        (1, 2, 7.0),
        (2, 1, 7.0),
        (2, 2, 7.0),
    ]
    assert [r["judge"][1] for r in rows] == [
        "single-v1",
        "single-v1-multi-turn",
        "single-math-v1",
        "single-math-v1-multi-turn",
    ]
    first = server.requests[1]
    assert first["auth"] == "Bearer secret" and first["body"]["model"] == "judge-model"
    assert first["body"]["messages"][0] == {"role": "system", "content": "system of single-v1"}
    math_turn2 = server.requests[4]["body"]["messages"][1]["content"]
    assert "Q1=1+1=?" in math_turn2 and "A=23" in math_turn2 and "REF=2" in math_turn2
    # Resume: a rerun sends nothing; a lost line is judged again, alone.
    judge_answers(QUESTIONS, ANSWERS, PROMPTS, REFERENCES, client_for(server), out, "m")
    assert len(server.requests) == 5
    out.write_text("".join(out.read_text("utf-8").splitlines(keepends=True)[:3]), "utf-8")
    rows = judge_answers(QUESTIONS, ANSWERS, PROMPTS, REFERENCES, client_for(server), out, "m")
    assert len(server.requests) == 6 and len(rows) == 4
    summary = summarize(rows)
    assert summary["overall"] == {"score": 7.0, "n": 4.0}
    assert summary["category/math"]["n"] == 2 and summary["turn_2"]["n"] == 2


def test_retries_run_out_and_client_errors_stop_at_once(server) -> None:
    server.status = 503
    with pytest.raises(JudgeError, match="after 3 attempts"):
        client_for(server).complete("s", "u")
    assert len(server.requests) == 3
    server.status = 401
    with pytest.raises(JudgeError, match="HTTP 401"):
        client_for(server).complete("s", "u")
    assert len(server.requests) == 4


def test_missing_api_key_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BAILONG_TEST_JUDGE_KEY", raising=False)
    with pytest.raises(JudgeError, match="BAILONG_TEST_JUDGE_KEY"):
        JudgeClient.from_env("BAILONG_TEST_JUDGE_KEY", base_url="http://127.0.0.1:9", model="m")


def test_check_names_a_rejected_key_and_an_unreachable_endpoint(server) -> None:
    client_for(server).check()  # reachable, key accepted
    server.status = 401
    with pytest.raises(JudgeError, match="rejected the key"):
        client_for(server).check()
    closed = JudgeClient(base_url="http://127.0.0.1:9/v1", model="m", timeout_s=2)
    with pytest.raises(JudgeError, match="cannot be reached"):
        closed.check()
    assert server.requests == [], "checking sends no judgment"


def test_math_categories_use_the_reference_prompts() -> None:
    assert judge_prompt_name("math", 1, ["math"]) == "single-math-v1"
    assert judge_prompt_name("writing", 2, ["math"]) == "single-v1-multi-turn"
