{#- Every column the model declares not null (`constraints: [{type: not_null}]` in its yml) has no
    null: one test per model, a row per column with nulls and how many. dbt's `not_null` made a
    test per column, each a node of its own (~35 ms of dbt's own work at any scale: 90 of them
    were 3.2 s of an S day's dbt thread time). The constraints are not enforced (the models have
    no enforced contract, which would fix every column's type on both engines); this test
    enforces them. -#}
{% test declared_not_null(model) %}

{%- set model_node = graph.nodes.get(context_model_id()) if execute else none -%}
{%- set columns = [] -%}
{%- if model_node is not none -%}
    {%- for column in model_node.columns.values() | sort(attribute='name') -%}
        {%- if column.constraints | selectattr('type', 'equalto', 'not_null') | list -%}
            {%- do columns.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}

{%- if columns %}
{%- for column in columns %}
select '{{ column }}' as column_name, count(*) as null_rows
from {{ model }}
where {{ column }} is null
having count(*) > 0
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- else %}
select 'none declared' as column_name, 0 as null_rows
where false
{%- endif %}

{% endtest %}
