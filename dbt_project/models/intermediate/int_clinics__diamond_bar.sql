{{ config(tags=['run_date']) }}

{#- the diamond (美钻) bar of marts.md; every number is a GOV-18 parameter of the catalogue -#}
{%- set min_avg_years = rule_parameter('GOV-18', 'min_avg_years_experience') -%}
{%- set chief_min_years = rule_parameter('GOV-18', 'chief_consultant_min_years') -%}
{%- set min_cases = rule_parameter('GOV-18', 'min_doctor_cases') -%}
{%- set window_days = rule_parameter('GOV-18', 'finding_window_days') -%}
{%- set min_score = rule_parameter('GOV-18', 'min_avg_score') -%}
{%- set min_reviews = rule_parameter('GOV-18', 'min_verified_reviews') -%}

with

licence_checks as (

    select * from {{ ref('int_clinics__licence_check') }}

),

doctors as (

    select * from {{ ref('stg_platform__doctors') }}

),

completed_orders as (

    select * from {{ ref('int_orders__completed') }}

),

order_compliance as (

    select * from {{ ref('int_order_compliance') }}

),

review_scores as (

    select * from {{ ref('int_clinics__review_scores') }}

),

doctor_profile as (

    select
        clinic_id,
        count(*) as doctor_count,
        avg(years_experience) as avg_years_experience,
        max(case when is_chief_consultant and years_experience >= {{ chief_min_years }} then 1 else 0 end) = 1
            as has_senior_chief_consultant,
        max(case when case_count >= {{ min_cases }} then 1 else 0 end) = 1 as has_high_volume_doctor
    from doctors
    group by clinic_id

),

-- orders completed in the bar's window that fail any of GOV-02..05, GOV-08 or GOV-14 (the
-- window is the completed orders': the compliance facts are incremental, not run-dated)
recent_findings as (

    select
        order_compliance.clinic_id,
        count(*) as recent_order_findings
    from order_compliance
    inner join completed_orders
        on order_compliance.order_id = completed_orders.order_id
    where completed_orders.completed_in_diamond_bar_window
        and not order_compliance.is_compliant
    group by order_compliance.clinic_id

),

joined as (

    select
        licence_checks.clinic_id,
        licence_checks.listing_status,
        coalesce(doctor_profile.doctor_count, 0) as doctor_count,
        doctor_profile.avg_years_experience,
        coalesce(doctor_profile.has_senior_chief_consultant, false) as has_senior_chief_consultant,
        coalesce(doctor_profile.has_high_volume_doctor, false) as has_high_volume_doctor,
        coalesce(recent_findings.recent_order_findings, 0) as recent_order_findings,
        coalesce(review_scores.verified_review_count, 0) as verified_review_count,
        review_scores.avg_score_overall
    from licence_checks
    left join doctor_profile
        on licence_checks.clinic_id = doctor_profile.clinic_id
    left join recent_findings
        on licence_checks.clinic_id = recent_findings.clinic_id
    left join review_scores
        on licence_checks.clinic_id = review_scores.clinic_id

),

-- one gap per condition of the bar; the reason names every one the clinic misses
gaps as (

    select
        *,
        case
            when listing_status != 'verified' then 'listing ' || listing_status
        end as licence_gap,
        case
            when doctor_count = 0 then 'no doctors listed'
            when avg_years_experience < {{ min_avg_years }}
                then 'doctors average ' || cast(cast(avg_years_experience as decimal(6, 1)) as string)
                    || ' years, under {{ min_avg_years }}'
        end as experience_gap,
        case
            when not has_senior_chief_consultant
                then 'no chief consultant with {{ chief_min_years }} years'
        end as chief_gap,
        case
            when not has_high_volume_doctor then 'no doctor with {{ min_cases }} cases'
        end as cases_gap,
        case
            when recent_order_findings > 0
                then cast(recent_order_findings as string)
                    || ' order findings in the last {{ window_days }} days'
        end as findings_gap,
        case
            when verified_review_count < {{ min_reviews }}
                then cast(verified_review_count as string) || ' verified reviews, under {{ min_reviews }}'
            when avg_score_overall < {{ min_score }}
                then 'average verified score '
                    || cast(cast(avg_score_overall as decimal(4, 2)) as string) || ', under {{ min_score }}'
        end as reviews_gap
    from joined

),

final as (

    select
        clinic_id,
        listing_status,
        doctor_count,
        avg_years_experience,
        has_senior_chief_consultant,
        has_high_volume_doctor,
        recent_order_findings,
        verified_review_count,
        avg_score_overall,
        diamond_bar_gaps is null as meets_diamond_bar,
        diamond_bar_gaps
    from (
        select
            *,
            {{ reasons([
                'licence_gap', 'experience_gap', 'chief_gap', 'cases_gap', 'findings_gap', 'reviews_gap'
            ]) }} as diamond_bar_gaps
        from gaps
    ) as joined_gaps

)

select * from final
