"""Feeds land once a day; the daily run picks up every complete partition."""

import dagster as dg

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    target=dg.AssetSelection.all(),
    cron_schedule="30 6 * * *",
    execution_timezone="Asia/Shanghai",
)
