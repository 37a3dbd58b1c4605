{#- `with x as {{ not_materialized() }} (...)`: DuckDB materialises a CTE read more than once,
    which for the wide version CTEs of the order and review facts costs more than reading the
    source twice. Spark inlines every CTE and knows no such hint. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'yimei')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}
