{{ config(tags=['run_date']) }}
{%- set max_days_behind = rule_parameter('GOV-12', 'max_days_behind') -%}
{%- set ratio_min = rule_parameter('GOV-12', 'volume_ratio_min') -%}
{%- set ratio_max = rule_parameter('GOV-12', 'volume_ratio_max') -%}
{%- set window_days = rule_parameter('GOV-12', 'volume_window_days') -%}
{%- set min_partitions = rule_parameter('GOV-12', 'volume_min_partitions') -%}

{#- GOV-12's facts: one row per feed, its newest complete partition and how far it lags the run
    date, and for orders the newest partition's volume against the median of the earlier
    partitions of the window before it, with the verdict and its reason. The numbers are the
    rule's parameters. -#}

-- a delivery to any feed changes these facts:
-- depends_on: {{ source('registry', 'institutions') }}
-- depends_on: {{ source('platform', 'clinics') }}
-- depends_on: {{ source('orders', 'orders') }}
-- depends_on: {{ source('reviews', 'reviews') }}


with

partition_loads as (

    select * from {{ source('audit', 'partition_loads') }}

),

-- every feed of the contract, delivered or not (a feed never loaded fails)
feeds as (

    {{ text_rows('feed', project_var('feeds')) }}

),

newest as (

    select
        feed,
        max(dt) as newest_dt
    from partition_loads
    group by feed

),

newest_orders as (

    select
        partition_loads.dt,
        partition_loads.rows_loaded
    from partition_loads
    inner join newest
        on
            partition_loads.feed = newest.feed
            and partition_loads.dt = newest.newest_dt
    where partition_loads.feed = 'orders'

),

earlier_orders as (

    select
        count(*) as earlier_partitions,
        percentile_cont(0.5) within group (order by partition_loads.rows_loaded) as median_rows
    from partition_loads
    inner join newest_orders
        on
            partition_loads.dt < newest_orders.dt
            and partition_loads.dt >= {{ dbt.dateadd('day', -window_days, 'newest_orders.dt') }}
    where partition_loads.feed = 'orders'

),

status as (

    select
        feeds.feed,
        newest.newest_dt,
        {{ dbt.datediff('newest.newest_dt', as_of_date(), 'day') }} as days_behind,  -- noqa: LT05
        case when feeds.feed = 'orders' then newest_orders.rows_loaded end as newest_rows,
        case when feeds.feed = 'orders' then earlier_orders.earlier_partitions end as earlier_partitions,
        case when feeds.feed = 'orders' then earlier_orders.median_rows end as median_rows,
        -- judged once enough earlier partitions exist; null = not judged
        case
            when
                feeds.feed = 'orders'
                and earlier_orders.earlier_partitions >= {{ min_partitions }}
                and earlier_orders.median_rows > 0
                then newest_orders.rows_loaded / earlier_orders.median_rows
        end as volume_ratio
    from feeds
    left join newest
        on feeds.feed = newest.feed
    left join newest_orders
        on feeds.feed = 'orders'
    left join earlier_orders
        on feeds.feed = 'orders'

),

final as (

    select
        *,
        case
            when newest_dt is null then 'no complete partition loaded'
            when days_behind > {{ max_days_behind }}
                then 'newest complete partition ' || cast(newest_dt as {{ dbt.type_string() }})
                    || ' is ' || cast(days_behind as {{ dbt.type_string() }}) || ' days before the run date'
            when volume_ratio < {{ ratio_min }} or volume_ratio > {{ ratio_max }}
                then 'newest orders partition ' || cast(newest_rows as {{ dbt.type_string() }})
                    || ' rows, ' || cast(round(volume_ratio * 100) as {{ dbt.type_string() }})
                    || '% of the median of the ' || cast(earlier_partitions as {{ dbt.type_string() }})
                    || ' partitions before it'
        end as freshness_reason
    from status

)

select
    feed,
    newest_dt,
    days_behind,
    newest_rows,
    earlier_partitions,
    median_rows,
    volume_ratio,
    freshness_reason is null as feed_healthy,
    freshness_reason
from final
