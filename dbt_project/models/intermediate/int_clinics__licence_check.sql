with

clinics as (

    select * from {{ ref('stg_platform__clinics') }}

),

institutions as (

    select * from {{ ref('stg_registry__institutions') }}

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

final as (

    select
        clinic_id,
        license_no,
        is_active,
        registry_institution_name,
        registry_city,
        licence_verification_reason is null as licence_verified,
        licence_verification_reason
    from checked

)

select * from final
