"""The REST and XML-RPC baseline: a bare FastAPI endpoint on the same server stack.

`python -m bench.bare_api --port N --json FILE` answers
GET /rest/v3.1/SoftLayer_Network_Media_Transcode_Job/{id}/getObject.json with
the JSON in FILE (the emulator's own answer for that job), served by uvicorn
with the settings `Emulator` gives it.
"""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

HOST = "127.0.0.1"
PATH = "/rest/v3.1/SoftLayer_Network_Media_Transcode_Job/{job_id}/getObject.json"


def create_app(job: dict) -> FastAPI:
    app = FastAPI()

    @app.get(PATH)
    async def get_object(job_id: int) -> JSONResponse:
        return JSONResponse(job)

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return app


def serve(job: dict, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(2048)
    config = uvicorn.Config(
        create_app(job),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--json", type=Path, required=True)
    arguments = parser.parse_args()
    serve(json.loads(arguments.json.read_text()), arguments.port)


if __name__ == "__main__":
    main()
