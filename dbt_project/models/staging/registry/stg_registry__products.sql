with

source as (

    select * from {{ source('registry', 'products') }}

),

latest_delivery as (

    select max(_dt) as latest_dt from source

),

latest_snapshot as (

    -- products carry no change date: within the newest snapshot the later row wins
    -- a window filter in a subquery, not `qualify`: Spark has none
    select *
    from (
        select
            source.*,
            row_number() over (
                partition by source.registration_no
                order by source._row_number desc
            ) as snapshot_rank
        from source
        inner join latest_delivery
            on source._dt = latest_delivery.latest_dt
    ) as ranked
    where snapshot_rank = 1

),

renamed as (

    select
        -- ids
        {{ trim_text('registration_no') }} as registration_no,

        -- strings
        {{ clean_name('product_name') }} as product_name,
        {{ clean_name('brand') }} as brand,
        product_category,
        {{ clean_name('registrant') }} as registrant,
        status as product_status,

        -- dates
        approved_on,
        valid_to,
        _dt as snapshot_date

    from latest_snapshot

)

select * from renamed
