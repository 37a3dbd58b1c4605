with

practitioners as (

    select * from {{ ref('base_registry__practitioners') }}

),

latest_delivery as (

    select max(snapshot_date) as latest_snapshot_date from practitioners

),

-- the newest full snapshot; int_practitioners__history keeps every earlier state
latest_snapshot as (

    -- a window filter in a subquery, not `qualify`: Spark has none
    select *
    from (
        select
            practitioners.*,
            row_number() over (
                partition by practitioners.practitioner_license_no
                order by practitioners.status_updated_on desc nulls last, practitioners.snapshot_row_number desc
            ) as snapshot_rank
        from practitioners
        inner join latest_delivery
            on practitioners.snapshot_date = latest_delivery.latest_snapshot_date
    ) as ranked
    where snapshot_rank = 1

),

final as (

    select
        practitioner_license_no,
        primary_institution_license_no,
        practitioner_name,
        practice_category,
        practice_scope,
        chief_specialty,
        practitioner_status,
        is_chief_aesthetic_physician,
        status_updated_on,
        snapshot_date
    from latest_snapshot

)

select * from final
