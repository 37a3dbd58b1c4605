{#- GOV-11's facts about one table, as one row: its rows and distinct keys, its latest timestamp
    past the end of the run date, its smallest amount and its unresolved references. What to
    look at is declared in the model's yml, `config.meta.gov_11` (unique_key, amount_columns,
    timestamp_columns, references), never guessed from column names. -#}
{% macro table_profile(relation, model_name) -%}
    {%- set meta = gov_11_meta(model_name) -%}
    {%- set key = meta.get('unique_key', []) -%}
    {%- set amounts = meta.get('amount_columns', []) -%}
    {%- set timestamps = meta.get('timestamp_columns', []) -%}
    {%- set references = meta.get('references', []) -%}
    select
        '{{ relation.schema }}.{{ relation.identifier }}' as table_name,
        count(*) as row_count,
        {% if key | length > 1 -%}
        -- one text per key, nulls marked, so every engine counts distinct composite keys alike
        count(distinct {% for column in key -%}
            coalesce(cast({{ column }} as {{ dbt.type_string() }}), '(null)'){% if not loop.last %} || '|' || {% endif %}
        {%- endfor %}) as distinct_key_count,
        {%- elif key | length == 1 -%}
        count(distinct {{ key[0] }}) as distinct_key_count,
        {%- else -%}
        count(*) as distinct_key_count,
        {%- endif %}
        {% if timestamps -%}
        -- a double on both engines (Spark divides by 3600.0 in decimals, to 6 places)
        coalesce(cast({{ dbt.datediff(end_of_as_of_date(), gov_11_latest(timestamps), 'second') }} as double) / 3600, 0)
            as hours_after_run_end,
        {%- else -%}
        cast(0 as double) as hours_after_run_end,
        {%- endif %}
        {% if amounts -%}
        cast(coalesce({{ gov_11_smallest(amounts) }}, 0) as double) as min_amount,
        {%- else -%}
        cast(0 as double) as min_amount,
        {%- endif %}
        {% if references -%}
        (
            select count(*) from {{ relation }} as profiled
            where
            {%- for reference in references %}
                {% if not loop.first %}or {% endif %}(
                    profiled.{{ reference.column }} is not null
                    and profiled.{{ reference.column }} not in (
                        select {{ reference.key }} from {{ ref(reference.model) }} where {{ reference.key }} is not null
                    )
                )
            {%- endfor %}
        ) as unresolved_references
        {%- else -%}
        0 as unresolved_references
        {%- endif %}
    from {{ relation }}
{%- endmacro %}

{#- least() and greatest() of one argument are an error on Spark -#}
{% macro gov_11_smallest(amounts) -%}
    {%- if amounts | length == 1 -%}
        min({{ amounts[0] }})
    {%- else -%}
        least({% for column in amounts %}min({{ column }}){% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{% macro gov_11_latest(timestamps) -%}
    {%- if timestamps | length == 1 -%}
        max({{ timestamps[0] }})
    {%- else -%}
        greatest({% for column in timestamps %}max({{ column }}){% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- A model's `meta.gov_11`, read from the graph when dbt executes (empty while it parses). -#}
{% macro gov_11_meta(model_name) -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == model_name -%}
        {%- set meta = node.config.get('meta', {}).get('gov_11') -%}
        {%- if meta is none -%}
            {{ exceptions.raise_compiler_error(model_name ~ " is profiled by GOV-11 but declares no meta.gov_11") }}
        {%- endif -%}
        {{ return(meta) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("no model " ~ model_name) }}
{%- endmacro %}

{#- The profiles of several models, one row each (ref() here records each as a dependency). -#}
{% macro table_profiles(model_names) -%}
    {%- for model_name in model_names %}
        {% if not loop.first %}union all{% endif %}
        {{ table_profile(ref(model_name), model_name) }}
    {%- endfor %}
{%- endmacro %}
