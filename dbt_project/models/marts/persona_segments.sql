{%- set min_buyers = rule_parameter('GOV-13', 'min_buyers') -%}

with

buyer_cities as (

    select * from {{ ref('int_buyer_cities__profile') }}

),

buyers as (

    select * from {{ ref('int_buyers__spend') }}

),

cities as (

    select * from {{ ref('cities') }}

),

profiles as (

    select
        buyer_cities.clinic_city as city,
        buyer_cities.age_band,
        buyer_cities.buyer_gender as gender,
        buyers.spend_tier,
        buyer_cities.favourite_category,
        buyers.is_repeat_buyer,
        buyer_cities.city_orders,
        buyer_cities.city_spend,
        buyer_cities.orders_app,
        buyer_cities.orders_mini_program,
        buyer_cities.orders_live_stream,
        buyer_cities.orders_video_consult,
        buyer_cities.orders_offline_referral
    from buyer_cities
    inner join buyers
        on buyer_cities.user_id = buyers.user_id

),

-- every buyer in its full cell first: 3M buyers at L become a few thousand cells, and the
-- GOV-13 merge below works on those (a window over every buyer took 1.7 s at L, this 0.8 s)
cells as (

    select
        city,
        age_band,
        gender,
        spend_tier,
        favourite_category,
        count(*) as buyers,
        sum(city_orders) as orders,
        sum(city_spend) as spend,
        count(case when is_repeat_buyer then 1 end) as repeat_buyers,
        sum(orders_app) as orders_app,
        sum(orders_mini_program) as orders_mini_program,
        sum(orders_live_stream) as orders_live_stream,
        sum(orders_video_consult) as orders_video_consult,
        sum(orders_offline_referral) as orders_offline_referral
    from profiles
    group by city, age_band, gender, spend_tier, favourite_category

),

-- GOV-13: a cell under {{ min_buyers }} buyers is merged into one row per city
merged_cells as (

    select
        city,
        case when buyers >= {{ min_buyers }} then age_band else 'merged' end as age_band,
        case when buyers >= {{ min_buyers }} then gender else 'merged' end as gender,
        case when buyers >= {{ min_buyers }} then spend_tier else 'merged' end as spend_tier,
        case
            when buyers >= {{ min_buyers }} then favourite_category else 'merged'
        end as favourite_category,
        buyers,
        orders,
        spend,
        repeat_buyers,
        orders_app,
        orders_mini_program,
        orders_live_stream,
        orders_video_consult,
        orders_offline_referral
    from cells

),

aggregated as (

    select
        city,
        age_band,
        gender,
        spend_tier,
        favourite_category,
        cast(sum(buyers) as bigint) as buyers,
        sum(orders) as orders,
        sum(spend) as spend,
        sum(repeat_buyers) as repeat_buyers,
        sum(orders_app) as orders_app,
        sum(orders_mini_program) as orders_mini_program,
        sum(orders_live_stream) as orders_live_stream,
        sum(orders_video_consult) as orders_video_consult,
        sum(orders_offline_referral) as orders_offline_referral
    from merged_cells
    group by city, age_band, gender, spend_tier, favourite_category

),

final as (

    select
        aggregated.city,
        cities.province,
        aggregated.age_band,
        aggregated.gender,
        aggregated.spend_tier,
        aggregated.favourite_category,
        aggregated.buyers,
        cast(aggregated.orders as bigint) as orders,
        {{ mean_to_cent('aggregated.spend', 'aggregated.buyers') }} as avg_spend_per_buyer,
        cast(aggregated.repeat_buyers as double) / aggregated.buyers as repeat_buyer_rate,
        cast(aggregated.orders_app as double) / aggregated.orders as share_app,
        cast(aggregated.orders_mini_program as double) / aggregated.orders as share_mini_program,
        cast(aggregated.orders_live_stream as double) / aggregated.orders as share_live_stream,
        cast(aggregated.orders_video_consult as double) / aggregated.orders as share_video_consult,
        cast(aggregated.orders_offline_referral as double) / aggregated.orders as share_offline_referral
    from aggregated
    left join cities
        on aggregated.city = cities.city
    -- a merged row that still describes too few buyers is dropped
    where aggregated.buyers >= {{ min_buyers }}

)

select * from final
