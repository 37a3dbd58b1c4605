{{ config(tags=['run_date']) }}

{%- set normal = "'正常'" -%}

with

clinics as (

    select * from {{ ref('stg_platform__clinics') }}

),

institutions as (

    select * from {{ ref('stg_registry__institutions') }}

),

institution_history as (

    select * from {{ ref('int_institutions__history') }}

),

approved_today as (

    select * from {{ ref('int_institutions__departments_today') }}

),

-- the version of each licence that holds on the run date: what GOV-15 judges (a licence no
-- longer in the newest snapshot has none)
licences_today as (

    select *
    from institution_history
    where {{ effective_on('institution_history', as_of_date()) }}

),

-- GOV-16: each department a clinic advertises (declared_departments, `|`-separated)
declared_departments as (

    select distinct
        clinic_id,
        license_no,
        {{ trim_text('declared_entry') }} as department
    from (
        select
            clinic_id,
            license_no,
            {{ split_to_rows('declared_departments', '|') }} as declared_entry
        from clinics
        where declared_departments is not null
    ) as split

),

unlicensed_departments as (

    select
        declared_departments.clinic_id,
        {{ sorted_text_agg('declared_departments.department', ', ') }} as departments
    from declared_departments
    left join approved_today
        on declared_departments.license_no = approved_today.license_no
            and declared_departments.department = approved_today.department
    where declared_departments.department is not null
        and approved_today.department is null
    group by declared_departments.clinic_id

),

-- GOV-01 name key (docs/rules.md): trimmed, half-width, without any white space
clinic_names as (

    select
        *,
        {{ name_match_key('clinic_name') }} as name_key
    from clinics

),

registry_names as (

    select
        *,
        {{ name_match_key('institution_name') }} as name_key
    from institutions

),

-- GOV-01 for every listed clinic; int_clinic_licence_verification keeps the active ones
-- (the entities the rule judges), clinic_scorecard shows the result for all
checked as (

    select
        clinics.clinic_id,
        clinics.license_no,
        clinics.is_active,
        institutions.institution_name as registry_institution_name,
        institutions.city as registry_city,
        case
            when clinics.license_no is null
                then 'no licence declared'
            when institutions.license_no is null
                then 'licence ' || clinics.license_no || ' not in registry'
            -- a missing name or city never matches
            when coalesce(clinics.name_key != institutions.name_key, true)
                then 'registry name ' || coalesce(institutions.institution_name, '(none)')
                    || ' differs from ' || coalesce(clinics.clinic_name, '(none)')
            when coalesce(clinics.city != institutions.city, true)
                then 'registry city ' || coalesce(institutions.city, '(none)')
                    || ' differs from ' || coalesce(clinics.city, '(none)')
        end as licence_verification_reason

    from clinic_names as clinics

    left join registry_names as institutions
        on clinics.license_no = institutions.license_no

),

-- GOV-15 licence in force today, GOV-16 advertised departments licensed (listing checks)
listing_checked as (

    select
        checked.*,
        case
            when checked.license_no is null
                then 'no licence declared'
            when licences_today.license_no is null
                then 'licence ' || checked.license_no || ' not in registry'
            when licences_today.licence_status != {{ normal }}
                then 'licence ' || licences_today.licence_status
                    || coalesce(' since ' || cast(licences_today.status_updated_on as string), '')
            when licences_today.licence_valid_to < {{ as_of_date() }}
                then 'licence 过期 ' || cast(licences_today.licence_valid_to as string)
            when licences_today.licence_valid_from > {{ as_of_date() }}
                then 'licence valid from ' || cast(licences_today.licence_valid_from as string)
        end as licence_in_force_reason,
        case
            when unlicensed_departments.departments is not null
                then 'advertises ' || unlicensed_departments.departments || ' not on licence '
                    || coalesce(checked.license_no, '(none)')
        end as departments_reason
    from checked
    left join licences_today
        on checked.license_no = licences_today.license_no
    left join unlicensed_departments
        on checked.clinic_id = unlicensed_departments.clinic_id

),

final as (

    select
        clinic_id,
        license_no,
        is_active,
        registry_institution_name,
        registry_city,
        licence_verification_reason is null as licence_verified,
        licence_verification_reason,
        licence_in_force_reason is null as licence_in_force,
        licence_in_force_reason,
        departments_reason is null as departments_licensed,
        departments_reason,
        -- what a consumer is shown (marts.md): a licence the registry does not hold in force today
        -- suspends the listing; one in force whose name or city does not match leaves it unverified
        case
            when licence_verification_reason is null and licence_in_force_reason is null then 'verified'
            when licence_in_force_reason is not null then 'suspended'
            else 'unverified'
        end as listing_status
    from listing_checked

)

select * from final
