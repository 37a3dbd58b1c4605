with

institutions as (

    select * from {{ ref('base_registry__institutions') }}

),

-- the registry is delivered as full snapshots: a licence missing from the newest one is not
-- registered today (GOV-01); int_institutions__history keeps every earlier state
latest_snapshot as (

    {{ latest_snapshot('institutions', 'institutions') }}

),

final as (

    select
        license_no,
        institution_name,
        city,
        address,
        approved_departments,
        licence_status,
        valid_from,
        valid_to,
        status_updated_on,
        snapshot_date
    from latest_snapshot

)

select * from final
