"""``childsim app``: the advisor's workbench in the browser, served from this machine."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from sim.cli.options import EXIT_OK, Command, UsageError, path_arg


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a whole number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is from 1 to 65535 (0: any free port), got "
                                         f"{port}")
    return port


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=_port, default=8765, metavar="PORT",
                   help="port to serve on (default: 8765; 0: any free port)")
    p.add_argument("--host", default="127.0.0.1", metavar="HOST",
                   help="address to serve on (default: 127.0.0.1, this machine only; another "
                        "address lets other machines reach the app and its results)")
    p.add_argument("--workspace", type=path_arg, default=Path("results") / "app",
                   metavar="DIR",
                   help="where runs are kept and cached (default: results/app/)")
    p.add_argument("--max-runs", type=int, default=1, metavar="N",
                   help="runs going at once; others wait their turn (default: 1)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes of each run (default: all cores)")
    p.add_argument("--backend", choices=("local", "dask"), default=None,
                   help="where replications run, as for childsim compare (default: local)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a Dask scheduler (implies --backend dask)")
    p.add_argument("--reps", type=int, default=10, metavar="R",
                   help="replications the form starts with (default: 10)")
    p.add_argument("--years", type=float, default=5.0, metavar="Y",
                   help="measured years the form starts with (default: 5)")
    p.add_argument("--warmup", type=float, default=None, metavar="W",
                   help="warm-up years the form starts with (default: the model's default)")


def _is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    import socket

    import uvicorn

    from sim.app.jobs import JobManager
    from sim.app.server import Settings, make_app
    from sim.clock import DEFAULT_WARMUP_YEARS

    if args.max_runs < 1 or (args.workers is not None and args.workers < 1):
        raise UsageError("--max-runs and --workers must be at least 1")
    port = args.port
    if port == 0:
        with socket.socket() as s:
            s.bind((args.host, 0))
            port = s.getsockname()[1]
    settings = Settings(host=args.host, port=port, reps=args.reps, years=args.years,
                        warmup=DEFAULT_WARMUP_YEARS if args.warmup is None else args.warmup)
    backend = "dask" if args.scheduler else args.backend
    manager = JobManager(args.workspace, max_running=args.max_runs, workers=args.workers,
                         backend=backend, scheduler=args.scheduler)
    app = make_app(manager, settings)
    where = f"http://{'[' + args.host + ']' if ':' in args.host else args.host}:{port}/"
    print(f"childsim app: open {where} in your browser (Ctrl-C stops it).")
    if _is_local(args.host):
        print("Served on this machine only: choices, results and data stay here.")
    else:
        print(f"warning: served on {args.host}: other machines that can reach it can use the "
              "app and see its results.", file=sys.stderr)
    sys.stdout.flush()
    try:
        uvicorn.run(app, host=args.host, port=port, log_level="warning")
    finally:
        manager.close()
    return EXIT_OK


COMMAND = Command(
    "app",
    help="the advisor's workbench: choose reforms and see the ripple, in the browser",
    description="Serve the workbench on this machine: choose a reform and policy levers, run "
                "it against the baseline with common random numbers, watch its progress, "
                "see what moves and download the report, the scenario file and the results.",
    arguments=_arguments,
    run=run,
)
