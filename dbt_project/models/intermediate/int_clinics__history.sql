{#- As-of history of the platform CRM's clinics, so that every rule is judged with the clinic as
    it was on the service date (its declared licence above all). -#}

with

clinics as (

    select * from {{ ref('base_platform__clinics') }}

),

crm_rows as (

    select
        clinic_id,
        license_no,
        clinic_name,
        city,
        clinic_type,
        tier,
        platform_status,
        cast(updated_at as date) as updated_on,
        updated_at,
        snapshot_date,
        snapshot_row_number
    from clinics

),

versions as (

    {{ snapshot_versions(
        'crm_rows',
        entity='clinics',
        tracked_columns=['license_no', 'clinic_name', 'city', 'clinic_type', 'tier', 'platform_status'],
        changed_on='updated_on'
    ) }}

),

final as (

    select
        clinic_id,
        version_number,
        license_no,
        clinic_name,
        city,
        -- its level: GOV-14 caps the procedure grade by the type in force on the completion date
        clinic_type,
        tier,
        platform_status,
        changed_on as updated_on,
        first_delivered_on,
        last_delivered_on,
        effective_from,
        effective_to
    from versions

)

select * from final
