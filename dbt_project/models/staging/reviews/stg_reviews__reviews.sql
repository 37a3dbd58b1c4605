{{
    config(
        post_hook=[
            "{{ delete_keys_without_versions('review_id', source('reviews', 'reviews')) }}",
            "{{ delete_moved_rows('review_id') }}"
        ],
        **partition_overwrite('created_month')
    )
}}

{#- The review fact: one row per review in its latest version (a review is re-sent when a
    merchant reply or resolution is added), partitioned by the month the review was written
    (Asia/Shanghai). Incremental a month at a time, like stg_orders__orders: a build finds the
    reviews that a partition loaded since the last build touches (new, late and re-sent `_dt`s)
    and rewrites every month they were in or now are in (tests/transform/test_incremental.py). -#}

with

-- read more than once below: not worth materialising every column
source as {{ not_materialized() }} (

    select
        *,
        cast({{ dbt.date_trunc('month', to_local_timestamp('created_at')) }} as date) as version_month
    from {{ source('reviews', 'reviews') }}

),

{% if is_incremental() %}

-- the reviews whose latest version may have changed (macros/incremental_versions.sql)
changed_reviews as (

    {{ keys_to_rerank('review_id', 'source') }}

),

-- the months to rewrite: those the changed reviews are in now, and those any of their
-- versions falls in
months_to_rewrite as (

    {{ months_holding_keys('review_id', 'changed_reviews', 'source') }}

),

{% endif %}

-- every version of every review that is, or may now be, in a month to rewrite (all of them in
-- a full build)
versions as {{ not_materialized() }} (

    select * from source
    {% if is_incremental() -%}
    where review_id in ({{ keys_in_months('review_id', 'source', 'months_to_rewrite') }})
    {%- endif %}

),

winning_versions as (

    -- a review counts once, in its latest version; ties go to the later delivery, then the later line.
    -- Ranked on the key columns only, then joined back: a window carrying every column of
    -- millions of rows costs several times as much
    select
        _dt,
        _source_file,
        _row_number
    from (
        select
            _dt,
            _source_file,
            _row_number,
            row_number() over (
                partition by review_id
                order by updated_at desc, _dt desc, _row_number desc, _source_file desc
            ) as version_rank
        from versions
    ) as ranked
    where version_rank = 1

),

latest_version as (

    select versions.*
    from versions
    inner join winning_versions
        on
            versions._dt = winning_versions._dt
            and versions._source_file = winning_versions._source_file
            and versions._row_number = winning_versions._row_number

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

)

select * from renamed
{% if is_incremental() -%}
where created_month in (select created_month from months_to_rewrite)
{%- endif %}
