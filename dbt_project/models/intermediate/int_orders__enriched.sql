-- depends_on: {{ ref('int_reference_changes') }}
{{
    config(
        post_hook="{{ delete_keys_gone_upstream(
            ref('stg_orders__orders'), 'order_id', changed_in=ref('stg_orders__orders')
        ) }}",
        **copy_on_write('order_id')
    )
}}

{#- Incremental, copy-on-write (macros/incremental_months.sql): the orders stg_orders__orders
    rewrote since the last build, and those of a clinic whose CRM row changed, are enriched
    again; the other orders are kept as built (on Spark, copied into the months rewritten). -#}

with

{% if is_incremental() %}

changed_orders as (

    {{ keys_changed_upstream(ref('stg_orders__orders'), 'order_id', [('clinic_id', 'clinic')]) }}

),

{% endif %}

orders as (

    select * from {{ ref('stg_orders__orders') }}
    {% if is_incremental() -%}
    where order_id in (select order_id from changed_orders)
    {%- endif %}

),

clinics as (

    select * from {{ ref('stg_platform__clinics') }}

),

procedures as (

    select * from {{ ref('procedures') }}

),

cities as (

    select * from {{ ref('cities') }}

),

enriched as (

    select
        orders.order_id,
        orders.user_id,
        orders.clinic_id,
        orders.doctor_id,
        orders.procedure_code,
        orders.product_registration_no,
        orders.device_serial,
        orders.buyer_gender,
        orders.buyer_birth_year,
        orders.buyer_city,
        orders.channel,
        orders.order_status,
        orders.fee_items_json,
        orders.list_price,
        orders.paid_amount,
        orders.is_completed,
        orders.is_paid,
        orders.is_refunded,
        orders.is_cancelled,
        orders.created_date,
        orders.completed_date,
        orders.completed_month,
        orders.created_at,
        orders.paid_at,
        orders.completed_at,
        orders.updated_at,
        clinics.city as clinic_city,
        cities.province as clinic_province,
        cities.city_tier as clinic_city_tier,
        procedures.procedure_name,
        procedures.category,
        procedures.department,
        -- the one definition of a traveller order: completed, and booked outside the buyer's
        -- home city (an unknown home city is not counted as travelling)
        orders.is_completed and coalesce(orders.buyer_city != clinics.city, false) as is_traveller,
        -- the one definition of what an order adds to GMV: completed orders only
        case when orders.is_completed then orders.paid_amount else 0 end as gmv_amount,
        {{ built_at() }} as built_at,
        -- the partition: last, as Spark keeps partition columns
        orders.created_month

    from orders

    left join clinics
        on orders.clinic_id = clinics.clinic_id

    left join procedures
        on orders.procedure_code = procedures.procedure_code

    left join cities
        on clinics.city = cities.city

),

-- the months of the changed orders: their rows plus the other orders as built
order_months as (

    {{ copy_on_write_rows('enriched', 'order_id', 'changed_orders', ref('stg_orders__orders')) }}

)

select * from order_months
