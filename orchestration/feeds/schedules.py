"""Every morning the marts are rebuilt, checked and published for the new run date,
even when no feed delivered (freshness is judged against the date, GOV-12)."""

import dagster as dg

from orchestration.jobs import build_and_publish_job

daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=build_and_publish_job,
    cron_schedule="30 6 * * *",
    execution_timezone="Asia/Shanghai",
)
