{{ config(tags=['run_date']) }}

{#- Which months the orders deliveries cover whole (marts.md): a month is complete when its first
    day is on or after the first loaded orders partition, and its last day is before the run date
    and on or before the newest loaded orders partition. Every month-grain mart carries the flag
    (macros/incremental_months.sql, month_digests) and compares growth between complete months
    only. A month without a loaded partition is not listed: the marts read it as incomplete. -#}

-- a delivery of orders moves the newest partition:
-- depends_on: {{ source('orders', 'orders') }}

with

partition_loads as (

    select * from {{ source('audit', 'partition_loads') }}

),

orders_partitions as (

    select dt
    from partition_loads
    where feed = 'orders'

),

bounds as (

    select
        min(dt) as first_dt,
        max(dt) as newest_dt
    from orders_partitions

),

months as (

    select distinct cast({{ dbt.date_trunc('month', 'dt') }} as date) as month
    from orders_partitions

),

coverage as (

    select
        months.month,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1, 'months.month')) }} as date) as last_day,
        bounds.first_dt,
        bounds.newest_dt
    from months
    cross join bounds

),

final as (

    select
        month,
        month >= first_dt
        and last_day < {{ as_of_date() }}
        and last_day <= newest_dt as month_complete
    from coverage

)

select * from final
