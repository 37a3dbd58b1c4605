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

review_scores as (

    select * from {{ ref('int_clinics__review_scores') }}

),

complaints as (

    select * from {{ ref('int_complaint_response') }}

),

diamond_bar as (

    select * from {{ ref('int_clinics__diamond_bar') }}

),

doctor_listing_checks as (

    select * from {{ ref('int_doctor_listing_checks') }}

),

tier_checks as (

    select * from {{ ref('int_clinic_tier_checks') }}

),

sales as (

    select
        clinic_id,
        count(*) as completed_orders,
        sum(gmv_amount) as gmv
    from completed_orders
    group by clinic_id

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
        count(case when not is_compliant then 1 end) as non_compliant_orders
    from order_compliance
    group by clinic_id

),

complaint_handling as (

    select
        clinic_id,
        count(*) as complaint_count,
        {%- for complaint_type in project_var('complaint_types') %}
            count(case when complaint_type = '{{ complaint_type }}' then 1 end) as complaints_{{ complaint_type }},
        {%- endfor %}
        -- complaints replied in time (GOV-09) / complaints
        count(case when replied_in_time then 1 end) as complaints_replied_in_time,
        count(case when not replied_in_time then 1 end) as gov_09_findings,
        count(resolved_at) as complaints_resolved,
        percentile_cont(0.5) within group (order by hours_to_resolve) as median_hours_to_resolve
    from complaints
    group by clinic_id

),

doctor_findings as (

    select
        clinic_id,
        count(case when not doctor_registered then 1 end) as gov_17_findings
    from doctor_listing_checks
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
        licence_checks.licence_in_force,
        licence_checks.licence_in_force_reason,
        licence_checks.listing_status,
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
        {%- for complaint_type in project_var('complaint_types') %}
            coalesce(complaint_handling.complaints_{{ complaint_type }}, 0) as complaints_{{ complaint_type }},
        {%- endfor %}
        cast(complaint_handling.complaints_replied_in_time as double)
        / nullif(complaint_handling.complaint_count, 0) as complaint_reply_rate,
        cast(complaint_handling.complaints_resolved as double)
        / nullif(complaint_handling.complaint_count, 0) as complaint_resolution_rate,
        complaint_handling.median_hours_to_resolve,
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
        -- the listing checks judge active clinics only, as GOV-01
        case when clinics.is_active and not licence_checks.licence_in_force then 1 else 0 end as gov_15_findings,
        case when clinics.is_active and not licence_checks.departments_licensed then 1 else 0 end as gov_16_findings,
        coalesce(doctor_findings.gov_17_findings, 0) as gov_17_findings,
        case when tier_checks.tier_label_earned = false then 1 else 0 end as gov_18_findings,
        coalesce(order_findings.non_compliant_orders, 0) as non_compliant_orders,
        diamond_bar.recent_order_findings,
        diamond_bar.doctor_count,
        diamond_bar.avg_years_experience,
        diamond_bar.has_senior_chief_consultant,
        diamond_bar.has_high_volume_doctor,
        diamond_bar.meets_diamond_bar,
        diamond_bar.diamond_bar_gaps
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
    left join diamond_bar
        on clinics.clinic_id = diamond_bar.clinic_id
    left join doctor_findings
        on clinics.clinic_id = doctor_findings.clinic_id
    left join tier_checks
        on clinics.clinic_id = tier_checks.clinic_id

),

scored as (

    select
        *,
        -- trust score 0..100, the only definition:
        --   30 x listing verified (GOV-01 and GOV-15 hold)
        -- + 25 x (1 - share of completed orders failing any of GOV-02..05, 08, 14; 0 when no orders)
        -- + 25 x average verified score / 5 (0 when no verified reviews)
        -- + 20 x complaint reply rate (1 when no complaints)
        round(
            30 * case when listing_status = 'verified' then 1 else 0 end
            + 25 * (1 - coalesce(cast(non_compliant_orders as double) / nullif(completed_orders, 0), 0))
            + 25 * coalesce(avg_score_overall, 0) / 5
            + 20 * coalesce(complaint_reply_rate, 1),
            1
        ) as trust_score
    from joined

)

select * from scored
