"""``okx-flows sim`` / ``python -m okx_sim``: serve the simulator until SIGINT or SIGTERM.

``okx-flows sim`` is built from ``add_arguments`` and ``main``. Credentials default to the
same environment variables the client reads, so a shell that can talk to OKX can talk to the
simulator unchanged except for the base URL.
"""

from __future__ import annotations

import argparse
import resource
import signal
import socket
import ssl
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

import platformdirs
from pydantic import SecretStr, ValidationError

from okx_sim.config import ApiKeySpec, FeeTier, Permission, SimConfig
from okx_sim.embedded import Simulator
from okx_sim.state import StateInUse
from okx_wire.settings import ENV_API_KEY, ENV_PASSPHRASE, ENV_SECRET_KEY, credential_values


def default_state_path() -> Path:
    return Path(platformdirs.user_data_dir("okx-flows")) / "sim.sqlite3"


def _balance(text: str) -> tuple[str, Decimal]:
    ccy, sep, amount = text.partition("=")
    try:
        if not sep or not ccy.strip():
            raise InvalidOperation
        value = Decimal(amount)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected CCY=AMOUNT, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"balance must be a non-negative number: {text!r}")
    return ccy.strip().upper(), value


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text}")
    return value


def _fee_rate(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a rate such as -0.001, got {text!r}") from None
    if not value.is_finite():
        raise argparse.ArgumentTypeError(f"expected a rate such as -0.001, got {text!r}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed)")
    parser.add_argument("--state", type=Path, default=None, help=f"SQLite state file (default {default_state_path()})")
    parser.add_argument("--reset", action="store_true", help="discard the state file and start over")
    parser.add_argument("--seed", type=int, default=0, help="random-walk and fault seed")
    parser.add_argument("--balance", type=_balance, action="append", default=None, metavar="CCY=AMOUNT",
                        help="initial balance (repeatable; default USDT=100000 BTC=1 ETH=10)")
    env = credential_values()
    parser.add_argument("--api-key", default=env[ENV_API_KEY])
    parser.add_argument("--secret-key", default=env[ENV_SECRET_KEY])
    parser.add_argument("--passphrase", default=env[ENV_PASSPHRASE])
    parser.add_argument("--read-only", action="store_true", help="the key has read permission only")
    parser.add_argument("--environment", choices=("any", "live", "demo"), default="any")
    parser.add_argument("--no-rate-limits", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--error-rate", type=_rate, default=0.0)
    parser.add_argument("--drop-rate", type=_rate, default=0.0)
    parser.add_argument("--clock-skew", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--instruments", type=int, default=None, help="number of spot pairs (default: the real ones)")
    parser.add_argument("--volatility", type=float, default=None, metavar="SIGMA",
                        help="per-step volatility of the log mid (default 0.0005; 0 holds every price still)")
    tier = FeeTier()
    parser.add_argument("--fee-level", default=None, metavar="LEVEL",
                        help=f"fee level account/trade-fee reports (default {tier.level})")
    parser.add_argument("--maker-fee", type=_fee_rate, default=None, metavar="RATE",
                        help=f"spot maker rate in OKX's sign, negative = fee paid (default {tier.maker}); "
                             "trade-fee reports it and maker fills pay it")
    parser.add_argument("--taker-fee", type=_fee_rate, default=None, metavar="RATE",
                        help=f"spot taker rate in OKX's sign (default {tier.taker})")
    parser.add_argument("--account-mode", choices=("1", "2", "3", "4"), default="1", metavar="ACCTLV",
                        help="account mode (acctLv): 1 Spot (default), 2 Futures, 3 Multi-currency margin, "
                             "4 Portfolio margin; spot orders need tdMode cash in 1-2 and cross in 3-4")
    parser.add_argument("--max-connections", type=int, default=None, metavar="N",
                        help="open connections beyond which requests get 503/50001 (default 4096, "
                             "lowered to fit the open-file limit)")
    parser.add_argument("--idle-timeout", type=float, default=None, metavar="SECONDS",
                        help="close connections silent this long (default 30)")
    parser.add_argument("--tls-cert", type=Path, default=None, metavar="PEM",
                        help="serve https:// and wss:// with this certificate chain (with --tls-key): for "
                             "clients that insist on TLS, e.g. python-okx's WebSocket classes")
    parser.add_argument("--tls-key", type=Path, default=None, metavar="PEM", help="the certificate's private key")


def build_config(args: argparse.Namespace) -> SimConfig:
    missing = [env for env, value in ((ENV_API_KEY, args.api_key), (ENV_SECRET_KEY, args.secret_key),
                                      (ENV_PASSPHRASE, args.passphrase)) if not (value or "").strip()]
    if missing:
        raise SystemExit(f"okx-sim: no API key: set {', '.join(missing)} (or pass --api-key/--secret-key/--passphrase)")
    perms: frozenset[Permission] = frozenset({"read_only"} if args.read_only else {"read_only", "trade"})
    key = ApiKeySpec(api_key=args.api_key.strip(), secret_key=SecretStr(args.secret_key.strip()),
                     passphrase=SecretStr(args.passphrase.strip()), permissions=perms, label="okx-sim")
    options: dict[str, object] = dict(
        host=args.host, port=args.port, keys=[key], seed=args.seed,
        state_path=args.state or default_state_path(), reset=args.reset, environment=args.environment,
        rate_limits=not args.no_rate_limits, latency_ms=args.latency_ms, error_rate=args.error_rate,
        drop_rate=args.drop_rate, clock_skew=args.clock_skew, instruments=args.instruments,
        acct_lv=args.account_mode)
    if args.balance:
        options["balances"] = dict(args.balance)
    if args.max_connections is not None:
        options["max_connections"] = args.max_connections
    if args.idle_timeout is not None:
        options["idle_timeout_s"] = args.idle_timeout
    if args.volatility is not None:
        options["volatility"] = args.volatility
    fee_tier = {name: value for name, value in (("level", args.fee_level), ("maker", args.maker_fee),
                                                ("taker", args.taker_fee)) if value is not None}
    if fee_tier:
        options["fee_tier"] = fee_tier
    if args.tls_cert is not None or args.tls_key is not None:
        options["tls_certfile"], options["tls_keyfile"] = _tls(args.tls_cert, args.tls_key)
    return SimConfig(**options)  # type: ignore[arg-type]


def _tls(cert: Path | None, key: Path | None) -> tuple[Path, Path]:
    """The certificate and key, checked now: a bad pair is one line here, not a traceback from
    the server's first handshake."""
    if cert is None or key is None:
        raise SystemExit("okx-sim: --tls-cert and --tls-key go together: give both PEM files")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise SystemExit(f"okx-sim: no such file: {exc.filename}") from None
    except (ssl.SSLError, OSError) as exc:
        raise SystemExit(f"okx-sim: cannot serve TLS with {cert} and {key}: "
                         f"{getattr(exc, 'reason', None) or exc.strerror or exc} -- give a PEM certificate chain "
                         "and its unencrypted private key") from None
    return cert, key


def main(args: argparse.Namespace) -> int:
    try:
        config = build_config(args)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        print(f"okx-sim: invalid option: {where}: {error['msg']}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        sim = Simulator.build(config)
    except StateInUse as exc:
        print(f"okx-sim: {exc}", file=sys.stderr)
        return 1
    sock = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        print(f"okx-sim: cannot listen on {config.host}:{config.port}: {exc.strerror}", file=sys.stderr)
        sim.exchange.close()
        return 1
    sock.listen(config.backlog)  # accept connections (queued) from the moment the URL is printed
    port = sock.getsockname()[1]
    server = sim.server()
    scheme = "https" if config.tls_certfile is not None else "http"
    # The first line ends with the base URL (scripts read it); the WebSocket URLs follow.
    print(f"okx-sim listening on {scheme}://{config.host}:{port}", flush=True)
    print(f"okx-sim state: {config.state_path} (uid {sim.exchange.uid}, seed {sim.exchange.seed})", flush=True)
    print(f"okx-sim WebSocket: {scheme.replace('http', 'ws')}://{config.host}:{port}/ws/v5/public, /private, "
          "/business", flush=True)
    if sim.app.max_connections < config.max_connections:
        print(f"okx-sim: at most {sim.app.max_connections} connections (open-file limit "
              f"{resource.getrlimit(resource.RLIMIT_NOFILE)[0]})", flush=True)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler
    # that was installed before it: make that one end the process through our finally.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        server.run(sockets=[sock])
    except _Stopped:
        pass
    finally:
        sock.close()
        sim.exchange.close()
    print("okx-sim stopped; state flushed", flush=True)
    return 0


class _Stopped(Exception):
    """Raised by the re-delivered SIGINT/SIGTERM after uvicorn's graceful shutdown."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="okx-sim", description="A local OKX V5 REST exchange.")
    add_arguments(parser)
    return main(parser.parse_args(argv))
