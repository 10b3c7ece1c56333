"""The exit certificate (脱贫证明): a Chinese PDF with a verification code the public can check."""

from __future__ import annotations

import io

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from assessments.choices import ExitCaseStatus
from assessments.models import ExitCase
from households.choices import MemberStatus, Relationship

FONT = "STSong-Light"
NOT_CERTIFIED = _("只有县级审定通过的退出才有脱贫证明。")
CERTIFICATE_REVOKED = _("该脱贫证明已撤销。")


def mask_name(name: str) -> str:
    """Return a name with all but its first character hidden (张**)."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def _head_name(case: ExitCase) -> str:
    head = case.household.members.filter(relationship=Relationship.HEAD, status=MemberStatus.ACTIVE).first()
    return head.name if head else ""


def _place(case: ExitCase) -> list[str]:
    village = case.household.village
    chain = [village]
    while chain[-1].parent_id and len(chain) < 4:
        chain.append(chain[-1].parent)
    return [d.name for d in reversed(chain)]


def verification_url(case: ExitCase) -> str:
    base = getattr(settings, "REGISTRY_PUBLIC_URL", "").rstrip("/")
    return f"{base}/verify/{case.certificate_code}/"


def certificate_pdf(case: ExitCase) -> bytes:
    """Return the certificate of a certified case as PDF bytes (STSong-Light, no font files)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if case.status != ExitCaseStatus.CERTIFIED or not case.certificate_code:
        raise ValueError(str(NOT_CERTIFIED))
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    pdf.setTitle(f"脱贫证明 {case.certificate_code}")
    width, height = A4
    pdf.setFont(FONT, 26)
    pdf.drawCentredString(width / 2, height - 45 * mm, "脱 贫 证 明")
    place = "".join(_place(case))
    lines = [
        f"户编号：{case.household.registry_number}",
        f"户主：{_head_name(case)}",
        f"住址：{place}",
        f"退出年度：{case.year} 年",
        f"审定日期：{case.certified_on:%Y年%m月%d日}",
        "",
        "经民主评议、村委会和驻村工作队核实、贫困户认可、村内公示无异议、",
        f"乡镇审核，{case.household.village.name}该户于 {case.year} 年达到",
        "“一收入两不愁三保障”退出标准，经县级审定，准予脱贫退出。",
        "",
        "脱贫不脱政策：过渡期内责任、政策、帮扶、监管继续保持。",
    ]
    pdf.setFont(FONT, 13)
    y = height - 70 * mm
    for line in lines:
        pdf.drawString(25 * mm, y, line)
        y -= 9 * mm
    pdf.setFont(FONT, 11)
    pdf.drawString(25 * mm, 45 * mm, f"校验码：{case.certificate_code}")
    pdf.drawString(25 * mm, 38 * mm, f"核验地址：{verification_url(case)}")
    pdf.drawRightString(width - 25 * mm, 45 * mm, "县扶贫开发领导小组办公室")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def public_facts(code: str) -> dict | None:
    """Return what the public verification page may show about a code, or None if unknown."""
    case = (
        ExitCase.objects.filter(certificate_code=code.strip().upper())
        .select_related("household__village__parent__parent")
        .first()
    )
    if case is None:
        return None
    return {
        "code": case.certificate_code,
        "head": mask_name(_head_name(case)),
        "village": "".join(_place(case)[-3:]),
        "year": case.year,
        "valid": not case.revoked,
        "certified_on": case.certified_on,
    }


def certificate_issue(*, actor, case: ExitCase) -> bytes:
    """Return the certificate PDF for ``actor``, recording who printed it (it names the head)."""
    from django.db import transaction

    from registry.audit import audit_record
    from registry.errors import ApplicationError
    from registry.services import require_in_scope

    if actor is not None:
        require_in_scope(actor, case.household.village_id)
    if case.revoked:
        raise ApplicationError(CERTIFICATE_REVOKED, code="not_certified", status=409)
    if case.status != ExitCaseStatus.CERTIFIED or not case.certificate_code:
        raise ApplicationError(NOT_CERTIFIED, code="not_certified", status=409)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="exit_case.certificate_issue",
            instance=case,
            scope_code=case.household.village_id,
            after={"certificate_code": case.certificate_code},
        )
        return certificate_pdf(case)
