with

source as (

    select * from {{ source('registry', 'practitioners') }}

),

renamed as (

    select
        -- ids
        {{ trim_text('practitioner_license_no') }} as practitioner_license_no,
        {{ trim_text('primary_institution_license_no') }} as primary_institution_license_no,

        -- strings
        {{ clean_name('name') }} as practitioner_name,
        {{ trim_text('practice_category') }} as practice_category,
        {{ trim_text('practice_scope') }} as practice_scope,
        {{ trim_text('chief_specialty') }} as chief_specialty,
        {{ trim_text('status') }} as practitioner_status,

        -- booleans
        coalesce(is_chief_aesthetic_physician, false) as is_chief_aesthetic_physician,

        -- dates
        updated_on as status_updated_on,
        _dt as snapshot_date,

        -- delivery
        _row_number as snapshot_row_number

    from source

)

select * from renamed
