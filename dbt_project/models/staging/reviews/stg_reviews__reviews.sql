with

-- read twice below (rank, then fetch the winners): not worth materialising every column
source as not materialized (

    select * from {{ source('reviews', 'reviews') }}

),

winning_versions as (

    -- a review is re-sent when a reply or resolution is added: the latest version wins,
    -- ties go to the later delivery, then the later line.
    -- Ranked on the key columns only, then joined back: a window carrying every column of
    -- millions of rows costs several times as much
    select
        _dt,
        _source_file,
        _row_number
    from source
    qualify
        row_number() over (
            partition by review_id
            order by updated_at desc, _dt desc, _row_number desc, _source_file desc
        ) = 1

),

latest_version as (

    select source.*
    from source
    inner join winning_versions
        on
            source._dt = winning_versions._dt
            and source._source_file = winning_versions._source_file
            and source._row_number = winning_versions._row_number

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
        {{ to_local_timestamp('updated_at') }} as updated_at

    from latest_version

)

select * from renamed
