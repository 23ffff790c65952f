"""`spacekontext loadtest`: simulated users against a running server on this machine.

`guard` refuses any target that is not loopback; `scenario` is what one simulated user does;
`monitor` samples PostgreSQL, the server's /metrics and CPU while a step runs; `runner` ramps
through the steps; `report` writes the Markdown, JSON and PNG."""
