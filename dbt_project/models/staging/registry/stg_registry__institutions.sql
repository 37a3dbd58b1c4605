with

source as (

    select * from {{ source('registry', 'institutions') }}

),

latest_delivery as (

    select max(_dt) as latest_dt from source

),

latest_snapshot as (

    -- the registry is delivered as full snapshots: a licence missing from the newest one is not registered
    select source.*
    from source
    inner join latest_delivery
        on source._dt = latest_delivery.latest_dt
    qualify
        row_number() over (
            partition by source.license_no
            order by source.updated_on desc nulls last, source._row_number desc
        ) = 1

),

renamed as (

    select
        -- ids
        {{ trim_text('license_no') }} as license_no,

        -- strings
        {{ clean_name('institution_name') }} as institution_name,
        {{ trim_text('city') }} as city,
        {{ clean_name('address') }} as address,
        -- split into departments in int_institutions__approved_departments
        approved_departments,
        status as licence_status,

        -- dates
        valid_from,
        valid_to,
        updated_on as status_updated_on,
        _dt as snapshot_date

    from latest_snapshot

)

select * from renamed
