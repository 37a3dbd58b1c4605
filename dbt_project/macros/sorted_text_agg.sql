{#- A group's values as one text, sorted and `separator`-joined (a reason naming every failing
    item: GOV-16's unlicensed departments). Joining a list is where the engines differ. -#}
{% macro sorted_text_agg(column, separator) -%}
    {{ return(adapter.dispatch('sorted_text_agg', 'yimei')(column, separator)) }}
{%- endmacro %}

{% macro default__sorted_text_agg(column, separator) -%}
    array_to_string(array_sort(array_agg({{ column }})), '{{ separator }}')
{%- endmacro %}

{% macro spark__sorted_text_agg(column, separator) -%}
    array_join(array_sort(array_agg({{ column }})), '{{ separator }}')
{%- endmacro %}
