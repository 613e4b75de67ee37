"""Speed against stock TRL and stock transformers, on one machine, model and data, in one run.

    python -m bench                       # CPU, small random model (minutes on 2 cores)
    python -m bench --device cuda         # GPU, Llama-3.2-1B shape, bf16 (under 6 minutes on one H100/H200)
    python -m bench --only training       # one section: training, sampling or scoring
    python -m bench --only serving        # the HTTP server's load test (bench/serving.py; not in the default run)

Prints a table of ratios (ours / stock) and writes JSON (--out, default bench/results-<device>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from genrm_exp import runtime_env

runtime_env.apply()

import torch  # noqa: E402

from bench import sampling as sampling_bench  # noqa: E402
from bench import training as training_bench  # noqa: E402
from bench.shapes import WORKLOADS, load_tokenizer, matmul_ceiling, real_texts  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--shape", default=None, help="model shape (default: llama-1b on cuda, small on cpu)")
    ap.add_argument(
        "--sampling-model",
        default=None,
        help="smollm2 (the embedded model, real weights: the default on cpu) or a random shape (default on cuda)",
    )
    ap.add_argument("--no-vllm", action="store_true", help="sampling: leave out judge.backend=vllm (make setup-vllm)")
    ap.add_argument("--only", choices=("training", "sampling", "scoring", "serving"), action="append")
    ap.add_argument("--steps", type=int, default=None, help="measured training steps (after warm-up)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    cuda = args.device == "cuda"
    shape = args.shape or ("llama-1b" if cuda else "small")
    work = WORKLOADS["gpu" if cuda else "cpu"]
    steps, warm = args.steps or (6 if cuda else 3), 2
    sections = args.only or ["training", "sampling", "scoring"]
    tok = load_tokenizer()
    texts = real_texts(work.pairs_per_step * (warm + steps), tok, work)
    ceiling = matmul_ceiling(args.device)
    result = {
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine(),
        "shape": shape,
        "workload": work.__dict__,
        "matmul_ceiling_tflops": ceiling / 1e12,
        "torch": torch.__version__,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    print(f"device {result['device']}  shape {shape}  bf16 matmul ceiling {ceiling / 1e12:.1f} TFLOP/s")
    if "training" in sections:
        result["training"] = []
        for kind in ("bt", "sft", "dpo"):
            for variant in ("stock", "ours"):
                try:
                    row = training_bench.run(
                        kind,
                        variant,
                        shape=shape,
                        tokenizer=tok,
                        texts=texts,
                        work=work,
                        device=args.device,
                        warm=warm,
                        steps=steps,
                        ceiling=ceiling,
                    )
                except Exception as err:  # one failing path is reported, the others still run
                    row = {"objective": kind, "variant": variant, "error": f"{type(err).__name__}: {err}"[:300]}
                result["training"].append(row)
                print(json.dumps(row))
                if cuda:
                    torch.cuda.empty_cache()
    if "sampling" in sections:
        k, new, batch = (8, 128, 8) if cuda else (4, 32, 2)
        sampler = args.sampling_model or (shape if cuda else "smollm2")
        result["sampling"] = sampling_bench.sampling(
            sampler,
            tok,
            texts[: batch * (4 if cuda else 2)],
            device=args.device,
            k=k,
            new_tokens=new,
            batch_prompts=batch,
            vllm=not args.no_vllm,
        )
        print(json.dumps(result["sampling"]))
    if "scoring" in sections:
        result["scoring"] = sampling_bench.scoring(
            shape, tok, texts[: (64 if cuda else 16)], device=args.device, batch=8
        )
        print(json.dumps(result["scoring"]))
    if "serving" in sections:
        from bench import serving as serving_bench

        result["serving"] = serving_bench.run(clients=8, requests=4)
        print(json.dumps(result["serving"]))
    print(table(result))
    out = args.out or Path(os.environ.get("OUT", Path(__file__).parent)) / f"results-{args.device}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


def table(result: dict) -> str:
    lines = ["", "| section | path | stock | ours | ours / stock |", "|---|---|---:|---:|---:|"]
    by = {(r["objective"], r["variant"]): r for r in result.get("training", [])}
    for kind in ("bt", "sft", "dpo"):
        s, o = by.get((kind, "stock"), {}), by.get((kind, "ours"), {})
        if "tokens_per_s" in s and "tokens_per_s" in o:
            lines.append(
                f"| training | {kind} tokens/s (MFU, padding) | {s['tokens_per_s']:.0f} ({100 * s['mfu']:.1f}%, {100 * s['padding_share']:.0f}%) "
                f"| {o['tokens_per_s']:.0f} ({100 * o['mfu']:.1f}%, {100 * o['padding_share']:.0f}%) | {o['tokens_per_s'] / s['tokens_per_s']:.2f}x |"
            )
        else:
            lines.append(f"| training | {kind} | {s.get('error', '-')} | {o.get('error', '-')} | - |")
    if result.get("sampling"):
        s, *ours = result["sampling"]
        for o in ours:
            if "tokens_per_s" not in s or "tokens_per_s" not in o:
                lines.append(f"| sampling | {o['path']} | {s.get('error', '-')} | {o.get('error', '-')} | - |")
                continue
            lines.append(
                f"| sampling | {o['path']} ({o.get('backend', '')}), {s['model']} {s['dtype']}: tokens/s "
                f"(roofline share) at batch {s['batch']} | {s['tokens_per_s']:.0f} ({100 * s['roofline_share']:.1f}%) "
                f"| {o['tokens_per_s']:.0f} ({100 * o['roofline_share']:.1f}%) | {o['tokens_per_s'] / s['tokens_per_s']:.2f}x |"
            )
    if result.get("scoring"):
        bt, g = result["scoring"]
        lines.append(
            f"| scoring | pairs/s: BT forward vs GenRM direct | {bt['pairs_per_s']:.1f} | {g['pairs_per_s']:.1f} "
            f"| cost ratio {bt['pairs_per_s'] / g['pairs_per_s']:.2f}x of BT |"
        )
    if result.get("serving"):
        from bench import serving as serving_bench

        lines += ["", serving_bench.table(result["serving"])]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
