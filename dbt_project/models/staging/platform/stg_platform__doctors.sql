with

doctors as (

    select * from {{ ref('base_platform__doctors') }}

),

-- full snapshots: the newest delivery lists the doctors practising today
latest_snapshot as (

    {{ latest_snapshot('doctors', 'doctors') }}

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
