"""QR codes of the clinic pages (segno) and the printable A6 card each clinic displays."""

from __future__ import annotations

import io
from pathlib import Path

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from verify.words import LISTING_STATUS_WORDS

TEMPLATES = Path(__file__).parent / "templates"
# error correction M (15%): a printed card survives a scratch or a fold
ERROR = "m"


def _code(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR, micro=False)


def svg(url: str) -> bytes:
    out = io.BytesIO()
    _code(url).save(out, kind="svg", scale=8, border=2, xmldecl=False)
    return out.getvalue()


def png(url: str) -> bytes:
    out = io.BytesIO()
    _code(url).save(out, kind="png", scale=8, border=2)
    return out.getvalue()


def card_pdf(clinic: dict, url: str, as_of) -> bytes:
    """An A6 card: the clinic's name, its listing status on the data's date, the QR code."""
    from weasyprint import HTML  # the PDF engine the blue-book uses

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape())
    html = env.get_template("qr_card.html").render(
        clinic=clinic,
        status=LISTING_STATUS_WORDS.get(clinic["listing_status"], clinic["listing_status"]),
        qr_svg=svg(url).decode("utf-8"),
        url=url,
        as_of=as_of,
    )
    return HTML(string=html).write_pdf()
