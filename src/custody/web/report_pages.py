"""The access report of an item or of each item of a transfer: who could read it, who did,
when and from where, and who was refused; as a page, and as CSV and JSON downloads.

The same service and policy as ``GET /api/v1/items/{id}/report`` (``custody report``): the
sender, the recipients, admins and auditors of either organisation, unit admins of either
unit; anyone else is told there is no such item or transfer. Every line carries the ledger
entry that proves it. The CSV is safe to open in a spreadsheet: a cell that a spreadsheet
would take for a formula (starting ``=``, ``+``, ``-``, ``@``, a tab or a carriage return)
is written with a leading ``'``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from custody.http.deps import ContextDep
from custody.protocol.assurance import ReportOut
from custody.services import reports
from custody.web.pages import PAGE_HEADERS, SignedIn, WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Ref = Annotated[str, Path(max_length=40)]

COLUMNS = (
    "section", "item", "transfer", "case", "ledger_entry", "event", "time", "person",
    "address", "user_agent", "granted_by", "expires_at", "ended", "ended_at", "ended_by",
    "end_reason", "end_entry", "detail",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: never a formula (OWASP's CSV injection advice)."""
    text = "" if value is None else value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def rows(report: ReportOut) -> Iterator[dict[str, Any]]:
    """The report's lines, one dict per CSV row: grants, then accesses, then refusals."""
    where = {"item": report.item, "transfer": report.transfer, "case": report.case}
    for g in report.could_access:
        yield {**where, "section": "could access", "ledger_entry": g.grant_index, "event": g.kind,
               "time": g.granted_at, "person": g.reader, "granted_by": g.granted_by,
               "expires_at": g.expires_at, "ended": g.end, "ended_at": g.ended_at,
               "ended_by": g.ended_by, "end_reason": g.end_reason, "end_entry": g.end_index}
    for section, lines in (("accessed", report.accessed), ("refused", report.refused)):
        for line in lines:
            yield {**where, "section": section, "ledger_entry": line.index, "event": line.type,
                   "time": line.time, "person": line.user, "address": line.address,
                   "user_agent": line.user_agent,
                   "detail": json.dumps(line.detail, sort_keys=True) if line.detail else ""}


def as_csv(found: list[ReportOut]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for report in found:
        for row in rows(report):
            writer.writerow([safe_cell(row.get(c)) for c in COLUMNS])
    return out.getvalue()


def _download(body: str, media: str, name: str) -> Response:
    headers = {
        **PAGE_HEADERS,
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body.encode("utf-8"), media_type=media, headers=headers)


@router.get("/reports/{ref}")
def report(ref: Ref, request: Request, ctx: ContextDep, actor: SignedIn) -> Response:
    """Who could read each item, who did, when and from where, and who was refused."""
    found = reports.access_reports(ctx, actor, ref)
    return render(request, "report.html", actor=actor, title="Access report", ref=ref,
                  reports=found)


@router.get("/reports/{ref}/export.csv")
def report_csv(ref: Ref, ctx: ContextDep, actor: SignedIn) -> Response:
    found = reports.access_reports(ctx, actor, ref)  # refuses before the name is used
    return _download(as_csv(found), "text/csv; charset=utf-8", f"access-report-{ref}.csv")


@router.get("/reports/{ref}/export.json")
def report_json(ref: Ref, ctx: ContextDep, actor: SignedIn) -> Response:
    found = reports.access_reports(ctx, actor, ref)
    body = json.dumps({"reports": [r.model_dump(mode="json") for r in found]}, indent=2)
    return _download(body, "application/json", f"access-report-{ref}.json")
