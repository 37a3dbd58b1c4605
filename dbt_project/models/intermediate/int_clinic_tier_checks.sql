{{ config(tags=['run_date']) }}

with

clinics as (

    select * from {{ ref('stg_platform__clinics') }}

),

licence_checks as (

    select * from {{ ref('int_clinics__licence_check') }}

),

diamond_bar as (

    select * from {{ ref('int_clinics__diamond_bar') }}

),

-- GOV-18 judges the tier label of every active clinic (a listing check, as GOV-01)
labelled as (

    select
        clinics.clinic_id,
        clinics.tier,
        licence_checks.licence_verified,
        licence_checks.licence_in_force,
        licence_checks.departments_licensed,
        diamond_bar.meets_diamond_bar,
        diamond_bar.diamond_bar_gaps
    from clinics
    inner join licence_checks
        on clinics.clinic_id = licence_checks.clinic_id
    inner join diamond_bar
        on clinics.clinic_id = diamond_bar.clinic_id
    where clinics.is_active

),

-- an open GOV-01, GOV-15 or GOV-16 finding is this run's judgement of that rule; a waiver
-- accepts the finding, not the label (waived findings still mark the marts, governance.md)
problems as (

    select
        *,
        case
            when tier = 'diamond' and not meets_diamond_bar
                then 'diamond label below the diamond bar: ' || diamond_bar_gaps
        end as bar_problem,
        case
            when tier in ('selected', 'diamond')
                and not (licence_verified and licence_in_force and departments_licensed)
                then tier || ' label with an open '
                    || concat_ws(
                        ', ',
                        case when not licence_verified then 'GOV-01' end,
                        case when not licence_in_force then 'GOV-15' end,
                        case when not departments_licensed then 'GOV-16' end
                    )
                    || ' finding'
        end as listing_problem
    from labelled

),

final as (

    select
        clinic_id,
        tier,
        tier_label_reason is null as tier_label_earned,
        tier_label_reason
    from (
        select
            *,
            {{ reasons(['bar_problem', 'listing_problem']) }} as tier_label_reason
        from problems
    ) as joined

)

select * from final
