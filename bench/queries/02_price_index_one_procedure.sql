-- Price index of one procedure (P05 玻尿酸填充) per city and month against the national median.
select month, city, orders, median_paid, p25_paid, p75_paid, national_median_paid,
       median_paid / nullif(national_median_paid, 0) as index_vs_national
from marts.procedure_price_index
where procedure_code = 'P05'
order by month, city
