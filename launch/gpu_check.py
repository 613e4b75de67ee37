"""GPU check: DeepSpeed ZeRO-2 / ZeRO-3 steps of BT (TRL RewardTrainer) and DPO (TRL DPOTrainer with
its reference model) on a random-initialised 1B-class Llama in bf16, and the sharded sampling path.

    python launch/gpu_check.py --export-assets .gpu/assets     # once, where the repo's data and model are
    bash launch/gpu_check.sh                                     # every case, each in its own process; a table
    torchrun --nproc_per_node 1 launch/gpu_check.py --case dpo-zero3 --assets .gpu/assets
    python launch/gpu_check.py --case bt-zero2 --shape tiny     # the same code on CPU, seconds (tests)
    python launch/gpu_check.py --table results.jsonl

The model has Llama-3.2-1B's shape (hidden 2048, 16 layers, 32 heads, 8 KV heads, MLP 8192) and the
SmolLM2 tokenizer's vocabulary; the rows are real UltraFeedback pairs. The DeepSpeed configs and the
optimiser are the project's own (conf/deepspeed/*.yaml, conf/trainer/paper.yaml) through the same
helper that builds every TRL config (genrm_exp.objectives.trl_args). Each case appends one JSON line
to --results and prints it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genrm_exp import runtime_env  # noqa: E402

runtime_env.apply()

CASES = ("bt-zero2", "bt-zero3", "dpo-zero2", "dpo-zero3", "sample")
SHAPES = {
    "1b": dict(
        hidden_size=2048,
        num_hidden_layers=16,
        num_attention_heads=32,
        num_key_value_heads=8,
        intermediate_size=8192,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
    ),
    "tiny": dict(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        intermediate_size=32,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
    ),
}
# Field names that moved between transformers releases (5.17 <-> 5.24): try the other one.
ALIASES = {"activation_checkpointing": "gradient_checkpointing", "gradient_checkpointing": "activation_checkpointing"}
TOKENIZER_IN_REPO = ".cache/models/SmolLM2-135M-Instruct.Q4_1"
DATA_IN_SHARED = "ultrafeedback/ultrafeedback_sample_1k.jsonl"


def export_assets(folder: Path, n_pairs: int = 64) -> None:
    """The tokenizer (without the 135M weights) and n real UltraFeedback pairs: what a bare GPU
    machine needs, a few MB to carry."""
    from transformers import AutoTokenizer

    from genrm_exp.data.loaders import load_pairs

    folder.mkdir(parents=True, exist_ok=True)
    AutoTokenizer.from_pretrained(REPO / TOKENIZER_IN_REPO).save_pretrained(folder / "tokenizer")
    pairs, _ = load_pairs(
        {
            "format": "ultrafeedback_jsonl",
            "path": str(REPO.parent / "shared" / "data" / DATA_IN_SHARED),
            "limit": n_pairs,
        },
        on_bad_row="skip",
    )
    with open(folder / "pairs.jsonl", "w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p.to_dict()) + "\n")
    print(f"wrote {folder}/tokenizer and {len(pairs)} pairs to {folder}/pairs.jsonl")


def load_assets(folder: Path):
    from transformers import AutoTokenizer

    from genrm_exp.data.schema import Pair

    if not (folder / "pairs.jsonl").is_file():
        raise FileNotFoundError(
            f"{folder}/pairs.jsonl: run `python launch/gpu_check.py --export-assets {folder}` first"
        )
    tok = AutoTokenizer.from_pretrained(folder / "tokenizer")
    if tok.pad_token is None or tok.pad_token_id == tok.eos_token_id:
        tok.pad_token = "<|endoftext|>"  # as conf/model/smollm2_135m_instruct.yaml
    pairs = [Pair.from_dict(json.loads(line)) for line in open(folder / "pairs.jsonl", encoding="utf-8")]
    return tok, pairs


def fit(config_cls, values: dict) -> tuple[dict, list[str]]:
    """Keep the keys `config_cls` has (renaming across ALIASES); return the dropped ones too."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    kept, dropped = {}, []
    for key, value in values.items():
        if key in names:
            kept[key] = value
        elif ALIASES.get(key) in names:
            kept[ALIASES[key]] = value
        else:
            dropped.append(key)
    return kept, dropped


def run_config(case: str, args, tok):
    """The run's config as the pipeline would see it: trainer=paper, deepspeed=zero<n>, shortened."""
    from omegaconf import OmegaConf

    objective, stage = case.split("-")
    trainer = OmegaConf.to_container(OmegaConf.load(REPO / "conf/trainer/paper.yaml"))["args"]
    trainer.update(
        max_steps=args.steps,
        per_device_train_batch_size=args.batch,
        gradient_accumulation_steps=1,
        logging_steps=1,
        bf16=not args.cpu,
        activation_checkpointing=False,
        dataloader_num_workers=0,
        warmup_steps=0.0,
        learning_rate=1e-5,
    )
    from trl import DPOConfig, RewardConfig

    config_cls = DPOConfig if objective == "dpo" else RewardConfig
    trainer, dropped = fit(config_cls, trainer)
    extra = {"beta": 1.0, "loss_type": ["sigmoid"]} if objective == "dpo" else {}
    cfg = OmegaConf.create(
        {
            "trainer": {"args": trainer},
            "objective": {"args": extra, "lr_scale": 1.0},
            "seed": 0,
            "deepspeed": OmegaConf.to_container(OmegaConf.load(REPO / f"conf/deepspeed/{stage}.yaml")),
            "data": {"max_length": args.max_length},
        }
    )
    out = Path(args.workdir) / case
    ctx = SimpleNamespace(
        cfg=cfg,
        tracker=SimpleNamespace(active=False, run_name=f"gpu_check-{case}"),
        path=lambda *p: (out.joinpath(*p).parent.mkdir(parents=True, exist_ok=True), out.joinpath(*p))[1],
    )
    return config_cls, ctx, dropped


def random_llama(tok, head: str, shape: str, dtype, device=None):
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, LlamaConfig

    config = LlamaConfig(
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        num_labels=1,
        **SHAPES[shape],
    )
    auto = AutoModelForSequenceClassification if head == "reward" else AutoModelForCausalLM
    torch.manual_seed(0)  # the DPO reference model starts equal to the policy
    if device is None:
        return auto.from_config(config, dtype=dtype)
    with torch.device(device):
        return auto.from_config(config, dtype=dtype)


def snapshot(param):
    """A CPU copy of a parameter, gathered first when ZeRO-3 has partitioned it."""
    if hasattr(param, "ds_id"):
        import deepspeed

        with deepspeed.zero.GatheredParameters([param]):
            return param.detach().float().cpu().clone()
    return param.detach().float().cpu().clone()


def train_case(case: str, args, tok, pairs) -> dict:
    import torch
    from trl import DPOTrainer, RewardTrainer

    from genrm_exp.objectives.bt import preference_rows
    from genrm_exp.objectives.lengths import group_by_length
    from genrm_exp.objectives.trl_args import trl_config

    config_cls, ctx, dropped = run_config(case, args, tok)
    # The config first: under ZeRO-3 it makes from_config build the model already partitioned.
    targs = trl_config(config_cls, ctx, stage="train")
    dtype = torch.float32 if args.cpu else torch.bfloat16
    zero3 = case.endswith("zero3")
    device = None if (zero3 or args.cpu) else "cuda"
    rows = preference_rows(pairs[: args.steps * args.batch])
    t0 = time.time()
    if case.startswith("bt"):
        model = random_llama(tok, "reward", args.shape, dtype, device)
        trainer = RewardTrainer(model=model, args=targs, train_dataset=rows, processing_class=tok)
    else:
        model = random_llama(tok, "causal_lm", args.shape, dtype, device)
        ref = random_llama(tok, "causal_lm", args.shape, dtype, device)
        trainer = DPOTrainer(model=model, ref_model=ref, args=targs, train_dataset=rows, processing_class=tok)
    trainer = group_by_length(trainer)  # as the objectives do (trainer.args.train_sampling_strategy)
    probe = dict(trainer.model.named_parameters())["model.layers.0.mlp.down_proj.weight"]
    before = snapshot(probe)
    t_build = time.time() - t0
    t1 = time.time()
    trainer.train()
    t_train = time.time() - t1
    after = snapshot(probe)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    result = {
        "deepspeed": trainer.is_deepspeed_enabled,
        "zero_stage": targs.hf_deepspeed_config.config["zero_optimization"]["stage"]
        if trainer.is_deepspeed_enabled
        else None,
        "ref_model": case.startswith("dpo"),
        "params_b": round(
            sum(p.ds_numel if hasattr(p, "ds_numel") else p.numel() for p in model.parameters()) / 1e9, 3
        ),
        "steps": trainer.state.global_step,
        "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None,
        "weights_changed": bool((after - before).abs().max() > 0),
        "build_s": round(t_build, 1),
        "train_s": round(t_train, 1),
        "dropped_args": dropped,
    }
    return result


def sample_case(args, tok, pairs) -> dict:
    """Judge prompts sharded over the ranks, sampled with the generation engine, gathered back."""
    import torch
    from omegaconf import OmegaConf

    from genrm_exp import distributed
    from genrm_exp.prompts import render_pair
    from genrm_exp.sampling.generation import Generator, SamplingParams

    judge = OmegaConf.load(REPO / "conf/judge/direct.yaml")
    judge = OmegaConf.merge(
        judge, {k: v for k, v in OmegaConf.load(REPO / "conf/judge/cot.yaml").items() if k != "defaults"}
    )
    prompts = [
        render_pair(tok, judge, p.prompt_messages(), p.chosen[:1500], p.rejected[:1500], "AB", open_verdict=False)
        for p in pairs[: args.prompts]
    ]
    device = "cpu" if args.cpu else distributed.device()
    model = random_llama(tok, "causal_lm", args.shape, torch.float32 if args.cpu else torch.bfloat16, device)
    gen = Generator(model, tok, batch_size=args.sample_batch)
    params = SamplingParams(k=args.k, temperature=1.0, top_p=0.95, max_new_tokens=args.new_tokens, seed=0)
    gen.sample(prompts[:2], SamplingParams(k=1, max_new_tokens=4, seed=0))  # warm-up: the first call is slow
    mine = distributed.shard(prompts, even=True)
    t0 = time.time()
    texts = distributed.gather(gen.sample(mine, params), total=len(prompts))
    seconds = time.time() - t0
    return {
        "world_size": distributed.world_size(),
        "prompts": len(prompts),
        "k": args.k,
        "samples": sum(len(t) for t in texts),
        "rank0_new_tokens": gen.last_stats["new_tokens"],
        "rank0_tokens_per_s": gen.last_stats["tokens_per_s"],
        "sample_s": round(seconds, 1),
        "prompt_tokens_mean": round(sum(len(tok(p)["input_ids"]) for p in prompts) / len(prompts)),
    }


def run_case(case: str, args) -> dict:
    from genrm_exp import distributed

    started = time.time()
    record = {"case": case, "shape": args.shape, "ok": False}
    try:
        import torch
        import transformers

        record.update(
            torch=torch.__version__,
            transformers=transformers.__version__,
            device=torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        )
        distributed.setup(deepspeed=case != "sample")
        tok, pairs = load_assets(Path(args.assets))
        record.update(sample_case(args, tok, pairs) if case == "sample" else train_case(case, args, tok, pairs))
        if torch.cuda.is_available():
            record["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
        if case == "sample":
            record["ok"] = record["samples"] == record["prompts"] * args.k
        else:
            record["ok"] = record["deepspeed"] and record["weights_changed"] and record["steps"] == args.steps
    except Exception as err:  # report and go on: the other cases still run
        record["error"] = f"{type(err).__name__}: {err}"[:600]
        traceback.print_exc()
    record["seconds"] = round(time.time() - started, 1)
    if distributed.is_main():
        print("\nGPU_CHECK " + json.dumps(record), flush=True)
        if args.results:
            with open(args.results, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
    return record


def table(path: Path) -> str:
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    cols = [
        "case",
        "ok",
        "zero_stage",
        "params_b",
        "steps",
        "loss_first",
        "loss_last",
        "weights_changed",
        "train_s",
        "sample_s",
        "rank0_tokens_per_s",
        "peak_gib",
        "seconds",
    ]
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("-" if v is None else str(v))  # noqa: E731
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    first = rows[0] if rows else {}
    lines.append(
        f"\n{first.get('device', '?')}, torch {first.get('torch', '?')}, transformers {first.get('transformers', '?')}"
    )
    lines += [f"{r['case']}: {r['error']}" for r in rows if r.get("error")]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="launch/gpu_check.py", description=__doc__.split("\n")[0])
    ap.add_argument("--case", choices=CASES)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="1b")
    ap.add_argument("--cpu", action="store_true", help="fp32 on CPU (the tests' tiny check)")
    ap.add_argument("--assets", default=str(REPO / ".gpu" / "assets"))
    ap.add_argument("--workdir", default="/tmp/genrm_gpu_check")
    ap.add_argument("--results", default=None, help="append the case's JSON line to this file")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--sample-batch", type=int, default=64)
    ap.add_argument("--export-assets", metavar="DIR")
    ap.add_argument("--table", metavar="RESULTS")
    args = ap.parse_args(argv)
    if args.export_assets:
        export_assets(Path(args.export_assets))
        return 0
    if args.table:
        print(table(Path(args.table)))
        return 0
    if not args.case:
        ap.error("one of --case, --table, --export-assets is required")
    return 0 if run_case(args.case, args)["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
