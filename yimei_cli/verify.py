"""`yimei verify-server` and `yimei verify qr`: the consumer verification pages (verify/)."""

from __future__ import annotations

import re
from pathlib import Path

from ingestion.settings import Settings


def public_url(host: str, port: int, url: str | None) -> str:
    """Where consumers reach the pages (what the QR codes encode): --public-url, else the
    address the server listens on."""
    return url or f"http://{host}:{port}"


def verify_server(settings: Settings, host: str, port: int, url: str | None) -> int:
    import uvicorn

    from verify.app import create_app

    if not settings.serving_path.exists():
        print(
            f"yimei verify-server: nothing published yet ({settings.serving_path}): run `yimei run`"
        )
        return 2
    app = create_app(settings.serving_path, public_url(host, port, url))
    print(
        f"verification pages on http://{host}:{port}/ (API docs: /docs), "
        f"from {settings.serving_path}"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def write_cards(settings: Settings, city: str, out: Path, url: str) -> int:
    """One printable A6 PDF per clinic of ``city``: its name, status and QR code."""
    import duckdb

    from verify import qr

    if not settings.serving_path.exists():
        print(f"yimei verify qr: nothing published yet ({settings.serving_path}): run `yimei run`")
        return 2
    con = duckdb.connect(str(settings.serving_path), read_only=True)
    try:
        result = con.execute(
            "select scorecard.clinic_id, scorecard.name, scorecard.listing_status, "
            "verification.as_of_date from marts.clinic_scorecard as scorecard "
            "inner join marts.clinic_verification as verification using (clinic_id) "
            "where scorecard.city = ? order by scorecard.clinic_id",
            [city],
        )
        names = [column[0] for column in result.description]
        clinics = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        con.close()
    if not clinics:
        print(f"yimei verify qr: no clinic in {city}")
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for clinic in clinics:
        page = f"{url.rstrip('/')}/clinics/{clinic['clinic_id']}"
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", clinic["clinic_id"])
        (out / f"{safe}.pdf").write_bytes(qr.card_pdf(clinic, page, clinic["as_of_date"]))
    print(f"{len(clinics)} A6 cards for {city} written to {out}")
    return 0
