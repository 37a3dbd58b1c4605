with

licence_checks as (

    select * from {{ ref('int_clinics__licence_check') }}

),

-- GOV-01, GOV-15 and GOV-16 judge the clinics whose latest CRM row is active
active_clinics as (

    select
        clinic_id,
        license_no,
        licence_verified,
        licence_verification_reason,
        licence_in_force,
        licence_in_force_reason,
        departments_licensed,
        departments_reason
    from licence_checks
    where is_active

)

select * from active_clinics
