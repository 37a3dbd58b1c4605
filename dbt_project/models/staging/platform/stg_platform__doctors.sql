with

source as (

    select * from {{ source('platform', 'doctors') }}

),

latest_delivery as (

    select max(_dt) as latest_dt from source

),

latest_snapshot as (

    -- full snapshots: the newest delivery lists the doctors practising today
    select source.*
    from source
    inner join latest_delivery
        on source._dt = latest_delivery.latest_dt
    qualify
        row_number() over (
            partition by source.doctor_id
            order by source.updated_at desc nulls last, source._row_number desc
        ) = 1

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
        {{ to_local_timestamp('updated_at') }} as updated_at

    from latest_snapshot

)

select * from renamed
