with

source as (

    select * from {{ source('registry', 'institutions') }}

),

renamed as (

    select
        -- ids
        {{ trim_text('license_no') }} as license_no,

        -- strings
        {{ clean_name('institution_name') }} as institution_name,
        {{ trim_text('city') }} as city,
        {{ clean_name('address') }} as address,
        -- split into departments in int_institutions__approved_departments
        approved_departments,
        {{ trim_text('status') }} as licence_status,

        -- dates
        valid_from,
        valid_to,
        updated_on as status_updated_on,
        _dt as snapshot_date,

        -- delivery
        _row_number as snapshot_row_number

    from source

)

select * from renamed
