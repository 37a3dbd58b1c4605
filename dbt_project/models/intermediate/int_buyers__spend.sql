-- depends_on: {{ ref('int_orders__enriched') }}
{{
    config(
        tags=['run_date'],
        post_hook="{{ delete_buyers_gone() }}",
        **copy_on_write('user_id', 'buyer_partition')
    )
}}

{#- Incremental by buyer, as the persona profile (macros/incremental_buyers.sql). -#}

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

spend_tiers as (

    select * from {{ ref('spend_tiers') }}

),

-- persona population: buyers with a completed order in the 365 days up to the as-of date
buyer_totals as (

    select
        user_id,
        count(*) as completed_orders_365d,
        sum(gmv_amount) as spend_365d
    from orders
    where completed_in_last_365_days
    group by user_id

),

tiered as (

    select
        buyer_totals.user_id,
        buyer_totals.completed_orders_365d,
        buyer_totals.spend_365d,
        spend_tiers.spend_tier,
        spend_tiers.sort_order as spend_tier_sort_order,
        buyer_totals.completed_orders_365d >= 2 as is_repeat_buyer,
        {{ as_of_date() }} as built_as_of,
        {{ built_at() }} as built_at,
        -- the partition: last, as Spark keeps partition columns
        {{ buyer_partition('buyer_totals.user_id') }} as buyer_partition
    from buyer_totals
    left join spend_tiers
        on
            buyer_totals.spend_365d >= spend_tiers.min_cny
            and (spend_tiers.max_cny is null or buyer_totals.spend_365d < spend_tiers.max_cny)

),

buyers as (

    {{ copy_on_write_buyers('tiered', 'changed_buyers') }}

)

select * from buyers
