with

clinics as (

    select * from {{ ref('base_platform__clinics') }}

),

-- every delivery is a full snapshot: the newest one is the platform as it is today,
-- a clinic missing from it is no longer listed
latest_snapshot as (

    {{ latest_snapshot('clinics', 'clinics') }}

),

final as (

    select
        clinic_id,
        license_no,
        clinic_name,
        city,
        district,
        address,
        clinic_type,
        declared_departments,
        tier,
        platform_status,
        is_active,
        joined_on,
        snapshot_date,
        updated_at
    from latest_snapshot

)

select * from final
