-- Where the buyers travelling into one city (成都) come from (打飞的).
select buyer_city, sum(travelling_buyers) as travelling_buyers, sum(orders) as orders,
       sum(gmv) as gmv
from marts.travel_flows
where clinic_city = '成都'
group by buyer_city
order by gmv desc, buyer_city
