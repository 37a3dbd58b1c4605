{{ config(**monthly_mart('int_orders__completed', 'completed_month')) }}

{#- Incremental, a month at a time: the months whose orders changed since the last build
    (macros/incremental_months.sql). -#}

with

completed_orders as (

    select * from {{ ref('int_orders__completed') }}

),

month_digests as (

    {{ month_digests('completed_orders', 'completed_month', [
        'order_id', 'clinic_city', 'procedure_code', 'paid_amount'
    ]) }}

),

months_to_recompute as (

    {{ months_to_recompute('month_digests') }}

),

orders as (

    select * from completed_orders
    where completed_month in (select months_to_recompute.month from months_to_recompute)

),

procedures as (

    select * from {{ ref('procedures') }}

),

-- percentiles rounded to the cent alike on both engines (macros/amounts.sql)
city_prices as (

    select
        completed_month as month,
        clinic_city as city,
        procedure_code,
        count(*) as orders,
        {{ percentile_to_cent(0.5, 'paid_amount') }} as median_paid,
        {{ percentile_to_cent(0.25, 'paid_amount') }} as p25_paid,
        {{ percentile_to_cent(0.75, 'paid_amount') }} as p75_paid
    from orders
    group by completed_month, clinic_city, procedure_code

),

national_prices as (

    select
        completed_month as month,
        procedure_code,
        {{ percentile_to_cent(0.5, 'paid_amount') }} as national_median_paid
    from orders
    group by completed_month, procedure_code

),

final as (

    select
        city_prices.month,
        city_prices.city,
        city_prices.procedure_code,
        procedures.procedure_name,
        procedures.category,
        city_prices.orders,
        city_prices.median_paid,
        city_prices.p25_paid,
        city_prices.p75_paid,
        national_prices.national_median_paid,
        month_digests.month_complete,
        month_digests.source_digest
    from city_prices
    inner join month_digests
        on city_prices.month = month_digests.month
    left join national_prices
        on
            city_prices.month = national_prices.month
            and city_prices.procedure_code = national_prices.procedure_code
    left join procedures
        on city_prices.procedure_code = procedures.procedure_code

)

select * from final
