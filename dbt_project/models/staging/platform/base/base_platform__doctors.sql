with

source as (

    select * from {{ source('platform', 'doctors') }}

),

renamed as (

    select
        -- ids
        doctor_id,
        clinic_id,
        {{ trim_text('practitioner_license_no') }} as practitioner_license_no,

        -- strings
        {{ clean_name('name') }} as doctor_name,
        title,

        -- numerics
        years_experience,
        case_count,

        -- booleans
        -- not declared is not a chief consultant
        coalesce(is_chief_consultant, false) as is_chief_consultant,

        -- dates
        _dt as snapshot_date,

        -- timestamps
        {{ to_local_timestamp('updated_at') }} as updated_at,

        -- delivery
        _row_number as snapshot_row_number

    from source

)

select * from renamed
