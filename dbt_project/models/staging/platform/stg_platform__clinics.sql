with

clinics as (

    select * from {{ ref('base_platform__clinics') }}

),

latest_delivery as (

    select max(snapshot_date) as latest_snapshot_date from clinics

),

-- every delivery is a full snapshot: the newest one is the platform as it is today,
-- a clinic missing from it is no longer listed
latest_snapshot as (

    -- a window filter in a subquery, not `qualify`: Spark has none
    select *
    from (
        select
            clinics.*,
            row_number() over (
                partition by clinics.clinic_id
                order by clinics.updated_at desc nulls last, clinics.snapshot_row_number desc
            ) as snapshot_rank
        from clinics
        inner join latest_delivery
            on clinics.snapshot_date = latest_delivery.latest_snapshot_date
    ) as ranked
    where snapshot_rank = 1

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
