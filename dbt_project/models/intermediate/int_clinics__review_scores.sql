with

reviews as (

    select * from {{ ref('int_review_verification') }}

),

-- scores count only reviews that pass GOV-06 and are not flagged by GOV-07 (counts_in_scores)
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

)

select * from review_scores
