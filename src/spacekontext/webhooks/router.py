from __future__ import annotations

from fastapi import APIRouter, Request

from spacekontext.auth.deps import ClientIpRateLimit, ServicesDep
from spacekontext.http.responses import JSONBytes

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])


@router.post("/clerk", summary="Clerk user events (Svix-signed)", dependencies=[ClientIpRateLimit])
async def clerk_webhook(request: Request, services: ServicesDep) -> JSONBytes:
    body = await request.body()
    event_type, applied = await services.webhooks.handle(body, request.headers)
    # `received`: what Clerk's own handler answers for every verified event.
    return JSONBytes({"success": True, "received": True, "type": event_type, "applied": applied})
