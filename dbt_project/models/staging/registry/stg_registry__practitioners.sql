with

source as (

    select * from {{ source('registry', 'practitioners') }}

),

latest_delivery as (

    select max(_dt) as latest_dt from source

),

latest_snapshot as (

    select source.*
    from source
    inner join latest_delivery
        on source._dt = latest_delivery.latest_dt
    qualify
        row_number() over (
            partition by source.practitioner_license_no
            order by source.updated_on desc nulls last, source._row_number desc
        ) = 1

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
        status as practitioner_status,

        -- booleans
        coalesce(is_chief_aesthetic_physician, false) as is_chief_aesthetic_physician,

        -- dates
        updated_on as status_updated_on,
        _dt as snapshot_date

    from latest_snapshot

)

select * from renamed
