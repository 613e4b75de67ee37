"""The trainers' clients (genrm_exp/serve/clients.py) against a stand-in server on loopback that
answers what each test scripts: retries with backoff, the error that ends them, the payloads the
verl and TRL forms send (milliseconds each, no model).

    python -m pytest tests/test_serve_clients.py -q
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from genrm_exp.serve import clients
from genrm_exp.serve.clients import RemoteReward, ServeError, compute_score, post


class StandIn:
    """Answers POSTs from a script of (status, body, headers), the last one repeated; keeps the bodies."""

    def __init__(self, script: list[tuple[int, dict, dict]]):
        self.script, self.bodies = list(script), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status, body, headers = outer.script.pop(0) if len(outer.script) > 1 else outer.script[0]
                if callable(body):
                    body = body(outer.bodies[-1])
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in(request):
    server = StandIn(request.param)
    yield server
    server.close()


def rewards_of(payload):
    return {"rewards": [0.25] * len(payload["items"])}


FULL = (503, {"error": "overloaded, retry later: queue full"}, {"Retry-After": "3"})


@pytest.mark.parametrize("stand_in", [[FULL, (504, {"error": "late"}, {}), (200, {"ok": 1}, {})]], indirect=True)
def test_503_and_504_are_retried_with_backoff_and_retry_after(stand_in):
    slept: list[float] = []
    assert post(stand_in.url, "/v1/reward", {"items": []}, sleep=slept.append) == {"ok": 1}
    assert slept == [3.0, 2.0]  # Retry-After 3 s over the first backoff (1 s); then 2 s
    assert len(stand_in.bodies) == 3


@pytest.mark.parametrize("stand_in", [[FULL]], indirect=True)
def test_retries_end_with_the_servers_reason(stand_in):
    slept: list[float] = []
    with pytest.raises(ServeError, match=r"HTTP 503: overloaded, retry later: queue full \(after 2 retries\)"):
        post(stand_in.url, "/x", {}, retries=2, sleep=slept.append)
    assert slept == [3.0, 3.0] and len(stand_in.bodies) == 3


@pytest.mark.parametrize("stand_in", [[(422, {"error": "items [0] have none"}, {})]], indirect=True)
def test_other_errors_are_not_retried(stand_in):
    slept: list[float] = []
    with pytest.raises(ServeError, match=r"^HTTP 422: items \[0\] have none$") as err:
        post(stand_in.url, "/x", {}, sleep=slept.append)
    assert err.value.status == 422 and slept == [] and len(stand_in.bodies) == 1


def test_a_refused_connection_is_retried_then_reported():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slept: list[float] = []
    with pytest.raises(ServeError, match=r"unreachable: .*\(after 3 retries\)"):
        post(f"http://127.0.0.1:{port}", "/v1/reward", {}, retries=3, sleep=slept.append)
    assert slept == [1.0, 2.0, 4.0]


def test_the_default_timeout_is_below_openrlhfs_and_above_the_servers():
    """OpenRLHF's remote reward client waits 180 s (openrlhf/utils/remote_rm_utils.py,
    request_api_wrapper: requests.post(..., timeout=180)); the server answers 504 after
    request_timeout_s (conf/serve.yaml, 120) so a trainer hears why."""
    from omegaconf import OmegaConf
    from support import CONF

    served = OmegaConf.load(CONF / "serve.yaml").request_timeout_s
    assert served < clients.TIMEOUT_S < 180


@pytest.mark.parametrize("stand_in", [[(200, rewards_of, {})]], indirect=True)
def test_verl_batch_manager_form_sends_one_request_and_returns_a_list(stand_in):
    """verl's BatchRewardManager (verl/workers/reward_manager/batch.py, verify) calls
    compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=, **reward_kwargs) and
    reads a list back; the columns are numpy arrays there (DataProto.non_tensor_batch), and a chat
    prompt copied into extra_info arrives as an array of dicts."""
    messages = np.array([{"role": "user", "content": "What is 2+2?"}], dtype=object)
    out = compute_score(
        data_sources=np.array(["gsm8k", "gsm8k"], dtype=object),
        solution_strs=["4", "5"],
        ground_truths=["4", None],
        extra_infos=np.array([{"prompt": messages, "question": "raw"}, {"question": "Name a colour."}], dtype=object),
        url=stand_in.url,
    )
    assert out == [{"score": 0.25}, {"score": 0.25}]
    (sent,) = stand_in.bodies
    assert sent == {
        "items": [
            {"prompt": [{"role": "user", "content": "What is 2+2?"}], "response": "4", "reference": "4"},
            {"prompt": "Name a colour.", "response": "5", "reference": None},
        ]
    }


def test_verl_calls_with_neither_form_or_uneven_columns_are_refused():
    with pytest.raises(TypeError, match="compute_score needs solution_str .* or solution_strs"):
        compute_score(data_source="d", url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="2 solution_strs, 1 ground_truths, 2 extra_infos"):
        compute_score(solution_strs=["a", "b"], ground_truths=["g"], extra_infos=[{}, {}], url="http://127.0.0.1:9")


def test_verl_without_a_prompt_in_extra_info_says_where_it_looked():
    """verl's examples/data_preprocess/gsm8k.py keeps the policy's prompt in the top-level `prompt`
    column, which reaches no reward function, and the raw question in extra_info["question"]."""
    with pytest.raises(KeyError, match=r"extra_info\['prompt'\] or extra_info\['question'\].*got keys \['index'\]"):
        compute_score("d", "r", "g", {"index": 1}, url="http://127.0.0.1:9")
    with pytest.raises(KeyError, match=r"extra_info\['problem'\]"):
        compute_score("d", "r", "g", {"question": "q"}, url="http://127.0.0.1:9", prompt_key="problem")


@pytest.mark.parametrize("stand_in", [[(200, rewards_of, {})]], indirect=True)
def test_trl_content_parts_are_read_as_text(stand_in):
    """TRL's conversational rows may hold content parts (trl/data_utils.py,
    prepare_multimodal_messages: [{"type": "text", "text": ...}]); completions are read as their text."""
    reward = RemoteReward(stand_in.url, reference_key="reference")
    prompt = [{"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}]
    completion = [{"role": "assistant", "content": [{"type": "text", "text": "4"}]}]
    assert reward([prompt], [completion], reference=["four"]) == [0.25]
    (sent,) = stand_in.bodies
    assert sent["items"][0]["response"] == "4" and sent["items"][0]["reference"] == "four"
    assert sent["items"][0]["prompt"] == prompt  # the server reads the parts (bodies.Message)
