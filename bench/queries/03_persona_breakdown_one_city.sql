-- Consumer personas of one city (成都): buyers by age band and spend tier.
select age_band, spend_tier, sum(buyers) as buyers, sum(orders) as orders,
       sum(avg_spend_per_buyer * buyers) / sum(buyers) as avg_spend_per_buyer
from marts.persona_segments
where city = '成都'
group by all
order by age_band, spend_tier
