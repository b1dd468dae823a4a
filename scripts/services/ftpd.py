"""Small FTP server for development and tests (pyftpdlib).

Used by scripts/services/ftp.sh (project venv) and by the `ftp` service in
docker-compose.yml. One virtual user with full rights on one root directory,
which gets `in/` and `out/` sub-folders. Passive data connections use a fixed
port range so it can be published from a container or opened in a firewall.

    python scripts/services/ftpd.py --host 127.0.0.1 --port 2121 \
        --user proud --password proud --root var/ftp/root --passive-ports 30000-30009

Every option can also come from the environment (FTP_HOST, FTP_PORT, FTP_USER,
FTP_PASSWORD, FTP_ROOT, FTP_PASSIVE_PORTS, FTP_MASQUERADE_ADDRESS).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default=env("FTP_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env("FTP_PORT", "2121")))
    p.add_argument("--user", default=env("FTP_USER", "proud"))
    p.add_argument("--password", default=env("FTP_PASSWORD", "proud"))
    p.add_argument("--root", default=env("FTP_ROOT", "var/ftp/root"))
    p.add_argument("--passive-ports", default=env("FTP_PASSIVE_PORTS", "30000-30009"))
    # Address announced in PASV replies; needed behind Docker's NAT, not on localhost.
    p.add_argument("--masquerade-address", default=env("FTP_MASQUERADE_ADDRESS") or None)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )

    root = Path(args.root).resolve()
    for sub in ("in", "out"):
        (root / sub).mkdir(parents=True, exist_ok=True)

    authorizer = DummyAuthorizer()
    # e l r a d f m w M T: list, retrieve, append, delete, rename, mkdir, store, chmod, mtime.
    authorizer.add_user(args.user, args.password, str(root), perm="elradfmwMT")

    first, _, last = args.passive_ports.partition("-")
    handler = FTPHandler
    handler.authorizer = authorizer
    handler.passive_ports = list(range(int(first), int(last or first) + 1))
    handler.banner = "proud test FTP server ready."
    if args.masquerade_address:
        handler.masquerade_address = args.masquerade_address

    server = FTPServer((args.host, args.port), handler)

    # SIGTERM (ftp.sh stop, docker stop) closes sockets cleanly instead of dying mid-transfer.
    def _stop(signum: int, frame: FrameType | None) -> None:
        server.close_all()
        sys.exit(0)

    signal.signal(signal.SIGTERM, _stop)
    logging.info(
        "serving %s on %s:%d, user %s, passive ports %s",
        root,
        args.host,
        args.port,
        args.user,
        args.passive_ports,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
