with

source as (

    select * from {{ source('platform', 'clinics') }}

),

renamed as (

    select
        -- ids
        clinic_id,
        {{ trim_text('license_no') }} as license_no,

        -- strings
        {{ clean_name('name') }} as clinic_name,
        {{ trim_text('city') }} as city,
        {{ clean_name('district') }} as district,
        {{ clean_name('address') }} as address,
        clinic_type,
        declared_departments,
        tier,
        platform_status,

        -- booleans
        platform_status = 'active' as is_active,

        -- dates
        joined_at as joined_on,
        _dt as snapshot_date,

        -- timestamps
        {{ to_local_timestamp('updated_at') }} as updated_at,

        -- delivery
        _row_number as snapshot_row_number

    from source

)

select * from renamed
