"""FastAPI app factory: no import-time side effects, settings passed in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from alerts.tokens import Tokens
from core.settings import Settings, get_settings
from db.session import make_engine, make_sessionmaker
from fastapi import FastAPI, Request, Response

from web import (
    admin,
    api,
    api_docs,
    errors,
    exports,
    feedback_pages,
    feeds,
    locale,
    metrics,
    routes,
    sendgrid_events,
    subscribe_pages,
    subscribing,
    subscriptions_api,
)
from web.auth import Guard
from web.background import IndexWorker
from web.crawls import CrawlManager
from web.ratelimit import RateLimiter

TEMPLATES = Path(__file__).with_name("templates")

# Stored text is untrusted: even if something slipped through escaping, the
# browser would run no script and load nothing from elsewhere.
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)

    factory = make_sessionmaker(engine)
    indexer = IndexWorker(factory)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        indexer.start()
        yield
        indexer.stop()
        engine.dispose()

    app = FastAPI(
        title="wirewatch",
        version="0.1.0",
        docs_url=None,  # served offline by web/api_docs.py
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = factory
    app.state.templates = locale.LocalizedTemplates(TEMPLATES)
    app.state.guard = Guard.from_settings(settings)
    app.state.metrics = metrics.Metrics(factory)
    app.state.crawls = CrawlManager(settings, factory)
    app.state.crawl_limiter = RateLimiter(settings.crawl_trigger_limit, window=60)
    app.state.login_limiter = RateLimiter(10, window=60)
    app.state.subscribe_limiter = subscribing.limiter(settings)
    app.state.tokens = Tokens.from_settings(settings)
    errors.install(app)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on
        # every form POST, and admin forms check that Origin names this site.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    app.include_router(routes.router)
    app.include_router(locale.router)
    app.include_router(admin.router)
    app.include_router(subscribe_pages.router)
    app.include_router(feedback_pages.router)
    app.include_router(subscriptions_api.router)
    app.include_router(feeds.router)
    app.include_router(sendgrid_events.router)
    app.include_router(exports.router)
    app.include_router(api.router)
    app.include_router(metrics.router)
    api_docs.install(app)

    return app
