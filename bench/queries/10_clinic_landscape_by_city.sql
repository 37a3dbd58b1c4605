-- Clinic landscape per city: clinics, diamond (美钻) clinics, verified licences, trust, GMV.
select city, count(*) as clinics,
       count(*) filter (where meets_diamond_bar) as diamond_clinics,
       avg(licence_verified::int) as licence_verified_share,
       avg(trust_score) as avg_trust_score, sum(gmv) as gmv
from marts.clinic_scorecard
group by city
order by gmv desc nulls last
