-- Category mix per year: GMV share of surgical, injectable, energy, dental and TCM procedures.
with yearly as (
    select year(month) as year, category, sum(gmv) as gmv
    from marts.market_monthly
    group by all
)
select year, category, gmv, gmv / sum(gmv) over (partition by year) as gmv_share
from yearly
order by year, gmv desc
