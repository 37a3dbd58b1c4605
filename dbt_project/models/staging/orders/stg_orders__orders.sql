{{
    config(
        post_hook=[
            "{{ delete_keys_without_versions('order_id', source('orders', 'orders')) }}",
            "{{ delete_moved_rows('order_id') }}"
        ],
        **partition_overwrite('created_month')
    )
}}

{#- The order fact: one row per order in its latest version, partitioned by the month the
    order was created (Asia/Shanghai). Incremental, a month at a time: a build finds the orders
    that a partition loaded since the last build touches (new, late and re-sent `_dt`s), and
    rewrites every month they were in or now are in, ranking every delivered version of every
    order of those months. A later partition updating an earlier order, a re-send that
    corrects or withdraws the winning version, and one that moves an order to another month
    all give the result a full refresh gives (tests/transform/test_incremental.py). -#}

with

-- read more than once below: not worth materialising every column
source as {{ not_materialized() }} (

    select
        *,
        cast({{ dbt.date_trunc('month', to_local_timestamp('created_at')) }} as date) as version_month
    from {{ source('orders', 'orders') }}

),

{% if is_incremental() %}

-- the orders whose latest version may have changed (macros/incremental_versions.sql)
changed_orders as (

    {{ keys_to_rerank('order_id', 'source') }}

),

-- the months to rewrite: those the changed orders are in now, and those any of their
-- versions falls in
months_to_rewrite as (

    {{ months_holding_keys('order_id', 'changed_orders', 'source') }}

),

{% endif %}

-- every version of every order that is, or may now be, in a month to rewrite (all of them in
-- a full build)
versions as {{ not_materialized() }} (

    select * from source
    {% if is_incremental() -%}
    where order_id in ({{ keys_in_months('order_id', 'source', 'months_to_rewrite') }})
    {%- endif %}

),

winning_versions as (

    -- an order counts once, in its latest version; ties go to the later delivery, then the later row.
    -- Ranked on the key columns only, then joined back: a window carrying every column of
    -- millions of rows costs several times as much
    select
        _dt,
        _source_file,
        _row_number
    from (
        select
            _dt,
            _source_file,
            _row_number,
            row_number() over (
                partition by order_id
                order by updated_at desc, _dt desc, _row_number desc, _source_file desc
            ) as version_rank
        from versions
    ) as ranked
    where version_rank = 1

),

latest_version as (

    select versions.*
    from versions
    inner join winning_versions
        on
            versions._dt = winning_versions._dt
            and versions._source_file = winning_versions._source_file
            and versions._row_number = winning_versions._row_number

),

renamed as (

    select
        -- ids
        order_id,
        user_id,
        buyer_phone_hash,
        clinic_id,
        doctor_id,
        procedure_code,
        {{ trim_text('product_registration_no') }} as product_registration_no,
        {{ trim_text('device_serial') }} as device_serial,
        payment_txn_id,

        -- strings
        -- an undeclared gender is reported like the explicit "unknown"
        coalesce(buyer_gender, 'U') as buyer_gender,
        {{ trim_text('buyer_city') }} as buyer_city,
        channel,
        status as order_status,
        fee_items as fee_items_json,

        -- numerics
        buyer_birth_year,
        list_price,
        paid_amount,

        -- booleans
        status = 'completed' as is_completed,
        paid_at is not null as is_paid,
        status = 'refunded' as is_refunded,
        status = 'cancelled' as is_cancelled,

        -- dates
        cast({{ to_local_timestamp('created_at') }} as date) as created_date,
        cast({{ dbt.date_trunc('month', to_local_timestamp('created_at')) }} as date) as created_month,
        cast({{ to_local_timestamp('completed_at') }} as date) as completed_date,
        cast({{ dbt.date_trunc('month', to_local_timestamp('completed_at')) }} as date) as completed_month,
        _dt as delivered_on,

        -- timestamps
        {{ to_local_timestamp('created_at') }} as created_at,
        {{ to_local_timestamp('paid_at') }} as paid_at,
        {{ to_local_timestamp('completed_at') }} as completed_at,
        {{ to_local_timestamp('updated_at') }} as updated_at,
        -- the instant the winning version was loaded: the high-water mark of incremental builds
        _loaded_at as loaded_at,
        -- the build that wrote the row: the high-water mark of the models built on this one
        {{ built_at() }} as built_at

    from latest_version

)

select * from renamed
{% if is_incremental() -%}
where created_month in (select created_month from months_to_rewrite)
{%- endif %}
