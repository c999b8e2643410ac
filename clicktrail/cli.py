"""`clicktrail` console script."""

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable, Coroutine
from contextlib import ExitStack
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from importlib.metadata import version
from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.catalog.service import CatalogInputError, create_campaign
from api.workspaces.repository import active_postback_secret
from api.workspaces.service import (
    WorkspaceInputError,
    create_workspace,
    rotate_postback_secret,
)
from clicktrail.doctor import diagnose, print_findings
from clicktrail.progress import ProgressBar, step
from clicktrail.servers import (
    API,
    SERVICES,
    WORKERS,
    PortInUseError,
    run_service,
    run_side_by_side,
)
from ingestion.costs.service import apply_cost_updates
from ingestion.uploads.service import process_job
from models.cost_requests import (
    ClickScope,
    CostRequest,
    CostRequestError,
    CostUpdateProgress,
    cost_update_progress,
    take_cost_update,
)
from models.database import (
    DatabaseUnavailableError,
    check_database,
    create_engine,
    driver_connection,
)
from models.embedded import DataDirLockedError, lock_data_dir, start_embedded
from models.enums import CostModel, CostUpdateMode
from models.migrate import upgrade
from models.rollups import rebuild_rollups, workspace_ids
from models.settings import Settings, get_settings, ingestion_url
from models.templates import TrackingTemplates, tracking_templates
from models.upload_files import MAX_FILE_BYTES, UploadFile, UploadFileError, read_upload
from models.upload_jobs import job_progress, rejected_rows, store_upload
from models.workspace import Workspace

# How often the CLI looks at a job another process is applying.
FOLLOW_INTERVAL_S = 0.5

OPERATOR_ERRORS = (
    CatalogInputError,
    CostRequestError,
    DatabaseUnavailableError,
    DataDirLockedError,
    PortInUseError,
    WorkspaceInputError,
)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        code = args.handler(args, get_settings())
    except ValidationError as exc:
        _fail("; ".join(_describe(error) for error in exc.errors()))
    except OPERATOR_ERRORS as exc:
        _fail(str(exc))
    sys.exit(code)


def _fail(message: str) -> NoReturn:
    print(f"clicktrail: error: {message}", file=sys.stderr)
    sys.exit(1)


def _describe(error: ErrorDetails) -> str:
    field = str(error["loc"][0]) if error["loc"] else "settings"
    return f"CLICKTRAIL_{field.upper()}={error.get('input')!r}: {error['msg']}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clicktrail",
        description="Click and multi-step conversion tracker. Settings come from CLICKTRAIL_* "
        "environment variables; without DATABASE_URL an embedded PostgreSQL keeps its data in "
        "CLICKTRAIL_DATA_DIR.",
    )
    parser.add_argument(
        "--version", action="version", version=f"clicktrail {version('clicktrail')}"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate, then run the ingestion and GraphQL apps")
    serve.set_defaults(handler=_serve)
    for name, service in SERVICES.items():
        one = commands.add_parser(f"serve-{name}", help=f"migrate, then run the {name} app only")
        one.add_argument("--no-migrate", action="store_true", help="skip the schema upgrade")
        one.set_defaults(handler=_serve_one, service=service)

    forward = commands.add_parser(
        "serve-forwarder",
        help="migrate, then send conversions to the traffic sources' postback templates",
    )
    forward.add_argument("--no-migrate", action="store_true", help="skip the schema upgrade")
    forward.set_defaults(handler=_serve_forwarder)

    migrate = commands.add_parser("migrate", help="upgrade the schema and create partitions ahead")
    migrate.set_defaults(handler=_migrate)

    doctor = commands.add_parser(
        "doctor",
        help="check the database, schema, partitions, rollup and forward backlogs and settings; "
        "says what to fix and exits 1 on a problem",
    )
    doctor.set_defaults(handler=_doctor)

    workspace = commands.add_parser(
        "create-workspace", help="create a workspace; prints its postback secret and admin API key"
    )
    workspace.add_argument("name")
    workspace.add_argument("--timezone", default="UTC", help="IANA time zone (default UTC)")
    workspace.add_argument("--currency", default="USD", help="ISO 4217 code (default USD)")
    workspace.set_defaults(handler=_create_workspace)

    campaign = commands.add_parser(
        "create-campaign", help="create a campaign with its offer; prints the tracking link"
    )
    campaign.add_argument("workspace", type=int, help="workspace id")
    campaign.add_argument("name")
    campaign.add_argument(
        "--offer-url", required=True, help="offer URL with macros, e.g. {clickid}"
    )
    campaign.add_argument("--source", help="traffic source name (created if new)")
    campaign.add_argument("--source-click-id-param", help="the source's click id parameter")
    cost = campaign.add_mutually_exclusive_group()
    cost.add_argument("--cpc", type=_amount, help="cost per click")
    cost.add_argument("--cpm", type=_amount, help="cost per thousand clicks")
    campaign.add_argument("--payout", type=_amount, help="default payout per conversion")
    campaign.set_defaults(handler=_create_campaign)

    rotate = commands.add_parser(
        "rotate-secret", help="issue a new postback secret; the old one works for a grace period"
    )
    rotate.add_argument("workspace", type=int, help="workspace id")
    rotate.add_argument("--grace-hours", type=float, default=24.0, help="default 24")
    rotate.set_defaults(handler=_rotate_secret)

    templates = commands.add_parser(
        "templates", help="print a workspace's postback URLs and pixel snippets"
    )
    templates.add_argument("workspace", type=int, help="workspace id")
    templates.set_defaults(handler=_templates)

    rebuild = commands.add_parser(
        "rebuild-rollups", help="recompute the report rollups from the raw clicks and events"
    )
    rebuild.add_argument("--workspace", type=int, help="only this workspace id (default: all)")
    rebuild.set_defaults(handler=_rebuild_rollups)

    upload = commands.add_parser(
        "upload-conversions",
        help="apply a CSV or JSON-lines file of conversions through the postback rules",
    )
    upload.add_argument("file", help="CSV with a header row, or one JSON object per line")
    upload.add_argument("--workspace", type=int, required=True, help="workspace id")
    upload.set_defaults(handler=_upload_conversions)

    costs = commands.add_parser(
        "update-costs",
        help="set the cost of a campaign's clicks in a time range (a total or per click)",
    )
    costs.add_argument("workspace", type=int, help="workspace id")
    costs.add_argument("campaign", type=int, help="campaign id")
    costs.add_argument(
        "--from", dest="starts_at", type=_time, required=True, help="e.g. 2026-12-01T00:00Z"
    )
    costs.add_argument(
        "--to", dest="ends_at", type=_time, required=True, help="exclusive, e.g. 2026-12-02T00:00Z"
    )
    amount = costs.add_mutually_exclusive_group(required=True)
    amount.add_argument("--total", type=_amount, help="spread over the clicks, summing exactly")
    amount.add_argument("--per-click", type=_amount, help="what every click costs")
    costs.add_argument(
        "--currency", help="ISO 4217 code with a stored rate (default: the workspace's)"
    )
    costs.add_argument("--source", type=int, help="only clicks of this traffic source id")
    costs.add_argument("--country", help="only clicks from this country (ISO 3166 code)")
    costs.add_argument("--sub", type=_sub, help="only clicks with this sub value, e.g. 3=banner")
    costs.add_argument(
        "--request-id", help="run the same command with it again to resume, not repeat, it"
    )
    costs.set_defaults(handler=_update_costs)
    return parser


def _amount(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{value!r} is not a decimal number") from None


def _time(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time such as 2026-12-01T00:00:00Z"
        ) from None


def _sub(value: str) -> tuple[int, str]:
    number, sep, sub_value = value.partition("=")
    if not sep or not number.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not N=VALUE, e.g. 3=banner")
    return int(number), sub_value


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        if not settings.database_url:
            for name in [*SERVICES, *WORKERS]:
                stack.enter_context(lock_data_dir(settings.data_dir, name))
            _graphiql_on_unless_set(settings)
        # Leaving the block stops the embedded server, on Ctrl+C and SIGTERM too (both end
        # run_side_by_side normally); a watchdog stops it if this process is killed.
        url = _prepare_database(settings, stack, migrate=True)
        return run_side_by_side(settings, url)


def _serve_one(args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        if not settings.database_url:
            stack.enter_context(lock_data_dir(settings.data_dir, args.service.name))
            _graphiql_on_unless_set(settings)
        url = _prepare_database(settings, stack, migrate=not args.no_migrate)
        # granian's workers build the app from get_settings(): hand them the resolved URL (and
        # the GraphiQL default) through the environment, and drop the cached settings a forked
        # worker would otherwise inherit (it would keep GraphiQL off).
        os.environ["CLICKTRAIL_DATABASE_URL"] = url
        get_settings.cache_clear()
        run_service(settings, args.service)
    return 0


def _serve_forwarder(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here: the forwarder loads prometheus_client, which the services' processes must
    # import only after their metrics folder is set (clicktrail.servers.metrics_folder), and
    # `serve-ingestion` and `serve-api` run granian from this process.
    from forwarder import main as forwarder_main

    with ExitStack() as stack:
        if not settings.database_url:
            stack.enter_context(lock_data_dir(settings.data_dir, "forwarder"))
        url = _prepare_database(settings, stack, migrate=not args.no_migrate)
        forwarder_main.run(settings, url)
    return 0


def _graphiql_on_unless_set(settings: Settings) -> None:
    # Serving the embedded database is running on one's own machine, where GraphiQL is the
    # quickest way into the API. The apps read their settings from the environment.
    if settings.graphiql is None:
        os.environ["CLICKTRAIL_GRAPHIQL"] = "true"


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    started = time.monotonic()
    with ExitStack() as stack:
        _prepare_database(settings, stack, migrate=True)
    print(f"schema is up to date ({time.monotonic() - started:.2f} s)")
    return 0


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        # The embedded server is started (as any command would) but the schema is left alone.
        url = settings.database_url or stack.enter_context(start_embedded(settings.data_dir)).url
        findings = asyncio.run(diagnose(settings, url))
    return print_findings(findings)


def _create_workspace(args: argparse.Namespace, settings: Settings) -> int:
    async def create(session: AsyncSession) -> None:
        created = await create_workspace(
            session, name=args.name, timezone=args.timezone, currency=args.currency
        )
        await session.commit()
        print(f"workspace {created.workspace.id} ({created.workspace.name}) created")
        print(f"admin API key        : {created.admin_api_key}   (shown once; store it now)")
        print(f"GraphQL              : {API.url(settings)}/graphql")
        print(f"postback secret      : {created.postback_secret}")
        _print_templates(tracking_templates(ingestion_url(settings), created.postback_secret))

    _run_with_session(settings, create)
    return 0


def _create_campaign(args: argparse.Namespace, settings: Settings) -> int:
    cost_model, cost_value = CostModel.NONE, Decimal(0)
    if args.cpc is not None:
        cost_model, cost_value = CostModel.CPC, args.cpc
    elif args.cpm is not None:
        cost_model, cost_value = CostModel.CPM, args.cpm

    async def create(session: AsyncSession) -> None:
        created = await create_campaign(
            session,
            workspace_id=args.workspace,
            name=args.name,
            offer_url=args.offer_url,
            source_name=args.source,
            source_click_id_param=args.source_click_id_param,
            cost_model=cost_model,
            cost_value=cost_value,
            payout=args.payout,
        )
        await session.commit()
        print(f"campaign {created.campaign.id} ({created.campaign.name}) created")
        print(f"tracking link : {ingestion_url(settings)}/c/{created.campaign.key}?sub1={{sub1}}")

    _run_with_session(settings, create)
    return 0


def _rotate_secret(args: argparse.Namespace, settings: Settings) -> int:
    async def rotate(session: AsyncSession) -> None:
        secret = await rotate_postback_secret(
            session, workspace_id=args.workspace, grace=timedelta(hours=args.grace_hours)
        )
        await session.commit()
        print(f"new postback secret  : {secret}")
        print(f"the old one works for another {args.grace_hours:g} hours")
        _print_templates(tracking_templates(ingestion_url(settings), secret))

    _run_with_session(settings, rotate)
    return 0


def _templates(args: argparse.Namespace, settings: Settings) -> int:
    async def show(session: AsyncSession) -> None:
        secret = await active_postback_secret(session, args.workspace)
        if secret is None:
            raise WorkspaceInputError(f"workspace {args.workspace} does not exist")
        _print_templates(tracking_templates(ingestion_url(settings), secret))

    _run_with_session(settings, show)
    return 0


def _rebuild_rollups(args: argparse.Namespace, settings: Settings) -> int:
    async def rebuild(session: AsyncSession) -> None:
        if args.workspace is not None and await session.get(Workspace, args.workspace) is None:
            raise WorkspaceInputError(f"workspace {args.workspace} does not exist")
        if args.workspace is None:
            workspaces = await workspace_ids(await session.connection())
            await session.commit()
        else:
            workspaces = [args.workspace]
        rows, started = 0, time.monotonic()
        # One transaction per workspace: each one's writers wait only for its own recount.
        for index, workspace_id in enumerate(workspaces, 1):
            began = last = time.monotonic()

            def recounted(table: str, rows: int) -> None:
                nonlocal last
                # The tables are the steps of one workspace's rebuild; of many, the workspaces.
                if args.workspace is not None:
                    step(f"{table}: {rows:,} rows", since=last)
                last = time.monotonic()

            counted = await rebuild_rollups(
                await session.connection(), workspace_id=workspace_id, on_table=recounted
            )
            await session.commit()
            rows += counted
            step(
                f"workspace {workspace_id} ({index}/{len(workspaces)}): {counted:,} rows",
                since=began,
            )
        scope = "every workspace" if args.workspace is None else f"workspace {args.workspace}"
        print(f"rollups rebuilt for {scope}: {rows:,} rows in {time.monotonic() - started:.2f} s")

    _run_with_session(settings, rebuild)
    return 0


# Rejected rows printed after an upload; the rest are in the job's results (GraphQL
# `uploadResults`).
SHOWN_REJECTIONS = 50


def _upload_conversions(args: argparse.Namespace, settings: Settings) -> int:
    upload = _read_upload_file(args.file)

    async def run(session: AsyncSession) -> None:
        if await session.get(Workspace, args.workspace) is None:
            raise WorkspaceInputError(f"workspace {args.workspace} does not exist")
        # The rest runs on connections of its own: give the session's back to the pool.
        await session.rollback()
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        async with driver_connection(engine) as conn, conn.transaction():
            job = await store_upload(
                conn,
                workspace_id=args.workspace,
                filename=os.path.basename(args.file),
                upload=upload,
            )
        if job.created:
            print(f"job {job.id}: {job.total_rows:,} rows of {args.file} stored")
        else:
            print(f"{args.file} was uploaded before: job {job.id}, nothing stored again")
        bar = ProgressBar(job.total_rows, done=job.processed_rows)
        if not job.finished:
            ran = await process_job(
                engine,
                workspace_id=args.workspace,
                job_id=job.id,
                received_at=job.created_at,
                on_chunk=bar.advance,
            )
            if not ran:
                # Another process (an ingestion worker) holds the job: follow its progress.
                await _follow(engine, args.workspace, job.id, bar)
        bar.set(job.total_rows)
        bar.close()
        async with driver_connection(engine) as conn:
            done = await job_progress(conn, workspace_id=args.workspace, job_id=job.id)
            assert done is not None
            rejected = await rejected_rows(
                conn, workspace_id=args.workspace, job_id=job.id, limit=SHOWN_REJECTIONS
            )
        print(
            f"job {job.id}: {done.accepted:,} accepted, {done.updated:,} updated, "
            f"{done.duplicate:,} duplicate, {done.rejected:,} rejected"
        )
        for row in rejected:
            print(f"  line {row.line}: {row.reason}: {row.detail}")
        if done.rejected > len(rejected):
            print(f"  ... and {done.rejected - len(rejected):,} more rejected rows")

    _run_with_session(settings, run)
    return 0


def _update_costs(args: argparse.Namespace, settings: Settings) -> int:
    sub_number, sub_value = args.sub or (None, None)
    request = CostRequest(
        workspace_id=args.workspace,
        scope=ClickScope(
            campaign_id=args.campaign,
            starts_at=args.starts_at,
            ends_at=args.ends_at,
            traffic_source_id=args.source,
            country=args.country,
            sub_number=sub_number,
            sub_value=sub_value,
        ),
        mode=CostUpdateMode.TOTAL if args.total is not None else CostUpdateMode.PER_CLICK,
        amount=args.total if args.total is not None else args.per_click,
        currency=args.currency,
        request_id=args.request_id,
    )

    async def run(session: AsyncSession) -> None:
        if await session.get(Workspace, args.workspace) is None:
            raise WorkspaceInputError(f"workspace {args.workspace} does not exist")
        # The rest runs on connections of its own: give the session's back to the pool.
        await session.rollback()
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        async with driver_connection(engine) as conn:
            update = await take_cost_update(conn, request)
        if update.created:
            print(f"cost update {update.id}: {update.planned_clicks:,} clicks planned")
        else:
            print(f"request {args.request_id!r} was made before: cost update {update.id}")
        bar = ProgressBar(update.planned_clicks, done=update.clicks_touched)

        def advance(update_id: int, clicks: int) -> None:
            if update_id == update.id:
                bar.advance(clicks)

        if not update.finished:
            await apply_cost_updates(engine, workspace_id=args.workspace, on_batch=advance)
            # Done here, or another process (an ingestion worker, the requester still
            # planning a retried request) is at it: follow its progress.
            update = await _follow_costs(engine, args.workspace, update.id, bar)
        bar.close()
        async with driver_connection(engine) as conn:
            done = await cost_update_progress(
                conn, workspace_id=args.workspace, update_id=update.id
            )
        assert done is not None
        print(
            f"cost update {done.id}: {done.clicks_touched:,} clicks, their cost "
            f"{done.old_total} -> {done.new_total} (workspace currency)"
        )

    _run_with_session(settings, run)
    return 0


async def _follow_costs(
    engine: AsyncEngine, workspace_id: int, update_id: int, bar: ProgressBar
) -> CostUpdateProgress:
    while True:
        async with driver_connection(engine) as conn:
            update = await cost_update_progress(
                conn, workspace_id=workspace_id, update_id=update_id
            )
        if update is None:
            # The session that finished its plan found it refused (a total over no clicks).
            _fail(
                f"cost update {update_id} was refused once its clicks were counted: run the "
                "command again to see why"
            )
        bar.set(update.clicks_touched)
        if update.finished:
            return update
        await asyncio.sleep(FOLLOW_INTERVAL_S)


def _read_upload_file(path: str) -> UploadFile:
    try:
        size = os.stat(path).st_size
        if size > MAX_FILE_BYTES:
            raise UploadFileError(
                "file_too_large",
                f"the file is {size} bytes; at most {MAX_FILE_BYTES} are taken: split it",
            )
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    try:
        return read_upload(data)
    except UploadFileError as exc:
        _fail(f"{path}: {exc.message} ({exc.code})")


async def _follow(engine: AsyncEngine, workspace_id: int, job_id: int, bar: ProgressBar) -> None:
    while True:
        async with driver_connection(engine) as conn:
            job = await job_progress(conn, workspace_id=workspace_id, job_id=job_id)
        assert job is not None
        bar.set(job.processed_rows)
        if job.finished:
            return
        await asyncio.sleep(FOLLOW_INTERVAL_S)


def _print_templates(templates: TrackingTemplates) -> None:
    print(f"conversion postback  : {templates.postback_conversion}")
    print(f"transaction postback : {templates.postback_transaction}")
    print(f"conversion pixel     : {templates.pixel_conversion}")
    print(f"transaction pixel    : {templates.pixel_transaction}")
    print(f"transaction script   : {templates.pixel_script}")


def _run_with_session(
    settings: Settings, work: Callable[[AsyncSession], Coroutine[Any, Any, None]]
) -> None:
    async def run(url: str) -> None:
        engine = create_engine(url, settings, application_name="clicktrail-cli")
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                await work(session)
        finally:
            await engine.dispose()

    with ExitStack() as stack:
        asyncio.run(run(_prepare_database(settings, stack, migrate=True)))


def _prepare_database(settings: Settings, stack: ExitStack, *, migrate: bool) -> str:
    """The database's URL, checked and migrated; an embedded server is used until ``stack``
    closes."""
    url = settings.database_url or stack.enter_context(start_embedded(settings.data_dir)).url

    async def prepare() -> None:
        await check_database(url)
        if migrate:
            engine = create_engine(url, settings, application_name="clicktrail-migrate")
            try:
                distributed = await upgrade(
                    engine, months_ahead=settings.partitions_ahead_months, report=step
                )
            finally:
                await engine.dispose()
            # Once, on the migration that placed them on a Citus cluster.
            for distribution in distributed:
                print(f"citus: {distribution}")

    asyncio.run(prepare())
    return url
