{{ config(tags=['run_date']) }}

with

orders as (

    select * from {{ ref('int_orders__enriched') }}

),

completed as (

    select
        *,
        -- run-date windows, defined once, each the days up to and including the as-of date: the
        -- diamond bar's finding window (GOV-18), the persona's 365 days (marts.md) and the
        -- verification pages' product usage (var verification_window_days)
        coalesce(
            completed_date > {{ dbt.dateadd('day', -rule_parameter('GOV-18', 'finding_window_days'), as_of_date()) }}
            and completed_date <= {{ as_of_date() }},
            false
        ) as completed_in_diamond_bar_window,
        coalesce(
            completed_date > {{ dbt.dateadd('day', -365, as_of_date()) }}
            and completed_date <= {{ as_of_date() }},
            false
        ) as completed_in_last_365_days,
        coalesce(
            completed_date > {{ dbt.dateadd('day', -var('verification_window_days'), as_of_date()) }}
            and completed_date <= {{ as_of_date() }},
            false
        ) as completed_in_verification_window

    from orders
    where is_completed

)

select * from completed
