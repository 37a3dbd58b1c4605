with

reviews as (

    select * from {{ ref('int_review_verification') }}

),

-- scores count only reviews that pass GOV-06 and are not flagged by GOV-07 (counts_in_scores).
-- Averages are rounded to 9 decimals: a parallel sum of doubles differs in its last bits from
-- run to run, which flipped GOV-18's "average verified score 4.00 / 4.01" between two runs of
-- the same data (a true 4.005); rounded, every run publishes the same value.
review_scores as (

    select
        clinic_id,
        count(case when counts_in_scores then 1 end) as verified_review_count,
        round(avg(case when counts_in_scores then score_doctor end), 9) as avg_score_doctor,
        round(avg(case when counts_in_scores then score_process end), 9) as avg_score_process,
        round(avg(case when counts_in_scores then score_environment end), 9) as avg_score_environment,
        round(avg(case when counts_in_scores then score_effect_match end), 9) as avg_score_effect_match,
        round(avg(case when counts_in_scores then score_value end), 9) as avg_score_value,
        round(avg(case when counts_in_scores then score_overall end), 9) as avg_score_overall,
        count(case when not review_verified then 1 end) as gov_06_findings,
        count(case when manipulation_flagged then 1 end) as gov_07_findings
    from reviews
    group by clinic_id

)

select * from review_scores
