{{ config(tags=['run_date']) }}

with

institution_history as (

    select * from {{ ref('int_institutions__history') }}

),

approved_departments as (

    select * from {{ ref('int_institutions__approved_departments') }}

),

-- the version of each licence that holds on the run date (a licence no longer in the newest
-- snapshot has none)
licences_today as (

    select *
    from institution_history
    where {{ effective_on('institution_history', as_of_date()) }}

),

approved_today as (

    select
        approved_departments.license_no,
        approved_departments.department
    from approved_departments
    inner join licences_today
        on approved_departments.license_no = licences_today.license_no
            and approved_departments.version_number = licences_today.version_number

)

select * from approved_today
