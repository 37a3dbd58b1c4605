{{ config(tags=['run_date']) }}
{#- the fact tables the findings come from, and every published mart (quality/published.py) -#}
{%- set guarded = [
    'int_order_compliance', 'int_review_verification', 'int_clinic_licence_verification',
    'int_doctor_listing_checks', 'int_clinic_tier_checks'
] + project_var('published_marts') -%}
{%- set min_amount = rule_parameter('GOV-11', 'min_amount') -%}
{%- set hours_allowed = rule_parameter('GOV-11', 'hours_after_run_end_allowed') -%}

{#- GOV-11's facts: one row per table it guards (the marts and the fact tables the findings come
    from), with the verdict and its reason. What each table's key, amounts, timestamps and
    references are is declared in its yml (`meta.gov_11`); the thresholds are the rule's
    parameters. Judged as of the run date (a timestamp after its end fails). -#}

-- the tables the references resolve against (named in meta.gov_11.references):
-- depends_on: {{ ref('int_clinics__history') }}
-- depends_on: {{ ref('int_doctors__history') }}
-- depends_on: {{ ref('procedures') }}


with

profiles as (

    {{ table_profiles(guarded) }}

),

judged as (

    select
        *,
        case
            when distinct_key_count < row_count
                then cast(row_count - distinct_key_count as {{ dbt.type_string() }}) || ' duplicate keys'
            when unresolved_references > 0
                then cast(unresolved_references as {{ dbt.type_string() }})
                    || ' orders with an unresolved clinic, doctor or procedure'
            when hours_after_run_end > {{ hours_allowed }}
                then 'timestamp ' || cast(round(hours_after_run_end, 1) as {{ dbt.type_string() }})
                    || ' hours after the end of the run date'
            when min_amount < {{ min_amount }}
                then 'amount ' || cast(min_amount as {{ dbt.type_string() }}) || ' below {{ min_amount }}'
        end as integrity_reason
    from profiles

),

final as (

    select
        table_name,
        row_count,
        distinct_key_count,
        unresolved_references,
        hours_after_run_end,
        min_amount,
        integrity_reason is null as integrity_ok,
        integrity_reason
    from judged

)

select * from final
