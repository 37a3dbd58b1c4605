{{ config(tags=['run_date']) }}

{%- set in_force = "'有效'" -%}

with

products as (

    select * from {{ ref('stg_registry__products') }}

),

-- a consumer's question: is this 注册证 in force today (GOV-05 judges each order at completion;
-- the clinics that used the product are in product_clinic_usage)
judged as (

    select
        *,
        case
            when product_status != {{ in_force }}
                then 'registration ' || product_status
            when valid_to < {{ as_of_date() }}
                then 'registration expired ' || cast(valid_to as string)
        end as registration_reason
    from products

),

final as (

    select
        registration_no,
        product_name,
        brand,
        product_category,
        registrant,
        product_status,
        approved_on,
        valid_to,
        registration_reason is null as registration_in_force,
        registration_reason,
        snapshot_date as registry_snapshot_date
    from judged

)

select * from final
