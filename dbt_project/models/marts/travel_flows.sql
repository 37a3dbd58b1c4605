with

orders as (

    select * from {{ ref('int_orders__completed') }}

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

)

select * from flows
