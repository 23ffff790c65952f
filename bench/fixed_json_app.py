"""The yardstick: a bare FastAPI route returning a fixed ~1 KB JSON body (no auth, no cache, no
database), served by uvicorn the same way as the API."""

from __future__ import annotations

import orjson
from fastapi import FastAPI
from fastapi.responses import Response

BODY = orjson.dumps(
    {
        "success": True,
        "projects": [
            {
                "id": f"01JBENCH{i:018d}",
                "name": f"Project {i}",
                "description": "A fixed body of about one kilobyte",
                "createdAt": "2026-01-01T00:00:00Z",
            }
            for i in range(7)
        ],
        "nextCursor": None,
    }
)

app = FastAPI()


@app.get("/fixed")
async def fixed() -> Response:
    return Response(BODY, media_type="application/json")
