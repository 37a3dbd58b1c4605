{{ config(tags=['run_date']) }}

with

doctors as (

    select * from {{ ref('stg_platform__doctors') }}

),

practitioner_history as (

    select * from {{ ref('int_practitioners__history') }}

),

doctor_listing_checks as (

    select * from {{ ref('int_doctor_listing_checks') }}

),

-- the registration that holds on the run date: its 执业范围 and 主诊专业 are what the
-- registry publishes about the doctor today
practitioners_today as (

    select *
    from practitioner_history
    where {{ effective_on('practitioner_history', as_of_date()) }}

),

final as (

    select
        doctors.clinic_id,
        doctors.doctor_id,
        doctors.doctor_name,
        doctors.title,
        doctors.years_experience,
        doctors.is_chief_consultant,
        doctors.practitioner_license_no,
        practitioners_today.practice_scope,
        practitioners_today.chief_specialty,
        practitioners_today.is_chief_aesthetic_physician,
        -- GOV-17 judges the doctors of active clinics; the others are not judged (null)
        doctor_listing_checks.doctor_registered,
        doctor_listing_checks.registration_reason
    from doctors
    left join practitioners_today
        on doctors.practitioner_license_no = practitioners_today.practitioner_license_no
    left join doctor_listing_checks
        on doctors.doctor_id = doctor_listing_checks.doctor_id

)

select * from final
