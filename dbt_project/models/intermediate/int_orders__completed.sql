{{ config(tags=['run_date']) }}

with

orders as (

    select * from {{ ref('int_orders__enriched') }}

),

completed as (

    select
        *,
        -- run-date windows, defined once: the 90 (365) days up to and including the as-of date
        coalesce(
            completed_date > {{ dbt.dateadd('day', -90, as_of_date()) }}
            and completed_date <= {{ as_of_date() }},
            false
        ) as completed_in_last_90_days,
        coalesce(
            completed_date > {{ dbt.dateadd('day', -365, as_of_date()) }}
            and completed_date <= {{ as_of_date() }},
            false
        ) as completed_in_last_365_days

    from orders
    where is_completed

)

select * from completed
