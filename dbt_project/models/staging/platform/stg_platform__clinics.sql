with

source as (

    select * from {{ source('platform', 'clinics') }}

),

latest_delivery as (

    select max(_dt) as latest_dt from source

),

latest_snapshot as (

    -- every delivery is a full snapshot: the newest one is the platform as it is today,
    -- a clinic missing from it is no longer listed
    select source.*
    from source
    inner join latest_delivery
        on source._dt = latest_delivery.latest_dt
    qualify
        row_number() over (
            partition by source.clinic_id
            order by source.updated_at desc nulls last, source._row_number desc
        ) = 1

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
        {{ to_local_timestamp('updated_at') }} as updated_at

    from latest_snapshot

)

select * from renamed
