{#- As-of history of the platform CRM's doctors: the clinic a doctor practised at and the
    practitioner licence she declared, version by version (case counts and titles, which change
    every month, are not tracked: no rule judges them as of a date). -#}

with

doctors as (

    select * from {{ ref('base_platform__doctors') }}

),

crm_rows as (

    select
        doctor_id,
        clinic_id,
        practitioner_license_no,
        cast(updated_at as date) as updated_on,
        updated_at,
        snapshot_date,
        snapshot_row_number
    from doctors

),

versions as (

    {{ snapshot_versions(
        'crm_rows',
        entity='doctors',
        tracked_columns=['clinic_id', 'practitioner_license_no'],
        changed_on='updated_on'
    ) }}

),

final as (

    select
        doctor_id,
        version_number,
        clinic_id,
        practitioner_license_no,
        changed_on as updated_on,
        first_delivered_on,
        last_delivered_on,
        effective_from,
        effective_to
    from versions

)

select * from final
