with

orders as (

    select * from {{ ref('int_orders__enriched') }}

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
        month,
        channel,
        orders_created,
        orders_paid,
        orders_completed,
        orders_refunded,
        cast(orders_paid as double) / orders_created as paid_rate,
        cast(orders_completed as double) / nullif(orders_paid, 0) as completion_rate
    from funnel

)

select * from final
