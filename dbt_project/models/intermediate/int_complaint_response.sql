{{ config(tags=['run_date']) }}

with

reviews as (

    select * from {{ ref('stg_reviews__reviews') }}

),

complaints as (

    select
        review_id,
        clinic_id,
        complaint_type,
        created_at,
        merchant_reply_at,
        {{ dbt.dateadd('hour', 48, 'created_at') }} as reply_deadline,
        -- minutes, so that a reply 48 h 30 min later reads 48.5 hours
        {{ dbt.datediff('created_at', 'merchant_reply_at', 'minute') }}
        / 60.0 as hours_to_reply
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
        -- null while a complaint without reply is still inside its 48 hours at the end of the run date
        case
            when merchant_reply_at is not null then merchant_reply_at <= reply_deadline
            when reply_deadline < {{ end_of_as_of_date() }} then false
        end as replied_within_48h,
        -- GOV-09; null = passes (replied in time, or still in time)
        case
            when merchant_reply_at > reply_deadline
                then 'replied ' || cast(round(hours_to_reply, 1) as varchar) || ' hours after the complaint'
            when merchant_reply_at is null and reply_deadline < {{ end_of_as_of_date() }}
                then 'no reply within 48 hours'
        end as reply_reason
    from complaints

)

select * from judged
