"""The FTP baseline: a stock pyftpdlib server with one user, on the same disk.

`python -m bench.bare_ftp --port N --home DIR --passive-ports LOW-HIGH`
"""

from __future__ import annotations

import argparse
import logging

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

HOST = "127.0.0.1"
USERNAME = "bench"
PASSWORD = "bench-password"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--passive-ports", required=True)
    arguments = parser.parse_args()

    logging.basicConfig(level=logging.WARNING)
    authorizer = DummyAuthorizer()
    authorizer.add_user(USERNAME, PASSWORD, arguments.home, perm="elradfmw")
    handler = type("BareHandler", (FTPHandler,), {})
    handler.authorizer = authorizer
    low, _, high = arguments.passive_ports.partition("-")
    handler.passive_ports = list(range(int(low), int(high) + 1))
    FTPServer((HOST, arguments.port), handler).serve_forever()


if __name__ == "__main__":
    main()
