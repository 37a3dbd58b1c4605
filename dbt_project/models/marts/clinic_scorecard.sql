with

clinics as (

    select * from {{ ref('stg_platform__clinics') }}

),

cities as (

    select * from {{ ref('cities') }}

),

licence_checks as (

    select * from {{ ref('int_clinics__licence_check') }}

),

completed_orders as (

    select * from {{ ref('int_orders__completed') }}

),

order_compliance as (

    select * from {{ ref('int_order_compliance') }}

),

reviews as (

    select * from {{ ref('int_review_verification') }}

),

complaints as (

    select * from {{ ref('int_complaint_response') }}

),

doctors as (

    select * from {{ ref('stg_platform__doctors') }}

),

sales as (

    select
        clinic_id,
        count(*) as completed_orders,
        sum(gmv_amount) as gmv
    from completed_orders
    group by clinic_id

),

-- the run-date window is the completed orders' (int_orders__completed): the compliance facts
-- are incremental and do not depend on the run date
judged_orders as (

    select
        order_compliance.*,
        coalesce(completed_orders.completed_in_last_90_days, false) as completed_in_last_90_days
    from order_compliance
    left join completed_orders
        on order_compliance.order_id = completed_orders.order_id

),

order_findings as (

    select
        clinic_id,
        count(case when not licence_valid_at_service then 1 end) as gov_02_findings,
        count(case when not department_in_scope then 1 end) as gov_03_findings,
        count(case when not practitioner_in_scope then 1 end) as gov_04_findings,
        count(case when not product_registered then 1 end) as gov_05_findings,
        count(case when not price_transparent then 1 end) as gov_08_findings,
        count(case when not grade_within_level then 1 end) as gov_14_findings,
        count(case when not is_compliant then 1 end) as non_compliant_orders,
        count(case when completed_in_last_90_days and not is_compliant then 1 end) as findings_last_90_days
    from judged_orders
    group by clinic_id

),

review_scores as (

    select
        clinic_id,
        count(case when counts_in_scores then 1 end) as verified_review_count,
        avg(case when counts_in_scores then score_doctor end) as avg_score_doctor,
        avg(case when counts_in_scores then score_process end) as avg_score_process,
        avg(case when counts_in_scores then score_environment end) as avg_score_environment,
        avg(case when counts_in_scores then score_effect_match end) as avg_score_effect_match,
        avg(case when counts_in_scores then score_value end) as avg_score_value,
        avg(case when counts_in_scores then score_overall end) as avg_score_overall,
        count(case when not review_verified then 1 end) as gov_06_findings,
        count(case when manipulation_flagged then 1 end) as gov_07_findings
    from reviews
    group by clinic_id

),

complaint_handling as (

    select
        clinic_id,
        count(*) as complaint_count,
        -- complaints replied in time (GOV-09) / complaints
        count(case when replied_in_time then 1 end) as complaints_replied_in_time,
        count(case when not replied_in_time then 1 end) as gov_09_findings
    from complaints
    group by clinic_id

),

doctor_profile as (

    select
        clinic_id,
        count(*) as doctor_count,
        avg(years_experience) as avg_years_experience,
        max(case when is_chief_consultant and years_experience >= 15 then 1 else 0 end) = 1
            as has_senior_chief_consultant,
        max(case when case_count >= 5000 then 1 else 0 end) = 1 as has_5000_case_doctor
    from doctors
    group by clinic_id

),

joined as (

    select
        clinics.clinic_id,
        clinics.clinic_name as name,
        clinics.city,
        clinics.district,
        cities.province,
        clinics.clinic_type,
        clinics.tier,
        clinics.platform_status,
        licence_checks.licence_verified,
        licence_checks.licence_verification_reason,
        coalesce(sales.completed_orders, 0) as completed_orders,
        coalesce(sales.gmv, 0) as gmv,
        coalesce(review_scores.verified_review_count, 0) as verified_review_count,
        review_scores.avg_score_doctor,
        review_scores.avg_score_process,
        review_scores.avg_score_environment,
        review_scores.avg_score_effect_match,
        review_scores.avg_score_value,
        review_scores.avg_score_overall,
        coalesce(complaint_handling.complaint_count, 0) as complaint_count,
        cast(complaint_handling.complaints_replied_in_time as double)
        / nullif(complaint_handling.complaint_count, 0) as complaint_reply_rate,
        -- GOV-01 judges active clinics only
        case when clinics.is_active and not licence_checks.licence_verified then 1 else 0 end as gov_01_findings,
        coalesce(order_findings.gov_02_findings, 0) as gov_02_findings,
        coalesce(order_findings.gov_03_findings, 0) as gov_03_findings,
        coalesce(order_findings.gov_04_findings, 0) as gov_04_findings,
        coalesce(order_findings.gov_05_findings, 0) as gov_05_findings,
        coalesce(review_scores.gov_06_findings, 0) as gov_06_findings,
        coalesce(review_scores.gov_07_findings, 0) as gov_07_findings,
        coalesce(order_findings.gov_08_findings, 0) as gov_08_findings,
        coalesce(complaint_handling.gov_09_findings, 0) as gov_09_findings,
        coalesce(order_findings.gov_14_findings, 0) as gov_14_findings,
        coalesce(order_findings.non_compliant_orders, 0) as non_compliant_orders,
        coalesce(order_findings.findings_last_90_days, 0) as findings_last_90_days,
        coalesce(doctor_profile.doctor_count, 0) as doctor_count,
        doctor_profile.avg_years_experience,
        coalesce(doctor_profile.has_senior_chief_consultant, false) as has_senior_chief_consultant,
        coalesce(doctor_profile.has_5000_case_doctor, false) as has_5000_case_doctor
    from clinics
    left join cities
        on clinics.city = cities.city
    left join licence_checks
        on clinics.clinic_id = licence_checks.clinic_id
    left join sales
        on clinics.clinic_id = sales.clinic_id
    left join order_findings
        on clinics.clinic_id = order_findings.clinic_id
    left join review_scores
        on clinics.clinic_id = review_scores.clinic_id
    left join complaint_handling
        on clinics.clinic_id = complaint_handling.clinic_id
    left join doctor_profile
        on clinics.clinic_id = doctor_profile.clinic_id

),

scored as (

    select
        *,
        -- 美钻 bar, marts.md: every condition must hold
        coalesce(
            licence_verified
            and avg_years_experience >= 5
            and has_senior_chief_consultant
            and has_5000_case_doctor
            and findings_last_90_days = 0
            and verified_review_count >= 20
            and avg_score_overall >= 4.5,
            false
        ) as meets_diamond_bar,
        -- trust score 0..100, the only definition:
        --   30 x licence verified (GOV-01)
        -- + 25 x (1 - share of completed orders failing any of GOV-02..05, 08, 14; 0 when no orders)
        -- + 25 x average verified score / 5 (0 when no verified reviews)
        -- + 20 x complaint reply rate (1 when no complaints)
        round(
            30 * case when licence_verified then 1 else 0 end
            + 25 * (1 - coalesce(cast(non_compliant_orders as double) / nullif(completed_orders, 0), 0))
            + 25 * coalesce(avg_score_overall, 0) / 5
            + 20 * coalesce(complaint_reply_rate, 1),
            1
        ) as trust_score
    from joined

)

select * from scored
