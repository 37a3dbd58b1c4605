-- Monthly GMV, orders and buyers per city (the market-size chart of every report).
select month, city, sum(gmv) as gmv, sum(orders) as orders, sum(buyers) as buyers
from marts.market_monthly
group by all
order by month, city
