"""The operator's tools, on the top floor beside `cli.py`: the assessment (`assess`), the
seeder (`seed`), the load generator (`loadtest`), the run profiles (`profiles`) and the
liveness/readiness/metrics routes (`health`). They are clients of the services like any router;
nothing below them imports them."""
