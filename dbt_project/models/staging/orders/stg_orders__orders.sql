with

-- read twice below (rank, then fetch the winners): not worth materialising every column
source as not materialized (

    select * from {{ source('orders', 'orders') }}

),

winning_versions as (

    -- an order counts once, in its latest version; ties go to the later delivery, then the later row.
    -- Ranked on the key columns only, then joined back: a window carrying every column of
    -- millions of rows costs several times as much
    select
        _dt,
        _source_file,
        _row_number
    from source
    qualify
        row_number() over (
            partition by order_id
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
        order_id,
        user_id,
        buyer_phone_hash,
        clinic_id,
        doctor_id,
        procedure_code,
        {{ trim_text('product_registration_no') }} as product_registration_no,
        {{ trim_text('device_serial') }} as device_serial,
        payment_txn_id,

        -- strings
        -- an undeclared gender is reported like the explicit "unknown"
        coalesce(buyer_gender, 'U') as buyer_gender,
        {{ trim_text('buyer_city') }} as buyer_city,
        channel,
        status as order_status,
        fee_items as fee_items_json,

        -- numerics
        buyer_birth_year,
        list_price,
        paid_amount,

        -- booleans
        status = 'completed' as is_completed,
        paid_at is not null as is_paid,
        status = 'refunded' as is_refunded,
        status = 'cancelled' as is_cancelled,

        -- dates
        cast({{ to_local_timestamp('created_at') }} as date) as created_date,
        cast({{ dbt.date_trunc('month', to_local_timestamp('created_at')) }} as date) as created_month,
        cast({{ to_local_timestamp('completed_at') }} as date) as completed_date,
        cast({{ dbt.date_trunc('month', to_local_timestamp('completed_at')) }} as date) as completed_month,
        _dt as delivered_on,

        -- timestamps
        {{ to_local_timestamp('created_at') }} as created_at,
        {{ to_local_timestamp('paid_at') }} as paid_at,
        {{ to_local_timestamp('completed_at') }} as completed_at,
        {{ to_local_timestamp('updated_at') }} as updated_at

    from latest_version

)

select * from renamed
