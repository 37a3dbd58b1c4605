{{
    config(
        tags=['run_date'],
        post_hook=[
            "{{ delete_rows(\"review_id not in (select review_id from \" ~ ref('stg_reviews__reviews') ~ \" where is_complaint)\") }}",
            "{{ delete_moved_rows('review_id') }}"
        ],
        **partition_overwrite('created_month')
    )
}}

{#- GOV-09 facts, one row per complaint. Incremental a month at a time: the months the review
    fact rewrote, and those holding a complaint whose judgement depends on the run date (no reply
    and a deadline not yet passed at the run date of the last build, or passed at the last build
    but not at this run date): the only rows a later run date can change. A month rewrite
    replaces the complaints it writes: the post-hooks remove one withdrawn (or no longer a
    complaint) from a month left without any, and the old row of one moved to another month. -#}

{%- set reply_within_hours = rule_parameter('GOV-09', 'reply_within_hours') -%}

with

{% if is_incremental() %}

months_to_judge as (

    {{ months_rebuilt_in(ref('stg_reviews__reviews'), 'created_month') }}

    union

    select created_month from {{ this }}
    where merchant_reply_at is null
        and (replied_in_time is null or reply_deadline >= {{ end_of_as_of_date() }})

),

{% endif %}

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}
    {% if is_incremental() -%}
    where created_month in (select created_month from months_to_judge)
    {%- endif %}

),

complaints as (

    select
        review_id,
        clinic_id,
        complaint_type,
        created_at,
        merchant_reply_at,
        {{ dbt.dateadd('hour', reply_within_hours, 'created_at') }} as reply_deadline,
        -- minutes, so that a reply 30 minutes past a whole hour reads x.5 hours (a double on
        -- both engines: Spark divides by 60.0 in decimals)
        cast({{ dbt.datediff('created_at', 'merchant_reply_at', 'minute') }} as double) / 60  -- noqa: LT05
            as hours_to_reply,
        resolved_at,
        cast({{ dbt.datediff('created_at', 'resolved_at', 'minute') }} as double) / 60  -- noqa: LT05
            as hours_to_resolve,
        created_month
    from reviews
    where is_complaint

),

judged as (

    select
        review_id,
        clinic_id,
        complaint_type,
        created_at,
        merchant_reply_at,
        reply_deadline,
        hours_to_reply,
        resolved_at,
        hours_to_resolve,
        -- GOV-09, decided once; null while a complaint without reply is still in time at the end
        -- of the run date (neither a finding nor a reply in time)
        case
            when merchant_reply_at is not null then merchant_reply_at <= reply_deadline
            when reply_deadline < {{ end_of_as_of_date() }} then false
        end as replied_in_time,
        created_month
    from complaints

),

explained as (

    select
        review_id,
        clinic_id,
        complaint_type,
        created_at,
        merchant_reply_at,
        reply_deadline,
        replied_in_time,
        resolved_at,
        hours_to_resolve,
        case
            when not replied_in_time and merchant_reply_at is not null
                then 'replied ' || cast(round(hours_to_reply, 1) as string) || ' hours after the complaint'
            when not replied_in_time
                then 'no reply within {{ reply_within_hours }} hours'
        end as reply_reason,
        {{ built_at() }} as built_at,
        created_month
    from judged

)

select * from explained
