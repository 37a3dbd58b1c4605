{{ config(tags=['run_date']) }}

with

complaints as (

    select * from {{ ref('int_complaint_response') }}

),

-- per clinic and complaint type: "3 infection complaints, all answered in time" (GOV-09)
by_type as (

    select
        clinic_id,
        complaint_type,
        count(*) as complaints,
        count(case when replied_in_time then 1 end) as replied_in_time,
        count(resolved_at) as resolved,
        percentile_cont(0.5) within group (order by hours_to_resolve) as median_hours_to_resolve
    from complaints
    group by clinic_id, complaint_type

),

final as (

    select
        clinic_id,
        complaint_type,
        complaints,
        replied_in_time,
        -- as clinic_scorecard's complaint_reply_rate and complaint_resolution_rate, per type
        cast(replied_in_time as double) / complaints as reply_rate,
        resolved,
        cast(resolved as double) / complaints as resolution_rate,
        median_hours_to_resolve
    from by_type

)

select * from final
