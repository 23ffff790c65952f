"""The load test's outputs: Markdown (the assessment's "Scalability Projections" shape plus the
per-step and per-action tables), the raw JSON, and a PNG chart of latency and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

# The assessment's guesses for its starting architecture ("Scalability Projections").
ASSESSMENT = {
    "users": ("~50", "100-150", "200+"),
    "connections": ("~20", "50", "100"),
    "response": ("<100 ms", "200 ms", "1 s+"),
}


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.1f}{suffix}"
    return f"{value:,}{suffix}"


def _pct(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def holding_and_breaking(
    result: dict[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    steps = result["steps"]
    breaking = next((s for s in steps if s["breaks"]), None)
    holding = [
        s for s in steps if not s["breaks"] and (breaking is None or s["users"] < breaking["users"])
    ]
    return (holding[-1] if holding else None), breaking


def markdown(result: dict[str, Any]) -> str:
    holding, breaking = holding_and_breaking(result)
    steps = result["steps"]
    lines = [
        f"### {result['label']}",
        "",
        f"Target {result['target']}, started {result['startedAt']}; "
        f"{result['config']['stepSeconds']:.0f} s per step after a "
        f"{result['config']['rampSeconds']:.0f} s ramp, think time "
        f"{result['config']['thinkSeconds'][0]}-{result['config']['thinkSeconds'][1]} s, "
        f"{result['config']['userTokens']} distinct users; machine: {result['machine']['cpus']} "
        f"cores, load average at start {result['machine']['loadAverage']}.",
        "",
        "| Metric | Assessment: current | Assessment: safe limit | Assessment: breaking point "
        "| Measured: largest step that holds | Measured: first step that breaks |",
        "|---|---|---|---|---|---|",
        "| Concurrent users | {} | {} | {} | {} | {} |".format(
            *ASSESSMENT["users"],
            _fmt(holding["users"]) if holding else "none",
            _fmt(breaking["users"])
            if breaking
            else f"none up to {_fmt(steps[-1]['users'])}"
            if steps
            else "n/a",
        ),
        "| Database connections (max in use) | {} | {} | {} | {} | {} |".format(
            *ASSESSMENT["connections"],
            _fmt(holding["pgConnectionsMax"]) if holding else "n/a",
            _fmt(breaking["pgConnectionsMax"]) if breaking else "n/a",
        ),
        "| Response time p50 / p99 | {} | {} | {} | {} | {} |".format(
            *ASSESSMENT["response"],
            f"{_fmt(holding['p50Ms'], ' ms')} / {_fmt(holding['p99Ms'], ' ms')}"
            if holding
            else "n/a",
            f"{_fmt(breaking['p50Ms'], ' ms')} / {_fmt(breaking['p99Ms'], ' ms')}"
            if breaking
            else "n/a",
        ),
        "",
        "| Users | Requests/s | p50 | p95 | p99 | Errors | PG connections max (mean) "
        "| Pool waits | App cache hits | PG buffer hits | CPU % server / postgres / load generator "
        "/ whole machine | CPU ms per request server / postgres | Verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for step in steps:
        cpu = step.get("cpuPercent") or {}
        waits = step.get("poolWaits")
        waiting = step.get("poolWaitingMax")
        pool = "n/a"
        if waits is not None or waiting is not None:
            pool = f"{_fmt(waits)} (max waiting {_fmt(waiting)})"
        lines.append(
            "| {users} | {rps} | {p50} | {p95} | {p99} | {err} | {conn} ({mean}) | {pool} "
            "| {cache} | {buf} | {cpu} | {per} | {verdict} |".format(
                users=_fmt(step["users"]),
                rps=_fmt(step["requestsPerS"]),
                p50=_fmt(step["p50Ms"], " ms"),
                p95=_fmt(step["p95Ms"], " ms"),
                p99=_fmt(step["p99Ms"], " ms"),
                err=f"{_pct(step['errorRate'])} ({step['errors']:,})",
                conn=_fmt(step["pgConnectionsMax"]),
                mean=_fmt(step["pgConnectionsMean"]),
                pool=pool,
                cache=_pct(step.get("cacheHitRatio"), 1),
                buf=_pct(step.get("pgBufferHitRatio"), 1),
                cpu=" / ".join(
                    _fmt(cpu.get(k)) for k in ("server", "postgres", "loadtest", "system")
                ),
                per=" / ".join(
                    _fmt((step.get("cpuMsPerRequest") or {}).get(k)) for k in ("server", "postgres")
                ),
                verdict="breaks: " + "; ".join(step["breakReasons"]) if step["breaks"] else "holds",
            )
        )
    names = sorted({name for step in steps for name in step["actions"]})
    if names:
        lines += [
            "",
            "Latency per action, p50 / p95 / p99 in ms (errors):",
            "",
            "| Users | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for step in steps:
            cells = []
            for name in names:
                a = step["actions"].get(name)
                if a is None:
                    cells.append("-")
                    continue
                cell = f"{_fmt(a['p50Ms'])} / {_fmt(a['p95Ms'])} / {_fmt(a['p99Ms'])}"
                if a["errors"]:
                    cell += f" ({a['errors']:,})"
                cells.append(cell)
            lines.append(f"| {_fmt(step['users'])} | " + " | ".join(cells) + " |")
    missing = result["actions"]["notAvailable"]
    if missing:
        lines += [
            "",
            "Not available on this server (left out of the mix): "
            + ", ".join(f"{a['name']} (`{a['request']}`)" for a in missing)
            + ".",
        ]
    return "\n".join(lines) + "\n"


def chart(results: list[dict[str, Any]], path: Path) -> None:
    """Latency percentiles (log scale) and error rate against users, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, errors) = plt.subplots(
        2, 1, figsize=(9, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    styles = {"p50Ms": ":", "p95Ms": "--", "p99Ms": "-"}
    for index, result in enumerate(results):
        color = f"C{index}"
        users = [s["users"] for s in result["steps"]]
        for key, style in styles.items():
            latency.plot(
                users,
                [s[key] for s in result["steps"]],
                style,
                color=color,
                marker="o",
                markersize=3,
                label=f"{result['label']} {key[:3]}",
            )
        errors.plot(
            users,
            [100 * (s["errorRate"] or 0) for s in result["steps"]],
            "-",
            color=color,
            marker="o",
            markersize=3,
            label=result["label"],
        )
    latency.axhline(1000, color="grey", linewidth=0.8)
    latency.set_yscale("log")
    latency.set_ylabel("latency (ms)")
    latency.set_title("Latency and errors against concurrent simulated users")
    latency.legend(fontsize=7, ncol=max(1, len(results)))
    latency.grid(True, which="both", alpha=0.3)
    errors.axhline(0.1, color="grey", linewidth=0.8)
    errors.set_ylabel("errors (%)")
    errors.set_xlabel("concurrent simulated users")
    errors.set_xscale("log")
    ticks = sorted({s["users"] for result in results for s in result["steps"]})
    errors.set_xticks(ticks, [f"{t:,}" for t in ticks])
    errors.minorticks_off()
    errors.legend(fontsize=7)
    errors.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_outputs(result: dict[str, Any], prefix: Path) -> dict[str, Path]:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": prefix.with_suffix(".json"),
        "markdown": prefix.with_suffix(".md"),
        "chart": prefix.with_suffix(".png"),
    }
    paths["json"].write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    paths["markdown"].write_text(markdown(result))
    chart([result], paths["chart"])
    return paths
