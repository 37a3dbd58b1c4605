-- Channel funnel over the whole history: paid and completion rates per channel.
select channel, sum(orders_created) as created, sum(orders_paid) as paid,
       sum(orders_completed) as completed, sum(orders_refunded) as refunded,
       sum(orders_paid) / nullif(sum(orders_created), 0) as paid_rate,
       sum(orders_completed) / nullif(sum(orders_paid), 0) as completion_rate
from marts.channel_funnel
group by channel
order by created desc
