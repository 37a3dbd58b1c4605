{{ config(tags=['run_date']) }}

with

completed_orders as (

    select * from {{ ref('int_orders__completed') }}

),

-- the clinics that used each product on orders completed in the verification window (their
-- names and listing status are in clinic_scorecard)
usage as (

    select
        product_registration_no as registration_no,
        clinic_id,
        count(*) as completed_orders_in_window,
        max(completed_date) as last_used_on
    from completed_orders
    where completed_in_verification_window
        and product_registration_no is not null
    group by product_registration_no, clinic_id

)

select * from usage
