{{ config(tags=['run_date']) }}

{%- set normal = "'正常'" -%}

with

doctors as (

    select * from {{ ref('stg_platform__doctors') }}

),

clinics as (

    select * from {{ ref('stg_platform__clinics') }}

),

-- the newest snapshot's 姓名 (as GOV-01 reads the institutions' names)
practitioners as (

    select * from {{ ref('stg_registry__practitioners') }}

),

practitioner_history as (

    select * from {{ ref('int_practitioners__history') }}

),

-- the version of each practitioner licence that holds on the run date (none: not registered)
practitioners_today as (

    select *
    from practitioner_history
    where {{ effective_on('practitioner_history', as_of_date()) }}

),

-- GOV-17 judges every doctor the platform lists at an active clinic
listed_doctors as (

    select
        doctors.doctor_id,
        doctors.clinic_id,
        doctors.doctor_name,
        doctors.practitioner_license_no,
        doctors.is_chief_consultant,
        clinics.license_no as clinic_license_no
    from doctors
    inner join clinics
        on doctors.clinic_id = clinics.clinic_id
    where clinics.is_active

),

registry_context as (

    select
        listed_doctors.*,
        practitioners_today.practitioner_license_no is not null as is_registered,
        practitioners_today.practitioner_status,
        practitioners_today.status_updated_on,
        practitioners_today.primary_institution_license_no,
        practitioners_today.is_chief_aesthetic_physician,
        practitioners.practitioner_name as registry_name,
        {{ name_match_key('listed_doctors.doctor_name') }} as name_key,
        {{ name_match_key('practitioners.practitioner_name') }} as registry_name_key
    from listed_doctors
    left join practitioners_today
        on listed_doctors.practitioner_license_no = practitioners_today.practitioner_license_no
    left join practitioners
        on listed_doctors.practitioner_license_no = practitioners.practitioner_license_no

),

-- one problem per condition of GOV-17 (docs/rules.md); the reason names every one that fails
problems as (

    select
        *,
        case
            when practitioner_license_no is null
                then 'no practitioner licence declared'
            when not is_registered
                then 'practitioner licence ' || practitioner_license_no || ' not in registry'
            when practitioner_status != {{ normal }}
                then 'practitioner ' || practitioner_status
                    || coalesce(' since ' || cast(status_updated_on as string), '')
        end as registration_problem,
        case
            -- a missing name never matches
            when is_registered and coalesce(name_key != registry_name_key, true)
                then 'registry name ' || coalesce(registry_name, '(none)')
                    || ' differs from ' || coalesce(doctor_name, '(none)')
        end as name_problem,
        case
            when is_registered and coalesce(primary_institution_license_no != clinic_license_no, true)
                then 'registered at another institution ('
                    || coalesce(primary_institution_license_no, 'none') || ')'
        end as institution_problem,
        case
            when is_registered and is_chief_consultant and not is_chief_aesthetic_physician
                then 'chief consultant not registered as 美容主诊医师'
        end as chief_problem
    from registry_context

),

final as (

    select
        doctor_id,
        clinic_id,
        practitioner_license_no,
        registration_reason is null as doctor_registered,
        registration_reason
    from (
        select
            *,
            {{ reasons(['registration_problem', 'name_problem', 'institution_problem', 'chief_problem']) }}
                as registration_reason
        from problems
    ) as joined

)

select * from final
