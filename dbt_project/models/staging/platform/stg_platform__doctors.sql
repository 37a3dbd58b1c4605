with

doctors as (

    select * from {{ ref('base_platform__doctors') }}

),

latest_delivery as (

    select max(snapshot_date) as latest_snapshot_date from doctors

),

-- full snapshots: the newest delivery lists the doctors practising today
latest_snapshot as (

    -- a window filter in a subquery, not `qualify`: Spark has none
    select *
    from (
        select
            doctors.*,
            row_number() over (
                partition by doctors.doctor_id
                order by doctors.updated_at desc nulls last, doctors.snapshot_row_number desc
            ) as snapshot_rank
        from doctors
        inner join latest_delivery
            on doctors.snapshot_date = latest_delivery.latest_snapshot_date
    ) as ranked
    where snapshot_rank = 1

),

final as (

    select
        doctor_id,
        clinic_id,
        practitioner_license_no,
        doctor_name,
        title,
        years_experience,
        case_count,
        is_chief_consultant,
        snapshot_date,
        updated_at
    from latest_snapshot

)

select * from final
