"""The real server in subprocesses on loopback: a tiny GenRM run (both orders) with a token, the same
run with a tight queue (503 / 504), and a tiny Bradley-Terry run. Answers are checked against the
run's offline predictions and the in-process judge; bad requests against their status and message;
the TRL client inside a real GRPOTrainer step and the verl function called as verl calls it.

    python -m pytest tests/test_serve.py -q
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support import ENV, REPO, genrm

from genrm_exp.serve.clients import RemoteReward, ServeError, compute_score, compute_score_async, post

TOKEN = "s3cret-token"
RUN_ARGS = [
    "model=tiny_random",
    "trainer=debug",
    "data.max_train_pairs=8",
    "data.max_length=256",
    "eval=heldout",
    "eval.max_pairs_per_set=4",
    "logger=none",
]


class Server:
    """`python -m genrm_exp.serve ARGS` on a free loopback port, stopped (by its pid) at close."""

    def __init__(self, *args: str, env: dict | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "genrm_exp.serve", *args, "port=0"],
            cwd=REPO,
            env={**ENV, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url: str | None = None

    def wait(self, timeout: float = 120) -> Server:
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.extend(ln for ln in [self.proc.stdout.readline()]), daemon=True)
        reader.start()
        reader.join(timeout)
        if not found or not found[0].startswith("serving "):
            self.close()
            pytest.fail(f"server did not start: {found} {self.proc.stderr.read()[-3000:]}")
        self.url = found[0].split()[1]
        for _ in range(100):  # bounded: the socket is bound before uvicorn accepts
            try:
                if self.request("GET", "/health")[0] == 200:
                    return self
            except OSError:
                time.sleep(0.1)
        pytest.fail("server never answered /health")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict | None = None,
        token: str | None = TOKEN,
        timeout: float = 60,
    ) -> tuple[int, dict]:
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        data = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        out = resp.status, json.loads(resp.read() or b"null")
        conn.close()
        return out

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _run(tmp: Path, *extra: str) -> Path:
    proc = genrm(*RUN_ARGS, f"paths.outputs={tmp}", *extra, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = [p.parent for p in tmp.glob("runs/*/*/metrics.json")]
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with ThreadPoolExecutor(2) as pool:
        g = pool.submit(_run, tmp_path_factory.mktemp("genrm"), "judge.order=both")
        b = pool.submit(_run, tmp_path_factory.mktemp("bt"), "objective=bt")
        return {"genrm": g.result(), "bt": b.result()}


@pytest.fixture(scope="module")
def servers(runs):
    started = {
        "main": Server(
            str(runs["genrm"]), "max_request_pairs=16", "max_request_bytes=400000", env={"GENRM_SERVE_TOKEN": TOKEN}
        ),
        "tight": Server(
            str(runs["genrm"]),
            "batch_size=8",
            "max_wait_ms=2000",
            "queue_limit=6",
            "request_timeout_s=1",
            "missing_reference_reward=-1",
        ),
        "bt": Server(str(runs["bt"])),
    }
    try:
        yield {k: s.wait() for k, s in started.items()}
    finally:
        for s in started.values():
            s.close()


def heldout(run: Path) -> tuple[list, list[dict]]:
    """The run's heldout pairs as it evaluated them (loaded and fitted from its config) and its predictions."""
    from omegaconf import OmegaConf

    from genrm_exp.modeling import load_tokenizer
    from genrm_exp.pipeline import fit_eval, load_data

    cfg = OmegaConf.load(run / "config.yaml")
    _, sets, _ = load_data(cfg)
    pairs, _ = fit_eval(sets["heldout"], load_tokenizer(cfg.model, cache=cfg.paths.cache), cfg.eval)
    records = [json.loads(line) for line in (run / "predictions" / "heldout.jsonl").open()]
    return pairs, records


def _pair(p) -> dict:
    return {"prompt": [dict(m) for m in p.prompt_messages()], "response_a": p.chosen, "response_b": p.rejected}


def test_judge_matches_offline_predictions_batched_and_concurrent(servers, runs):
    main = servers["main"]
    pairs, records = heldout(runs["genrm"])
    by_id = {r["id"]: r for r in records}
    status, out = main.request("POST", "/v1/judge", {"pairs": [_pair(p) for p in pairs]})
    assert status == 200, out
    for p, got in zip(pairs, out["results"], strict=True):
        assert got["p_a"] == pytest.approx(by_id[p.id]["p_chosen"], abs=1e-6)
        assert set(got) == {"p_a", "verdict", "votes", "invalid"} and got["invalid"] == 0
    # one pair per request, all at once: gathered into shared batches, each answer its own pair's
    before = main.request("GET", "/info")[1]["batches"]["pairs"]["calls"]
    with ThreadPoolExecutor(len(pairs)) as pool:
        singles = list(pool.map(lambda p: main.request("POST", "/v1/judge", _pair(p)), pairs))
    assert [s for s, _ in singles] == [200] * len(pairs)
    assert [o["p_a"] for _, o in singles] == pytest.approx([r["p_a"] for r in out["results"]], abs=1e-6)
    info = main.request("GET", "/info")[1]
    assert info["batches"]["pairs"]["calls"] - before < len(pairs)  # some requests shared a call
    assert info["judge"]["order"] == "both" and info["objective"] == "genrm" and info["run_dir"] == str(runs["genrm"])
    assert info["order_rule"].startswith("both: each pair is judged as (a, b) and as (b, a)")


def test_a_long_response_is_fitted_as_offline_evaluation_fits_it(servers, runs):
    """A 40,000-word response is cut to the run's eval.max_length as fit_eval cuts it; the served
    probability is the offline judge's on that fitted pair, and it answers in seconds."""
    from genrm_exp.data.fitting import fit_eval
    from genrm_exp.data.schema import Message, Pair
    from genrm_exp.judges.factory import for_run

    long = " ".join(f"word{i % 97}" for i in range(40_000))
    start = time.monotonic()
    status, out = servers["main"].request(
        "POST", "/v1/judge", {"prompt": "Describe the sea.", "response_a": long, "response_b": "It is blue."}
    )
    took = time.monotonic() - start
    assert status == 200, out
    judge, cfg, tokenizer = for_run(runs["genrm"], device="cpu")
    pair = Pair("long:0", (Message("user", "Describe the sea."),), long, "It is blue.", "api", "api")
    (fitted,), counts = fit_eval([pair], tokenizer, cfg.eval)
    assert counts["truncated"] == 1 and len(fitted.chosen) < len(long) // 20
    (offline,) = judge.predict([fitted], "long")
    assert out["p_a"] == pytest.approx(offline["p_chosen"], abs=1e-6)
    assert took < 5, f"{took:.1f} s for one long pair"


def test_get_reward_speaks_openrlhf_and_takes_the_reference_from_labels(servers, tokenizer):
    """Queries built as OpenRLHF builds them: the chat-templated prompt, the response and its end of turn."""
    main, tok = servers["main"], tokenizer
    questions, responses, refs = ["What is 2+2?", "Name a colour."], ["It is 4.", "Blue."], ["Five.", "Seven."]
    prompts = [
        tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False, add_generation_prompt=True)
        for q in questions
    ]
    queries = [p + r + "<|im_end|>" for p, r in zip(prompts, responses)]
    status, out = main.request("POST", "/get_reward", {"query": queries, "prompts": prompts, "labels": refs})
    assert status == 200 and out["rewards"] == out["scores"], out
    judged = main.request(
        "POST",
        "/v1/judge",
        {"pairs": [{"prompt": q, "response_a": r, "response_b": f} for q, r, f in zip(questions, responses, refs)]},
    )[1]
    assert out["rewards"] == pytest.approx([r["p_a"] for r in judged["results"]], abs=1e-6)
    # the query alone (no prompts) is split at the assistant opener: the same rewards
    status, alone = main.request("POST", "/get_reward", {"query": queries, "references": refs})
    assert status == 200 and alone["rewards"] == pytest.approx(out["rewards"], abs=1e-6)
    status, err = main.request("POST", "/get_reward", {"query": queries})
    assert status == 422 and "reference" in err["error"]


@pytest.mark.parametrize(
    "body, status, message",
    [
        ('{"prompt": "hi", "response_a": "x"', 400, "malformed JSON"),
        ({"prompt": "hi", "response_a": "x"}, 422, "response_b: Field required"),
        ({"prompt": "hi", "response_a": 4, "response_b": "y"}, 422, "response_a: Input should be a valid string"),
        ({"prompt": [{"role": "robot", "content": "hi"}], "response_a": "x", "response_b": "y"}, 422, "role"),
        ({"pairs": []}, 422, "at least 1 item"),
        ({"pairs": [{"prompt": "p", "response_a": "x", "response_b": "y"}] * 17}, 413, "max_request_pairs=16"),
        ({"prompt": "p" * 500000, "response_a": "x", "response_b": "y"}, 413, "max_request_bytes=400000"),
        ([1, 2], 422, "Input should be"),
        ("[" * 100_000 + "]" * 100_000, 400, "malformed JSON: nested too deeply"),
        (
            '{"prompt": "p", "response_a": ' + "9" * 5000 + ', "response_b": "y"}',
            400,
            "malformed JSON: Exceeds the limit",
        ),
        (
            {"prompt": [{"role": "tool", "content": "42"}], "response_a": "x", "response_b": "y"},
            422,
            "a `tool` turn cannot be judged",
        ),
        (
            {"prompt": [{"role": "user", "content": [{"type": "image"}]}], "response_a": "x", "response_b": "y"},
            422,
            "only text parts can be judged; got parts of type ['image']",
        ),
        (
            {
                "prompt": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                "response_a": "x",
                "response_b": "y",
            },
            422,
            "the last message is 'assistant': a prompt ends in a user turn",
        ),
    ],
)
def test_bad_judge_requests_get_a_4xx_with_a_message(servers, body, status, message):
    got, out = servers["main"].request("POST", "/v1/judge", json.dumps(body) if isinstance(body, list) else body)
    assert got == status and message in out["error"], out
    assert servers["main"].request("GET", "/health")[0] == 200


def test_a_blank_label_is_no_reference(servers, tokenizer):
    """OpenRLHF without --data.label_key sends labels [""] (openrlhf/utils/remote_rm_utils.py,
    request_api_wrapper posts prompts, query and labels as the dataset gave them): a blank label is
    never judged as the reference: 422 naming the items, or the configured fallback reward."""
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2+2?"}], tokenize=False, add_generation_prompt=True
    )
    queries = [prompt + "It is 4.<|im_end|>", prompt + "Five.<|im_end|>"]
    status, out = servers["main"].request(
        "POST", "/get_reward", {"query": queries, "prompts": [prompt] * 2, "labels": ["4", " "]}
    )
    assert status == 422 and "items [1] have none or a blank one" in out["error"], out
    status, out = servers["main"].request(
        "POST", "/v1/reward", {"items": [{"prompt": "p", "response": "r", "reference": ""}]}
    )
    assert status == 422 and "items [0]" in out["error"], out
    tight = servers["tight"]
    status, out = tight.request("POST", "/get_reward", {"query": queries, "labels": ["", ""]}, None)
    assert (status, out) == (200, {"rewards": [-1.0, -1.0], "scores": [-1.0, -1.0]})
    assert tight.request("GET", "/info", token=None)[1]["items"]["missing_reference"] == 2


def test_content_parts_are_read_as_their_text(servers):
    """TRL's conversational prompts may hold content parts (trl/data_utils.py,
    prepare_multimodal_messages): text parts are judged as the plain string would be."""
    main = servers["main"]
    plain = main.request(
        "POST", "/v1/judge", {"prompt": [{"role": "user", "content": "Hi there"}], "response_a": "x", "response_b": "y"}
    )
    parts = [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]
    got = main.request(
        "POST", "/v1/judge", {"prompt": [{"role": "user", "content": parts}], "response_a": "x", "response_b": "y"}
    )
    assert plain[0] == got[0] == 200 and got[1]["p_a"] == pytest.approx(plain[1]["p_a"], abs=1e-6)


def test_a_chunked_body_is_held_to_max_request_bytes_while_read(servers):
    """No Content-Length: the body is counted as it arrives and refused once past the limit, before
    the client has sent it all: the client here would send 40 MB, and the answer comes while it is
    sending (after ~4 MB: what the kernel's socket buffers take in before the server reads)."""
    host, port = servers["main"].url.removeprefix("http://").rsplit(":", 1)
    head = (
        f"POST /v1/judge HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"p" * 65536
    sent, answer = 0, b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode() + b'5\r\n["aaa\r\n')
        while sent < 40_000_000 and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except OSError:  # the server closed the connection after answering
                break
            sent += len(chunk)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line and b"max_request_bytes=400000" in rest, answer[:300]
    assert sent < 16_000_000, sent


def test_bad_reward_requests(servers):
    main = servers["main"]
    assert main.request("POST", "/get_reward", {"query": []}) == (200, {"rewards": [], "scores": []})
    assert main.request("POST", "/v1/reward", {"items": []}) == (200, {"rewards": []})
    status, out = main.request("POST", "/get_reward", {"query": ["a", "b"], "labels": ["x"]})
    assert status == 422 and "labels: 1 entries for 2 queries" in out["error"]
    status, out = main.request("POST", "/v1/reward", {"items": [{"prompt": "p"}]})
    assert status == 422 and "response" in out["error"]


def test_the_token_is_checked(servers):
    main = servers["main"]
    pair = {"prompt": "p", "response_a": "x", "response_b": "y"}
    assert main.request("POST", "/v1/judge", pair, token=None) == (
        401,
        {"error": pytest.approx("missing or wrong bearer token (Authorization: Bearer <token>)")},
    )
    assert main.request("POST", "/v1/judge", pair, token="wrong")[0] == 401
    assert main.request("GET", "/info", token=None)[0] == 401
    assert main.request("GET", "/health", token=None)[0] == 200
    assert main.request("POST", "/v1/judge", pair)[0] == 200


SIX = {"pairs": [{"prompt": f"p{i}", "response_a": "x", "response_b": "y"} for i in range(6)]}


def test_a_full_queue_answers_503_at_once_with_retry_after_and_a_late_answer_504(servers):
    tight = servers["tight"]
    before = tight.request("GET", "/info", token=None)[1]["requests"]
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(tight.request, "POST", "/v1/judge", SIX, None)  # waits for a batch of 8 (2 s)
        time.sleep(0.4)
        start = time.monotonic()
        host, port = tight.url.removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        conn.request("POST", "/v1/judge", body=json.dumps({"prompt": "q", "response_a": "x", "response_b": "y"}))
        resp = conn.getresponse()
        out = json.loads(resp.read())
        conn.close()
        assert resp.status == 503 and "queue full" in out["error"] and time.monotonic() - start < 0.5
        assert int(resp.getheader("Retry-After")) >= 1
        status, out = waiting.result()
    assert status == 504 and "request_timeout_s=1" in out["error"]
    info = tight.request("GET", "/info", token=None)[1]
    stats = info["batches"]["pairs"]
    assert stats["pending"] == 0 and stats["rejected"] == 1  # the timed-out pairs were released
    assert info["requests"]["timed_out"] == before["timed_out"] + 1
    assert info["requests"]["refused"]["503"] == before["refused"].get("503", 0) + 1


def test_a_request_whose_client_goes_away_is_dropped(servers):
    """The six pairs would wait 2 s for company (max_wait_ms=2000) and time out at 1 s; the client
    leaves at 0.3 s and its pairs are gone from the queue well before either."""
    tight = servers["tight"]
    before = tight.request("GET", "/info", token=None)[1]["requests"]["client_gone"]
    host, port = tight.url.removeprefix("http://").rsplit(":", 1)
    body = json.dumps(SIX)
    with socket.create_connection((host, int(port))) as sock:
        head = f"POST /v1/judge HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body.encode())
        time.sleep(0.3)
        assert tight.request("GET", "/info", token=None)[1]["batches"]["pairs"]["pending"] == 6
    time.sleep(0.4)
    info = tight.request("GET", "/info", token=None)[1]
    assert info["batches"]["pairs"]["pending"] == 0 and info["requests"]["client_gone"] == before + 1


def test_info_counts_answers_refusals_and_prompts_not_found(servers):
    main = servers["main"]
    before = main.request("GET", "/info")[1]
    assert main.request("POST", "/v1/judge", {"prompt": "p", "response_a": "x", "response_b": "y"})[0] == 200
    assert main.request("POST", "/v1/judge", {"prompt": "p"})[0] == 422
    assert main.request("POST", "/get_reward", {"query": ["no template here"], "references": ["r"]})[0] == 200
    after = main.request("GET", "/info")[1]
    assert after["requests"]["answered"] == before["requests"]["answered"] + 2
    assert after["requests"]["refused"]["422"] == before["requests"]["refused"].get("422", 0) + 1
    assert after["items"]["prompt_not_found"] == before["items"]["prompt_not_found"] + 1


def test_bt_rewards_match_the_offline_reward_model_and_verl_calls_it(servers, runs):
    from genrm_exp.api import RewardModel

    bt = servers["bt"]
    rm = RewardModel.from_run(runs["bt"], device="cpu")
    prompts, responses = ["What is 2+2?", "Say hi."], ["4", "Hello there!"]
    offline = rm.rewards(prompts, responses)
    status, out = bt.request(
        "POST", "/v1/reward", {"items": [{"prompt": p, "response": r} for p, r in zip(prompts, responses)]}, None
    )
    assert status == 200 and out["rewards"] == pytest.approx(offline, abs=1e-5)
    assert bt.request("GET", "/info", token=None)[1]["order_rule"].startswith("none: a scalar reward model")
    queries = [
        rm.tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
        + r
        + "<|im_end|>"
        for p, r in zip(prompts, responses)
    ]
    status, out = bt.request("POST", "/get_reward", {"query": queries}, None)
    assert status == 200 and out["rewards"] == pytest.approx(offline, abs=1e-5)
    # verl: compute_score(data_source, solution_str, ground_truth, extra_info, **reward_kwargs)
    got = compute_score(
        data_source="test",
        solution_str=responses[1],
        ground_truth=None,
        extra_info={"question": prompts[1]},
        url=bt.url,
    )
    assert got == {"score": pytest.approx(offline[1], abs=1e-5)}
    import asyncio

    got = asyncio.run(
        compute_score_async(
            data_source="test",
            solution_str=responses[0],
            ground_truth="ignored",
            extra_info={"question": prompts[0]},
            url=bt.url,
            reward_router_address=None,
        )
    )
    assert got["score"] == pytest.approx(offline[0], abs=1e-5)
    # verl's batch manager: plural names, one request, a list back (verl/workers/reward_manager/batch.py)
    got = compute_score(
        data_sources=["test", "test"],
        solution_strs=responses,
        ground_truths=[None, None],
        extra_infos=[{"prompt": [{"role": "user", "content": p}]} for p in prompts],
        url=bt.url,
    )
    assert [g["score"] for g in got] == pytest.approx(offline, abs=1e-5)


def test_verl_function_on_a_pairwise_judge_uses_ground_truth_as_reference(servers, monkeypatch):
    main = servers["main"]
    monkeypatch.setenv("GENRM_SERVE_TOKEN", TOKEN)
    got = compute_score("test", "It is 4.", "Five.", {"question": "What is 2+2?"}, url=main.url)
    judged = main.request(
        "POST", "/v1/judge", {"prompt": "What is 2+2?", "response_a": "It is 4.", "response_b": "Five."}
    )
    assert got["score"] == pytest.approx(judged[1]["p_a"], abs=1e-6)
    with pytest.raises(ServeError, match="HTTP 422: a pairwise judge scores a response against a reference"):
        compute_score("test", "It is 4.", None, {"question": "q"}, url=main.url)
    monkeypatch.delenv("GENRM_SERVE_TOKEN")
    with pytest.raises(ServeError, match="HTTP 401"):
        post(main.url, "/v1/reward", {"items": [{"prompt": "p", "response": "r", "reference": "s"}]})


def test_trl_grpo_trainer_steps_on_the_served_reward(servers, tmp_path, tokenizer, monkeypatch):
    from datasets import Dataset
    from support import tiny_lm
    from trl import GRPOConfig, GRPOTrainer

    main = servers["main"]
    monkeypatch.setenv("GENRM_SERVE_TOKEN", TOKEN)
    calls_before = main.request("GET", "/info")[1]["batches"]["pairs"]["items"]
    reward = RemoteReward(main.url, reference_key="reference")
    data = Dataset.from_list(
        [
            {"prompt": [{"role": "user", "content": q}], "reference": r}
            for q, r in [("What is 2+2?", "4"), ("Name a colour.", "Blue")]
        ]
    )
    args = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=6,
        max_steps=1,
        learning_rate=1e-3,
        bf16=False,
        use_cpu=True,
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        activation_checkpointing=False,
        dataloader_num_workers=0,
        seed=0,
    )
    trainer = GRPOTrainer(
        model=tiny_lm(tokenizer), reward_funcs=[reward], args=args, train_dataset=data, processing_class=tokenizer
    )
    trainer.train()
    logged = [h for h in trainer.state.log_history if "rewards/genrm_served/mean" in h]
    assert logged and 0.0 <= logged[0]["rewards/genrm_served/mean"] <= 1.0
    assert (
        main.request("GET", "/info")[1]["batches"]["pairs"]["items"] - calls_before >= 2
    )  # the completions were judged
