"""The report as Markdown (in the shape of the hand-written assessment) and as JSON (for CI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spacekontext.tools.assess.model import CONCERNS, Finding, Report, Severity, worst

_VERDICT = {
    Severity.OK: "ready",
    Severity.INFO: "ready; some figures not configured",
    Severity.WARNING: "will limit scaling",
    Severity.CRITICAL: "blocks scaling now",
}


def _concern_summary(findings: list[Finding]) -> str:
    problems = [f for f in findings if f.severity.rank >= Severity.WARNING.rank]
    if problems:
        titles = "; ".join(f.title for f in problems[:3])
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        return titles + more
    infos = [f for f in findings if f.severity is Severity.INFO]
    if infos:
        return "; ".join(f.title for f in infos[:3])
    return f"{len(findings)} check{'s' if len(findings) != 1 else ''} passed"


def to_markdown(report: Report) -> str:
    lines: list[str] = []
    add = lines.append
    add("# Database Scalability Assessment")
    add("")
    add(f"**Database:** `{report.database}` (PostgreSQL {report.server_version})  ")
    add(f"**Schemas:** {', '.join(f'`{s}`' for s in report.schemas) or '—'}  ")
    add(f"**Assessed:** {report.assessed_at}")
    add("")
    add("---")
    add("")
    add("## Executive Summary")
    add("")
    overall = report.severity
    add(
        f"{overall.icon} **Overall:** {_VERDICT[overall]} — "
        f"{report.count(Severity.CRITICAL)} critical, {report.count(Severity.WARNING)} warnings, "
        f"{report.count(Severity.INFO)} notes, {report.count(Severity.OK)} passed."
    )
    add("")
    add("| Concern | Verdict | Summary |")
    add("|---|---|---|")
    grouped = report.by_concern()
    for concern in CONCERNS:
        findings = grouped.get(concern, [])
        if not findings:
            continue
        severity = worst([f.severity for f in findings])
        summary = _cell(_concern_summary(findings))
        add(f"| {concern} | {severity.icon} {_VERDICT[severity]} | {summary} |")
    add("")
    problems = sorted(report.problems(), key=lambda f: -f.severity.rank)
    if problems:
        add("🎯 **Fix first:**")
        for n, finding in enumerate(problems[:5], 1):
            add(f"{n}. {finding.severity.icon} {finding.title}")
        add("")
    add("---")
    add("")
    number = 0
    for concern in CONCERNS:
        findings = grouped.get(concern, [])
        if not findings:
            continue
        add(f"## {worst([f.severity for f in findings]).icon} {concern}")
        add("")
        for finding in findings:
            number += 1
            add(f"### {finding.severity.icon} {number}. {finding.title}")
            add("")
            add(f"`{finding.check}`" + (f" · `{finding.subject}`" if finding.subject else ""))
            add("")
            lines.extend(_bullets("Evidence", finding.evidence))
            if finding.fix:
                add("**Fix:**")
                add("```sql" if _is_sql(finding.fix) else "```")
                lines.extend(finding.fix)
                add("```")
                add("")
    add("---")
    add("")
    add("## 📊 Scalability Projections")
    add("")
    add("| Metric | Current | Safe Limit | Breaking Point |")
    add("|--------|---------|------------|----------------|")
    for row in report.projections:
        add(
            f"| {_cell(row.metric)} | {_cell(row.current)} | {_cell(row.safe_limit)} | "
            f"{_cell(row.breaking_point)} |"
        )
    add("")
    lines.extend(_bullets("Assumptions", report.assumptions))
    return "\n".join(lines)


def _bullets(title: str, items: Sequence[str]) -> list[str]:
    """A bold title, a bullet per item and a blank line; nothing without items."""
    return [f"**{title}:**", *(f"- {item}" for item in items), ""] if items else []


def _is_sql(fix: tuple[str, ...]) -> bool:
    return not any(line.startswith("#") or "=" in line.split(" ")[0] for line in fix)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_json(report: Report, *, fail_on: str | None = None) -> dict[str, Any]:
    grouped = report.by_concern()
    return {
        "database": report.database,
        "serverVersion": report.server_version,
        "schemas": list(report.schemas),
        "assessedAt": report.assessed_at,
        "severity": report.severity.value,
        "counts": {s.value: report.count(s) for s in Severity},
        "failOn": fail_on,
        "failed": report.fails(fail_on),
        "summary": [
            {
                "concern": concern,
                "severity": worst([f.severity for f in grouped[concern]]).value,
                "summary": _concern_summary(grouped[concern]),
            }
            for concern in CONCERNS
            if grouped.get(concern)
        ],
        "findings": [f.to_json() for f in report.findings],
        "projections": [
            {
                "metric": r.metric,
                "current": r.current,
                "safeLimit": r.safe_limit,
                "breakingPoint": r.breaking_point,
            }
            for r in report.projections
        ],
        "assumptions": list(report.assumptions),
    }
