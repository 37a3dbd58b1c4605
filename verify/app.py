"""`yimei verify-server`: the consumer verification pages (认证二维码 and the product check),
a read-only FastAPI application over the published ``serving.duckdb``.

Pages are Chinese and mobile-first (Jinja2 templates in verify/templates); ``/api/v1`` serves
the same facts as JSON, documented on the framework's OpenAPI page (``/docs``). Every id and
number is checked against its pattern before a query (422 otherwise), a missing one is a 404,
and no error shows a stack trace. Responses say the data's as-of date (``X-Data-As-Of``) and
may be cached for a few minutes: a new version is published at most a few times a day.
``/docs`` and ``/redoc`` serve their scripts from the application (fastapi-offline): no CDN.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from verify import qr
from verify.data import PublishedData, clinic_facts, product_facts
from verify.words import COMPLAINT_WORDS, CONSUMER_WORDS, LISTING_STATUS_WORDS, TIER_WORDS

# Platform clinic ids and 注册证编号 (国械注准20183093554, 国药准字J20170012, 国械注进…):
# letters, digits and CJK, nothing that could be read as SQL, a path or markup.
CLINIC_ID = r"^[A-Za-z0-9_-]{1,32}$"
REGISTRATION_NO = r"^[0-9A-Za-z\u4e00-\u9fff（）()]{4,40}$"
CACHE_SECONDS = 300
LOG = logging.getLogger("yimei.verify")

# module-level: FastAPI resolves the annotations of the routes by name (postponed annotations)
ClinicId = Annotated[str, PathParam(pattern=CLINIC_ID, max_length=32)]
RegistrationNo = Annotated[str, PathParam(pattern=REGISTRATION_NO, max_length=40)]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals.update(
    status_words=LISTING_STATUS_WORDS,
    rule_words=CONSUMER_WORDS,
    tier_words=TIER_WORDS,
    complaint_words=COMPLAINT_WORDS,
)


def _headers(as_of: date | None) -> dict[str, str]:
    headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}"}
    if as_of is not None:
        headers["X-Data-As-Of"] = as_of.isoformat()
    return headers


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):  # amounts (DECIMAL in the marts): JSON numbers
        return float(value)
    return value


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def create_app(serving_path: Path, public_url: str) -> FastAPI:
    """The application over ``serving_path``; ``public_url`` is where consumers reach it (the
    QR codes encode it)."""
    data = PublishedData(serving_path)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        data.close()

    app = FastAPIOffline(
        title="yimei 认证查验 (verification)",
        description="Clinic certification and product registration, from the published data.",
        version="1",
        lifespan=lifespan,
    )
    app.state.data = data
    public = public_url.rstrip("/")

    def page_url(clinic_id: str) -> str:
        return f"{public}/clinics/{quote(clinic_id)}"

    def error_page(request: Request, status: int, message: str) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=status)
        return TEMPLATES.TemplateResponse(
            request, "error.html", {"status": status, "message": message}, status_code=status
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, _: RequestValidationError) -> Response:
        return error_page(request, 422, "输入的编号格式不正确，请核对后重试。")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = error.detail if error.status_code == 404 else "请求无法处理。"
        return error_page(request, error.status_code, str(message))

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> Response:
        # the server's log has the traceback; the consumer gets a sentence
        LOG.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return error_page(request, 500, "服务暂时不可用，请稍后再试。")

    def _clinic(clinic_id: str):
        facts = clinic_facts(data, clinic_id)
        if facts is None:
            raise HTTPException(404, f"未找到机构 {clinic_id}。")
        return facts

    @app.get("/clinics/{clinic_id}", response_class=HTMLResponse, include_in_schema=False)
    def clinic_page(request: Request, clinic_id: ClinicId) -> Response:
        facts = _clinic(clinic_id)
        return TEMPLATES.TemplateResponse(
            request,
            "clinic.html",
            {"facts": facts, "c": facts.clinic, "qr_svg": f"/clinics/{quote(clinic_id)}/qr.svg"},
            headers=_headers(facts.as_of),
        )

    @app.get("/clinics/{clinic_id}/qr.svg", include_in_schema=False)
    def clinic_qr_svg(clinic_id: ClinicId) -> Response:
        facts = _clinic(clinic_id)
        return Response(
            qr.svg(page_url(clinic_id)), media_type="image/svg+xml", headers=_headers(facts.as_of)
        )

    @app.get("/clinics/{clinic_id}/qr.png", include_in_schema=False)
    def clinic_qr_png(clinic_id: ClinicId) -> Response:
        facts = _clinic(clinic_id)
        return Response(
            qr.png(page_url(clinic_id)), media_type="image/png", headers=_headers(facts.as_of)
        )

    @app.get("/products", response_class=HTMLResponse, include_in_schema=False)
    def product_page(request: Request, no: str | None = None) -> Response:
        if no is None or not no.strip():
            return TEMPLATES.TemplateResponse(request, "product.html", {"facts": None})
        number = no.strip()
        if len(number) > 40 or not re.match(REGISTRATION_NO, number):
            return error_page(request, 422, "注册证编号格式不正确，请核对后重试。")
        facts = product_facts(data, number)
        return TEMPLATES.TemplateResponse(
            request, "product.html", {"facts": facts}, headers=_headers(facts.as_of)
        )

    @app.get("/api/v1/clinics/{clinic_id}", tags=["clinics"])
    def clinic_api(clinic_id: ClinicId) -> JSONResponse:
        """A clinic's verification facts: its scorecard and licence, doctors, complaints per
        type, open findings and any open listing action."""
        facts = _clinic(clinic_id)
        body = _jsonable(facts)
        body["page_url"] = page_url(clinic_id)
        return JSONResponse(body, headers=_headers(facts.as_of))

    @app.get("/api/v1/products/{registration_no}", tags=["products"])
    def product_api(
        registration_no: RegistrationNo,
    ) -> JSONResponse:
        """A product's registration (``product`` is null when the number is not registered)
        and the clinics that used it in the verification window."""
        facts = product_facts(data, registration_no)
        return JSONResponse(_jsonable(facts), headers=_headers(facts.as_of))

    return app
