{%- set review_window_days = rule_parameter('GOV-06', 'review_window_days') -%}
{%- set min_receipts = rule_parameter('GOV-06', 'min_receipts') -%}
{{
    config(
        post_hook="{{ delete_emptied_months(ref('stg_reviews__reviews'), 'created_month') }}",
        **partition_overwrite('created_month')
    )
}}

{#- GOV-06 and GOV-07 facts, one row per review. Incremental a month at a time: the months whose
    GOV-07 flags were judged again, and those of the reviews whose order was rewritten (a late
    completion, a re-sent or withdrawn order). -#}

{%- set order_unknown = 'order unknown' %}

with

{% if is_incremental() %}

months_to_judge as (

    {{ months_rebuilt_in(ref('int_reviews__manipulation'), 'created_month') }}

    union

    select created_month from {{ this }}
    where
        order_id in (
            select order_id from {{ ref('int_orders__enriched') }}
            where built_at > {{ last_built_at() }}
        )
        -- the order it was judged against is gone
        or (
            coalesce(verification_reason, '') != '{{ order_unknown }}'
            and order_id not in (
                select order_id from {{ ref('int_orders__enriched') }}
            )
        )

),

{% endif %}

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}
    {% if is_incremental() -%}
    where created_month in (select created_month from months_to_judge)
    {%- endif %}

),

orders as (

    select * from {{ ref('int_orders__enriched') }}

),

manipulation as (

    select * from {{ ref('int_reviews__manipulation') }}
    {% if is_incremental() -%}
    where created_month in (select created_month from months_to_judge)
    {%- endif %}

),

-- GOV-06: the first failing condition, in the order of docs/rules.md; null = verified
verification as (

    select
        reviews.review_id,
        case
            when orders.order_id is null then '{{ order_unknown }}'
            when orders.user_id != reviews.user_id then 'order belongs to another user'
            when orders.clinic_id != reviews.clinic_id then 'order belongs to another clinic'
            when not orders.is_completed then 'order not completed (' || orders.order_status || ')'
            when orders.completed_at is null or reviews.created_at <= orders.completed_at
                then 'written before the procedure was completed'
            when reviews.created_at > {{ dbt.dateadd('day', review_window_days, 'orders.completed_at') }}
                then 'written more than {{ review_window_days }} days after completion'
            when reviews.receipt_count < {{ min_receipts }} then 'no receipt attached'
        end as verification_reason
    from reviews
    left join orders
        on reviews.order_id = orders.order_id

),

final as (

    select
        reviews.review_id,
        reviews.order_id,
        reviews.user_id,
        reviews.clinic_id,
        reviews.created_at,
        reviews.created_date,
        verification.verification_reason is null as review_verified,
        verification.verification_reason,
        manipulation.manipulation_flagged,
        manipulation.manipulation_reason,
        -- the one definition of a verified review, the only kind that counts in scores
        verification.verification_reason is null and not manipulation.manipulation_flagged as counts_in_scores,
        reviews.score_doctor,
        reviews.score_process,
        reviews.score_environment,
        reviews.score_effect_match,
        reviews.score_value,
        -- mean of the scores the reviewer gave
        (
            coalesce(reviews.score_doctor, 0) + coalesce(reviews.score_process, 0)
            + coalesce(reviews.score_environment, 0) + coalesce(reviews.score_effect_match, 0)
            + coalesce(reviews.score_value, 0)
        ) / nullif(
            case when reviews.score_doctor is null then 0 else 1 end
            + case when reviews.score_process is null then 0 else 1 end
            + case when reviews.score_environment is null then 0 else 1 end
            + case when reviews.score_effect_match is null then 0 else 1 end
            + case when reviews.score_value is null then 0 else 1 end,
            0
        ) as score_overall,
        reviews.is_complaint,
        {{ built_at() }} as built_at,
        reviews.created_month
    from reviews
    inner join verification
        on reviews.review_id = verification.review_id
    inner join manipulation
        on reviews.review_id = manipulation.review_id

)

select * from final
