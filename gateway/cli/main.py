"""``proud``: run the daemon, migrate the database, inspect topics and dead letters, manage API keys."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
import typer

from gateway.cli import ConfigOption, cli_settings, guarded
from gateway.cli.bench import bench_app
from gateway.cli.bench_readings import bench_readings
from gateway.cli.bench_rules import bench_rules
from gateway.cli.billing import billing_app
from gateway.cli.dlq import dlq_app
from gateway.cli.keys import keys_app
from gateway.cli.masterdata import demo_data, import_app
from gateway.cli.ote import ote_app
from gateway.cli.outbox import outbox_app
from gateway.cli.readings import readings_app
from gateway.cli.rules import rules_app
from gateway.cli.topics import topics_command
from gateway.config import Settings
from gateway.daemon import Daemon
from gateway.distributor.cli import distributor_app
from gateway.gc_tuning import tune_gc
from gateway.store.db import create_engine
from gateway.store.migrate import current_revision, head_revision, upgrade_sync
from gateway.subscriptions import builtin_subscriptions

app = typer.Typer(
    name="proud",
    help="Integration gateway for the billing back end.",
    no_args_is_help=True,
    add_completion=False,
    # Locals of a failing frame can hold the database URL with its password.
    pretty_exceptions_show_locals=False,
)


@app.callback()
def main(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Settings: defaults, then PROUD_* environment variables, then the --config file."""
    ctx.obj = config


@app.command()
def migrate(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Upgrade the configured database to the newest schema revision."""
    with guarded():
        settings = cli_settings(ctx, config)
        url = settings.effective_database_url
        upgrade_sync(url)
        revision = asyncio.run(_revision(url))
    shown = sa.engine.make_url(url).render_as_string(hide_password=True)
    head = " (head)" if revision == head_revision() else ""
    typer.echo(f"database {shown} is at revision {revision}{head}")


async def _revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return await current_revision(engine)
    finally:
        await engine.dispose()


@app.command()
def run(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Run the daemon (consumers, outbox relay, HTTP) until SIGINT or SIGTERM."""
    with guarded():
        settings = cli_settings(ctx, config)
        tune_gc()
        asyncio.run(_serve(settings))


async def _serve(settings: Settings) -> None:
    daemon = Daemon(settings, subscriptions=builtin_subscriptions(settings))
    try:
        await daemon.run_until_signalled()
    except Exception:
        # run_until_signalled stops only a daemon that started; release what a failed start left open.
        await daemon.stop()
        raise


app.command("topics")(topics_command)
app.add_typer(dlq_app, name="dlq")
app.add_typer(outbox_app, name="outbox")
app.add_typer(keys_app, name="keys")
app.add_typer(import_app, name="import")
app.command("demo-data")(demo_data)


bench_app.command("rules")(bench_rules)
bench_app.command("readings")(bench_readings)
app.add_typer(bench_app, name="bench")
app.add_typer(rules_app, name="rules")
app.add_typer(ote_app, name="ote")
app.add_typer(distributor_app, name="distributor")
app.add_typer(readings_app, name="readings")
app.add_typer(billing_app, name="billing")

if __name__ == "__main__":
    app()
