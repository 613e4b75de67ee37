"""STaR iterations for CoT-GenRM: each iteration samples chains of thought on a fresh part of the
training data, keeps or pairs them by the human label, trains and evaluates, as resumable stages.

    python -m genrm_exp objective=star_dpo        # or star_sft, star_ipo, star_rationalizer
    python -m genrm_exp experiment=star_demo objective=star_sft      # CPU demonstration

stages.py (done markers, atomic writes), sampling.py (resumable chunked sampling), filtering.py (the
STaR-SFT filter, the DPO pair builder, the rationalizer's hint), rationales.py (a bootstrap file of rationales), policy.py (which model samples, trains, is judged),
iteration.py (one iteration's stages), loop.py (the loop, resume guard, per-iteration history). Optional verdict closing for small
models is genrm_exp/sampling/closing.py, shared with CoT evaluation.
"""
