{{ config(**monthly_mart('int_orders__completed', 'completed_month')) }}

{#- Incremental, a month at a time: the months whose completed orders changed since the last
    build, and the month after and the month a year after each (their growth compares with
    it); macros/incremental_months.sql. -#}

with

completed_orders as (

    select * from {{ ref('int_orders__completed') }}

),

month_digests as (

    {{ month_digests('completed_orders', 'completed_month', [
        'order_id', 'user_id', 'clinic_city', 'procedure_code', 'gmv_amount', 'is_traveller'
    ]) }}

),

months_to_recompute as (

    {{ months_to_recompute('month_digests', months_after=[1, 12]) }}

),

-- the months recomputed and the months their growth compares with
months_read as (

    select month from months_to_recompute

    union

    select cast({{ dbt.dateadd('month', -1, 'month') }} as date) from months_to_recompute

    union

    select cast({{ dbt.dateadd('month', -12, 'month') }} as date) from months_to_recompute

),

orders as (

    select * from completed_orders
    where completed_month in (select months_read.month from months_read)

),

procedures as (

    select * from {{ ref('procedures') }}

),

cities as (

    select * from {{ ref('cities') }}

),

monthly as (

    select
        completed_month as month,
        clinic_city as city,
        procedure_code,
        count(*) as orders,
        count(distinct user_id) as buyers,
        sum(gmv_amount) as gmv,
        count(case when is_traveller then 1 end) as traveller_orders
    from orders
    group by completed_month, clinic_city, procedure_code

),

marked as (

    select
        monthly.*,
        month_digests.month_complete
    from monthly
    inner join month_digests
        on monthly.month = month_digests.month

),

-- growth compares with the row of the shifted month itself (not lag()), so a month without
-- sales in between gives no growth instead of comparing with an older month; and only complete
-- months with each other (marts.md): a month the deliveries cover in part has no growth, nor has
-- a month compared with one
with_growth as (

    select
        monthly.month,
        monthly.city,
        monthly.procedure_code,
        monthly.orders,
        monthly.buyers,
        monthly.gmv,
        monthly.traveller_orders,
        monthly.month_complete,
        -- rates in doubles on both engines (Spark would divide the decimals in decimals)
        case
            when monthly.month_complete and previous_month.month_complete
                then cast(monthly.gmv - previous_month.gmv as double) / nullif(previous_month.gmv, 0)
        end as gmv_mom_growth,
        case
            when monthly.month_complete and previous_year.month_complete
                then cast(monthly.gmv - previous_year.gmv as double) / nullif(previous_year.gmv, 0)
        end as gmv_yoy_growth
    from marked as monthly
    left join marked as previous_month
        on
            monthly.city = previous_month.city
            and monthly.procedure_code = previous_month.procedure_code
            and cast({{ dbt.dateadd('month', -1, 'monthly.month') }} as date) = previous_month.month
    left join marked as previous_year
        on
            monthly.city = previous_year.city
            and monthly.procedure_code = previous_year.procedure_code
            and cast({{ dbt.dateadd('month', -12, 'monthly.month') }} as date) = previous_year.month

),

final as (

    select
        with_growth.month,
        with_growth.city,
        cities.province,
        with_growth.procedure_code,
        procedures.procedure_name,
        procedures.category,
        with_growth.orders,
        with_growth.buyers,
        with_growth.gmv,
        {{ mean_to_cent('with_growth.gmv', 'with_growth.orders') }} as avg_paid,
        cast(with_growth.gmv_mom_growth as double) as gmv_mom_growth,
        cast(with_growth.gmv_yoy_growth as double) as gmv_yoy_growth,
        with_growth.traveller_orders,
        cast(with_growth.traveller_orders as double) / with_growth.orders as traveller_share,
        with_growth.month_complete,
        month_digests.source_digest
    from with_growth
    inner join month_digests
        on with_growth.month = month_digests.month
    left join procedures
        on with_growth.procedure_code = procedures.procedure_code
    left join cities
        on with_growth.city = cities.city
    where with_growth.month in (select months_to_recompute.month from months_to_recompute)

)

select * from final
