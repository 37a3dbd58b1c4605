{#- Custom schemas are used as they are named (`staging`, not `main_staging`):
    the Python side and BI tools address `marts.market_monthly` directly. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
