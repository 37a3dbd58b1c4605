with

institutions as (

    select * from {{ ref('base_registry__institutions') }}

),

latest_delivery as (

    select max(snapshot_date) as latest_snapshot_date from institutions

),

-- the registry is delivered as full snapshots: a licence missing from the newest one is not
-- registered today (GOV-01); int_institutions__history keeps every earlier state
latest_snapshot as (

    -- a window filter in a subquery, not `qualify`: Spark has none
    select *
    from (
        select
            institutions.*,
            row_number() over (
                partition by institutions.license_no
                order by institutions.status_updated_on desc nulls last, institutions.snapshot_row_number desc
            ) as snapshot_rank
        from institutions
        inner join latest_delivery
            on institutions.snapshot_date = latest_delivery.latest_snapshot_date
    ) as ranked
    where snapshot_rank = 1

),

final as (

    select
        license_no,
        institution_name,
        city,
        address,
        approved_departments,
        licence_status,
        valid_from,
        valid_to,
        status_updated_on,
        snapshot_date
    from latest_snapshot

)

select * from final
