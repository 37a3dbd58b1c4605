-- The 20 most trusted clinics, with the numbers behind the score.
select clinic_id, name, city, tier, trust_score, verified_review_count, avg_score_overall,
       complaint_reply_rate, recent_order_findings, meets_diamond_bar
from marts.clinic_scorecard
order by trust_score desc nulls last, clinic_id
limit 20
