{{ config(tags=['run_date']) }}

with

clinics as (

    select * from {{ ref('stg_platform__clinics') }}

),

licence_checks as (

    select * from {{ ref('int_clinics__licence_check') }}

),

departments_today as (

    select * from {{ ref('int_institutions__departments_today') }}

),

procedures as (

    select * from {{ ref('procedures') }}

),

clinic_departments as (

    select
        clinics.clinic_id,
        departments_today.department
    from clinics
    inner join departments_today
        on clinics.license_no = departments_today.license_no

),

approved as (

    select
        clinic_id,
        {{ sorted_text_agg('department', '、') }} as approved_departments
    from clinic_departments
    group by clinic_id

),

-- what the clinic may perform today: a procedure of a department its licence approves, graded
-- within what its type may perform (GOV-14's caps; an ungraded procedure is never capped)
permitted as (

    select
        clinic_departments.clinic_id,
        {{ sorted_text_agg('procedures.procedure_name', '、') }} as permitted_procedures
    from clinic_departments
    inner join clinics
        on clinic_departments.clinic_id = clinics.clinic_id
    inner join procedures
        on clinic_departments.department = procedures.department
    where procedures.grade is null
        or procedures.grade <= {{ grade_cap('clinics.clinic_type') }}
    group by clinic_departments.clinic_id

),

final as (

    select
        clinics.clinic_id,
        clinics.license_no,
        licence_checks.registry_institution_name,
        approved.approved_departments,
        {{ grade_cap('clinics.clinic_type') }} as grade_cap,
        permitted.permitted_procedures,
        {{ as_of_date() }} as as_of_date
    from clinics
    inner join licence_checks
        on clinics.clinic_id = licence_checks.clinic_id
    left join approved
        on clinics.clinic_id = approved.clinic_id
    left join permitted
        on clinics.clinic_id = permitted.clinic_id

)

select * from final
