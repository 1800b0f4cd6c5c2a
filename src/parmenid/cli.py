"""The `parmenid` command: serve, worker, migrate, admin, ingest, ask, generate, demo."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import signal
import sys
from collections.abc import Coroutine, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import uvicorn

from parmenid.config import Settings, get_settings
from parmenid.core.observability import configure_logging
from parmenid.runtime import Runtime

cli = typer.Typer(help="Parmenid: the corporate-site API and PresentAI.", no_args_is_help=True)
T = TypeVar("T")
admin_cli = typer.Typer(help="Platform administrators.", no_args_is_help=True)
cli.add_typer(admin_cli, name="admin")
demo_cli = typer.Typer(help="Demo content.", no_args_is_help=True)
cli.add_typer(demo_cli, name="demo")


class Target(StrEnum):
    ALL = "all"
    SITE = "site"
    PRESENTAI = "presentai"


class _SharedSignalServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to us, so several can share one loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed (it comes with uvicorn[standard]), else on asyncio."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - a minimal install without uvicorn[standard]
        return asyncio.run(main)
    return uvloop.run(main)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, json_logs=settings.log_json)
    return settings


@cli.command()
def serve(
    target: Annotated[Target, typer.Argument(help="all (default), site or presentai")] = Target.ALL,
    worker: Annotated[bool, typer.Option(help="Run the background worker in this process")] = True,
) -> None:
    """Migrate, then serve the site (:8000) and PresentAI (:8001) with an in-process worker."""
    settings = _settings()
    run_async(_serve(settings, target, run_worker=worker))


async def _serve(settings: Settings, target: Target, *, run_worker: bool) -> None:
    from parmenid.migrations.runner import upgrade
    from parmenid.presentai.app import create_app as create_presentai
    from parmenid.site.app import create_app as create_site

    runtime = Runtime.build(settings)
    if settings.run_migrations_on_start:
        await upgrade(settings.effective_database_url)
    apps = []
    if target in (Target.ALL, Target.SITE):
        apps.append((create_site(runtime), settings.site.host, settings.site.port))
    if target in (Target.ALL, Target.PRESENTAI):
        apps.append((create_presentai(runtime), settings.presentai.host, settings.presentai.port))
    servers: list[uvicorn.Server] = [
        _SharedSignalServer(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_config=None,
                access_log=False,
                proxy_headers=False,
                ws_max_size=64 * 1024,  # /ws messages are small; the app refuses > 4 KiB
            )
        )
        for app, host, port in apps
    ]
    job_worker = runtime.worker() if run_worker else None

    def stop() -> None:
        for server in servers:
            server.should_exit = True
        if job_worker is not None:
            job_worker.stop()

    def on_signal() -> None:
        """The first Ctrl-C stops gracefully; a second one stops at once."""
        if any(server.should_exit for server in servers):
            for server in servers:
                server.force_exit = True
        stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    if job_worker is not None:
        tasks.append(asyncio.create_task(job_worker.run()))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        stop()  # one part ended (or failed to bind): bring the rest down too
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        if any(not server.started for server in servers):
            raise SystemExit(1)
    finally:
        await runtime.close()


@cli.command("worker")
def worker_command() -> None:
    """Run background jobs (outbox deliveries) until interrupted."""
    settings = _settings()
    run_async(_work(settings))


async def _work(settings: Settings) -> None:
    runtime = Runtime.build(settings)
    job_worker = runtime.worker()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, job_worker.stop)
    try:
        await job_worker.run()
    finally:
        await runtime.close()


@cli.command()
def migrate(revision: str = "head") -> None:
    """Apply database migrations (the schema is also migrated on `serve`)."""
    from parmenid.migrations.runner import upgrade_sync

    settings = _settings()
    upgrade_sync(settings.effective_database_url, revision)
    typer.echo(f"database is at revision {revision}")


@admin_cli.command("create")
def admin_create(
    email: Annotated[str, typer.Option(prompt=True, help="The administrator's e-mail")],
    password: Annotated[
        str | None,
        typer.Option(help="Password (asked for when omitted; or PARMENID_ADMIN_PASSWORD)"),
    ] = None,
    full_name: Annotated[str | None, typer.Option(help="Display name")] = None,
) -> None:
    """Make a platform administrator: a new active account, or promote an existing one."""
    import os

    settings = _settings()
    password = password or os.environ.get("PARMENID_ADMIN_PASSWORD")
    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    message = asyncio.run(_admin_create(settings, email, password, full_name))
    typer.echo(message)


async def _admin_create(
    settings: Settings, email: str, password: str | None, full_name: str | None
) -> str:
    from parmenid.identity.admin import make_platform_admin
    from parmenid.migrations.runner import upgrade

    runtime = Runtime.build(settings)
    try:
        await upgrade(settings.effective_database_url)
        async with runtime.db.session() as session:
            outcome = await make_platform_admin(
                session, runtime.identity, email, password, full_name
            )
        return outcome
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        await runtime.close()


@cli.command()
def ingest(
    sources: Annotated[list[str], typer.Argument(help="Files or http(s) URLs")],
    org: Annotated[str, typer.Option(help="Organization slug (created if missing)")] = "cli",
) -> None:
    """Parse, chunk and index documents now, with a progress bar."""
    settings = _settings()
    documents = run_async(_with_runtime(settings, "ingest", sources, org))
    indexed = sum(1 for d in documents if d.ingestion_status == "indexed")
    raise typer.Exit(0 if indexed == len(sources) else 1)


@cli.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about the ingested documents")],
    org: Annotated[str, typer.Option(help="Organization slug")] = "cli",
) -> None:
    """Answer from the ingested documents, with citations (the local extractive engine)."""
    settings = _settings()
    typer.echo(run_async(_with_runtime(settings, "ask", question, org)))


DECK = Path("deck.json")


@cli.command()
def generate(
    sources: Annotated[list[str], typer.Argument(help="Files or http(s) URLs")],
    out: Annotated[Path, typer.Option(help="The file to write: .json, .pptx or .pdf")] = DECK,
    slides: Annotated[int, typer.Option(min=1, max=50, help="Number of slides")] = 10,
    title: Annotated[
        str | None, typer.Option(help="Deck title (default: the first source)")
    ] = None,
    language: Annotated[str, typer.Option(help="Language of the deck")] = "ru",
    org: Annotated[str, typer.Option(help="Organization slug (created if missing)")] = "cli",
) -> None:
    """Generate a grounded deck from sources (outline, then slides), with a progress bar."""
    settings = _settings()
    deck_title = title or Path(sources[0]).stem
    code = run_async(
        _with_runtime(settings, "generate", sources, out, deck_title, slides, language, org)
    )
    raise typer.Exit(code)


async def _with_runtime(settings: Settings, action: str, *args: Any) -> Any:
    from parmenid.knowledge.cli import ask_question, ingest_sources
    from parmenid.migrations.runner import upgrade
    from parmenid.presentai.generation.cli import generate_deck

    runtime = Runtime.build(settings)
    try:
        await upgrade(settings.effective_database_url)
        if action == "ingest":
            return await ingest_sources(runtime, *args)
        if action == "generate":
            sources, out, title, slides, language, org = args
            return await generate_deck(
                runtime, sources, out=out, title=title, slides=slides, language=language, slug=org
            )
        return await ask_question(runtime, *args)
    finally:
        await runtime.close()


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create (or complete) the demo organization and its chat bot with indexed knowledge."""
    settings = _settings()
    run_async(_seed(settings))


async def _seed(settings: Settings) -> None:
    from parmenid.migrations.runner import upgrade
    from parmenid.site.chat.demo import seed_demo

    runtime = Runtime.build(settings)
    try:
        await upgrade(settings.effective_database_url)
        result = await seed_demo(runtime)
    finally:
        await runtime.close()
    state = "created" if result.created else "already there"
    typer.echo(f"demo chat bot {result.avatar_id} ({state}; knowledge indexed: {result.indexed})")
    typer.echo(f"landing page: {settings.site.public_url.rstrip('/')}/")


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
