"""A trained reward model or judge over HTTP for RL trainers (OpenRLHF, verl, TRL).

    python -m genrm_exp.serve outputs/runs/genrm/<run>                  # any finished run, on 127.0.0.1:5000
    python -m genrm_exp.serve model=smollm2_135m_instruct judge.style=cot judge.k=4
    GENRM_SERVE_TOKEN=secret python -m genrm_exp.serve RUN_DIR port=5001 judge.order=fixed

Settings: conf/serve.yaml. Endpoints, error codes and /info's counts: genrm_exp/serve/app.py; what a
body may hold and the limits it is read within: bodies.py; OpenRLHF's request read as (prompt,
response, reference): queries.py; batching: batching.py; clients for TRL and verl: clients.py.
"""
