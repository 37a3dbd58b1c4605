-- depends_on: {{ ref('int_orders__enriched') }}
{{
    config(
        tags=['run_date'],
        post_hook="{{ delete_buyers_gone() }}",
        **copy_on_write('user_id', 'buyer_partition')
    )
}}

{#- Incremental by buyer (macros/incremental_buyers.sql): the buyers whose orders changed, or
    whose year moved with the run date, are recomputed in every city; the others stand as
    built. -#}

with

{% if is_incremental() %}

changed_buyers as (

    {{ buyers_to_recompute() }}

),

{% endif %}

orders as (

    select * from {{ ref('int_orders__completed') }}
    {% if is_incremental() -%}
    where user_id in (select user_id from changed_buyers)
    {%- endif %}

),

age_bands as (

    select * from {{ ref('age_bands') }}

),

-- the persona describes the last 365 days, per buyer and clinic city
recent_orders as (

    select * from orders
    where completed_in_last_365_days

),

-- age and gender as of the buyer's latest completed order in the city
latest_order_in_city as (

    select
        user_id,
        clinic_city,
        buyer_gender,
        buyer_birth_year,
        age_at_completion
    from (
        select
            user_id,
            clinic_city,
            buyer_gender,
            buyer_birth_year,
            extract(year from completed_date) - buyer_birth_year as age_at_completion,
            row_number() over (
                partition by user_id, clinic_city
                order by completed_at desc, order_id desc
            ) as recency_rank
        from recent_orders
    ) as ranked
    where recency_rank = 1

),

aged as (

    select
        latest_order_in_city.user_id,
        latest_order_in_city.clinic_city,
        latest_order_in_city.buyer_gender,
        latest_order_in_city.age_at_completion,
        case
            when latest_order_in_city.buyer_birth_year is null then 'unknown'
            else coalesce(age_bands.age_band, 'unknown')
        end as age_band
    from latest_order_in_city
    left join age_bands
        -- an empty bound is open; the band without bounds is `unknown`, taken when no birth year
        on
            (age_bands.min_age is not null or age_bands.max_age is not null)
            and (age_bands.min_age is null or latest_order_in_city.age_at_completion >= age_bands.min_age)
            and (age_bands.max_age is null or latest_order_in_city.age_at_completion <= age_bands.max_age)

),

category_orders as (

    select
        user_id,
        clinic_city,
        category,
        count(*) as category_orders,
        sum(gmv_amount) as category_spend
    from recent_orders
    group by user_id, clinic_city, category

),

-- most completed orders in the city; ties go to the higher spend, then the category name
favourite_category as (

    select
        user_id,
        clinic_city,
        favourite_category
    from (
        select
            user_id,
            clinic_city,
            category as favourite_category,
            row_number() over (
                partition by user_id, clinic_city
                order by category_orders desc, category_spend desc, category asc
            ) as category_rank
        from category_orders
    ) as ranked
    where category_rank = 1

),

city_totals as (

    select
        user_id,
        clinic_city,
        count(*) as city_orders,
        sum(gmv_amount) as city_spend,
        count(case when channel = 'app' then 1 end) as orders_app,
        count(case when channel = 'mini_program' then 1 end) as orders_mini_program,
        count(case when channel = 'live_stream' then 1 end) as orders_live_stream,
        count(case when channel = 'video_consult' then 1 end) as orders_video_consult,
        count(case when channel = 'offline_referral' then 1 end) as orders_offline_referral
    from recent_orders
    group by user_id, clinic_city

),

final as (

    select
        city_totals.user_id,
        city_totals.clinic_city,
        aged.age_band,
        aged.age_at_completion,
        aged.buyer_gender,
        favourite_category.favourite_category,
        city_totals.city_orders,
        city_totals.city_spend,
        city_totals.orders_app,
        city_totals.orders_mini_program,
        city_totals.orders_live_stream,
        city_totals.orders_video_consult,
        city_totals.orders_offline_referral,
        {{ as_of_date() }} as built_as_of,
        {{ built_at() }} as built_at,
        -- the partition: last, as Spark keeps partition columns
        {{ buyer_partition('city_totals.user_id') }} as buyer_partition
    from city_totals
    inner join aged
        on
            city_totals.user_id = aged.user_id
            and city_totals.clinic_city is not distinct from aged.clinic_city
    inner join favourite_category
        on
            city_totals.user_id = favourite_category.user_id
            and city_totals.clinic_city is not distinct from favourite_category.clinic_city

),

buyer_cities as (

    {{ copy_on_write_buyers('final', 'changed_buyers') }}

)

select * from buyer_cities
