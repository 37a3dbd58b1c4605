with

practitioners as (

    select * from {{ ref('base_registry__practitioners') }}

),

-- the newest full snapshot; int_practitioners__history keeps every earlier state
latest_snapshot as (

    {{ latest_snapshot('practitioners', 'practitioners') }}

),

final as (

    select
        practitioner_license_no,
        primary_institution_license_no,
        practitioner_name,
        practice_category,
        practice_scope,
        chief_specialty,
        practitioner_status,
        is_chief_aesthetic_physician,
        status_updated_on,
        snapshot_date
    from latest_snapshot

)

select * from final
