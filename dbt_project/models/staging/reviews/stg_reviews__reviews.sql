{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='review_id',
        on_schema_change='fail',
        post_hook="{{ delete_keys_without_versions('review_id', source('reviews', 'reviews')) }}"
    )
}}

{#- The review fact: one row per review in its latest version (a review is re-sent when a
    merchant reply or resolution is added). Incremental, like stg_orders__orders: a build reads
    only the partitions delivered since the last one (new, late and re-sent `_dt`s) and re-ranks
    every delivered version of the reviews they touch (tests/transform/test_incremental.py). -#}

with

-- read more than once below: not worth materialising every column
source as not materialized (

    select * from {{ source('reviews', 'reviews') }}

),

-- the versions to rank: every one in a full build; in an incremental build only those of the
-- reviews a partition loaded since the last build touches (macros/incremental_versions.sql)
versions as not materialized (

    select * from source
    {% if is_incremental() -%}
    where review_id in ({{ keys_to_rerank('review_id', 'source') }})
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
    from versions
    qualify
        row_number() over (
            partition by review_id
            order by updated_at desc, _dt desc, _row_number desc, _source_file desc
        ) = 1

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
        _dt as delivered_on,

        -- timestamps
        {{ to_local_timestamp('created_at') }} as created_at,
        {{ to_local_timestamp('merchant_reply_at') }} as merchant_reply_at,
        {{ to_local_timestamp('resolved_at') }} as resolved_at,
        {{ to_local_timestamp('updated_at') }} as updated_at,
        -- the instant the winning version was loaded: the high-water mark of incremental builds
        _loaded_at as loaded_at

    from latest_version

)

select * from renamed
