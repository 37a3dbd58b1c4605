{#- The entities of the snapshot feeds (the platform CRM's clinics and doctors, the registry's
    institutions and practitioners): each one's key, and which row of a key wins when one
    snapshot holds several (the latest change first, then the later row of the file). Stated
    once: the staging model (the newest snapshot, latest_snapshot) and the history model (every
    snapshot, snapshot_versions) of each entity read it. -#}
{% macro snapshot_entity(entity) -%}
    {%- set crm_order = 'updated_at desc nulls last, snapshot_row_number desc' -%}
    {%- set registry_order = 'status_updated_on desc nulls last, snapshot_row_number desc' -%}
    {%- set entities = {
        'clinics': {'key': 'clinic_id', 'row_order': crm_order},
        'doctors': {'key': 'doctor_id', 'row_order': crm_order},
        'institutions': {'key': 'license_no', 'row_order': registry_order},
        'practitioners': {'key': 'practitioner_license_no', 'row_order': registry_order},
    } -%}
    {%- if entity not in entities -%}
        {{ exceptions.raise_compiler_error("no snapshot entity " ~ entity) }}
    {%- endif -%}
    {{ return(entities[entity]) }}
{%- endmacro %}

{#- The newest snapshot of `entity` in `relation`, one row per key: every delivery is a full
    snapshot, so the newest one is the feed as it is today and a key missing from it is gone.
    A window filter in a subquery, not `qualify`: Spark has none. -#}
{% macro latest_snapshot(relation, entity) -%}
    {%- set spec = snapshot_entity(entity) -%}
    select *
    from (
        select
            snapshot_rows.*,
            row_number() over (
                partition by snapshot_rows.{{ spec['key'] }}
                order by {{ spec['row_order'] }}
            ) as snapshot_rank
        from {{ relation }} as snapshot_rows
        inner join (
            select max(snapshot_date) as latest_snapshot_date from {{ relation }}
        ) as latest_delivery
            on snapshot_rows.snapshot_date = latest_delivery.latest_snapshot_date
    ) as ranked
    where snapshot_rank = 1
{%- endmacro %}
