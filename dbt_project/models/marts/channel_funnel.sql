{{ config(**monthly_mart('int_orders__enriched', 'created_month')) }}

{#- Incremental, a month at a time: the months whose orders changed since the last build
    (macros/incremental_months.sql). -#}

with

enriched_orders as (

    select * from {{ ref('int_orders__enriched') }}

),

month_digests as (

    {{ month_digests('enriched_orders', 'created_month', [
        'order_id', 'channel', 'is_paid', 'is_completed', 'is_refunded'
    ]) }}

),

months_to_recompute as (

    {{ months_to_recompute('month_digests') }}

),

orders as (

    select * from enriched_orders
    where created_month in (select months_to_recompute.month from months_to_recompute)

),

funnel as (

    select
        created_month as month,
        channel,
        count(*) as orders_created,
        count(case when is_paid then 1 end) as orders_paid,
        count(case when is_completed then 1 end) as orders_completed,
        count(case when is_refunded then 1 end) as orders_refunded
    from orders
    group by created_month, channel

),

final as (

    select
        funnel.month,
        funnel.channel,
        funnel.orders_created,
        funnel.orders_paid,
        funnel.orders_completed,
        funnel.orders_refunded,
        cast(funnel.orders_paid as double) / funnel.orders_created as paid_rate,
        cast(funnel.orders_completed as double) / nullif(funnel.orders_paid, 0) as completion_rate,
        month_digests.month_complete,
        month_digests.source_digest
    from funnel
    inner join month_digests
        on funnel.month = month_digests.month

)

select * from final
