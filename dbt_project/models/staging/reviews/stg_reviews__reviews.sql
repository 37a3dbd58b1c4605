{{
    config(
        post_hook="{{ delete_withdrawn_versions(source('reviews', 'reviews')) }}",
        **copy_on_write('review_id')
    )
}}

{#- The review fact: one row per review in its latest version (a review is re-sent when a
    merchant reply or resolution is added), partitioned by the month the review was written
    (Asia/Shanghai). Incremental copy-on-write, like stg_orders__orders: a build ranks the
    versions of the reviews that a partition loaded since the last build touches (new, late
    and re-sent `_dt`s) and writes their new winners (on Spark every month they were in or now
    are in)
    (tests/transform/test_incremental.py). -#}

with

-- read more than once below: not worth materialising every column
source as {{ not_materialized() }} (

    select * from {{ source('reviews', 'reviews') }}

),

{% if is_incremental() %}

-- the reviews whose latest version may have changed (macros/incremental_versions.sql)
changed_reviews as (

    {{ keys_to_rerank('review_id', 'source') }}

),

{% endif %}

-- every version of every review whose winner may have changed (all of them in a full build)
versions as {{ not_materialized() }} (

    select * from source
    {% if is_incremental() -%}
    where review_id in (select review_id from changed_reviews)
    {%- endif %}

),

latest_version as (

    {{ winning_versions('versions', 'review_id') }}

),

renamed as (

    select
        -- ids
        review_id,
        order_id,
        user_id,
        clinic_id,
        ip_hash,
        device_id_hash,

        -- strings
        {{ trim_text('text') }} as review_text,
        complaint_type,

        -- numerics
        score_doctor,
        score_process,
        score_environment,
        score_effect_match,
        score_value,
        receipt_count,
        photo_count,

        -- booleans
        coalesce(is_complaint, false) as is_complaint,

        -- dates
        cast({{ to_local_timestamp('created_at') }} as date) as created_date,
        cast({{ dbt.date_trunc('month', to_local_timestamp('created_at')) }} as date) as created_month,
        _dt as delivered_on,

        -- timestamps
        {{ to_local_timestamp('created_at') }} as created_at,
        {{ to_local_timestamp('merchant_reply_at') }} as merchant_reply_at,
        {{ to_local_timestamp('resolved_at') }} as resolved_at,
        {{ to_local_timestamp('updated_at') }} as updated_at,
        -- the instant the winning version was loaded: the high-water mark of incremental builds
        _loaded_at as loaded_at,
        -- the build that wrote the row: the high-water mark of the models built on this one
        {{ built_at() }} as built_at

    from latest_version

),

-- the months the changed reviews are in or were in: their rows plus the untouched ones as built
review_months as (

    {{ copy_on_write_months('renamed', 'review_id', 'changed_reviews') }}

)

select * from review_months
