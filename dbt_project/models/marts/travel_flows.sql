{{ config(**monthly_mart('int_orders__completed', 'completed_month')) }}

{#- Incremental, a month at a time: the months whose orders changed since the last build
    (macros/incremental_months.sql). -#}

with

completed_orders as (

    select * from {{ ref('int_orders__completed') }}

),

month_digests as (

    {{ month_digests('completed_orders', 'completed_month', [
        'order_id', 'user_id', 'buyer_city', 'clinic_city', 'gmv_amount', 'is_traveller'
    ]) }}

),

months_to_recompute as (

    {{ months_to_recompute('month_digests') }}

),

orders as (

    select * from completed_orders
    where completed_month in (select months_to_recompute.month from months_to_recompute)

),

flows as (

    select
        completed_month as month,
        buyer_city,
        clinic_city,
        count(distinct user_id) as travelling_buyers,
        count(*) as orders,
        sum(gmv_amount) as gmv
    from orders
    where is_traveller
    group by completed_month, buyer_city, clinic_city

),

final as (

    select
        flows.*,
        month_digests.month_complete,
        month_digests.source_digest
    from flows
    inner join month_digests
        on flows.month = month_digests.month

)

select * from final
