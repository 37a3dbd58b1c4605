-- Month-on-month and year-on-year GMV growth per city in the latest complete month.
with totals as (
    select month, city, sum(gmv) as gmv
    from marts.market_monthly
    group by all
)
select cur.city, cur.month, cur.gmv,
       (cur.gmv - prev.gmv) / nullif(prev.gmv, 0) as gmv_mom_growth,
       (cur.gmv - last_year.gmv) / nullif(last_year.gmv, 0) as gmv_yoy_growth
from totals as cur
left join totals as prev on cur.city = prev.city and prev.month = cur.month - interval 1 month
left join totals as last_year
    on cur.city = last_year.city and last_year.month = cur.month - interval 12 month
where cur.month = (select max(month) - interval 1 month from totals)
order by cur.gmv desc
