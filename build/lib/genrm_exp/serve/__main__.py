"""`python -m genrm_exp.serve [RUN_DIR] [key=value ...]`: load the model, bind, serve until stopped.

A first argument that is a folder is the run to serve (run folder names hold `=` and `,`, so it is
passed to Hydra quoted as run_dir); everything else is a conf/serve.yaml override. Prints
`serving <url>` once the socket is bound.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from genrm_exp import runtime_env

runtime_env.apply()

import hydra  # noqa: E402

CONF = Path(__file__).resolve().parents[2] / "conf"


def hydra_argv(argv: list[str]) -> list[str]:
    """argv with a leading folder turned into a quoted run_dir override."""
    if argv and not argv[0].startswith("-") and Path(argv[0]).is_dir():
        quoted = str(Path(argv[0]).resolve()).replace("\\", "\\\\").replace("'", "\\'")
        return [f"run_dir='{quoted}'", *argv[1:]]
    return argv


@hydra.main(version_base="1.3", config_path=str(CONF), config_name="serve")
def main(cfg) -> None:
    import uvicorn

    from genrm_exp.errors import UserError
    from genrm_exp.serve.app import build_app
    from genrm_exp.serve.loading import load
    from genrm_exp.validate import check_serve

    try:
        check_serve(cfg)  # every setting, before the model loads
        rm = load(cfg)
    except UserError as err:  # the message is the whole story
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    sock = socket.socket(socket.AF_INET6 if ":" in str(cfg.host) else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((str(cfg.host), int(cfg.port)))
    host, port = sock.getsockname()[:2]
    server = uvicorn.Server(uvicorn.Config(build_app(rm, cfg), log_level=str(cfg.log_level), access_log=False))
    print(f"serving http://{host}:{port} ({rm.kind}: {rm.info().get('model')})", flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    sys.argv[1:] = hydra_argv(sys.argv[1:])
    main()
