{#- Raw timestamps are TIMESTAMPTZ instants; everything downstream works in
    Asia/Shanghai wall-clock time (dates, months and deadlines are local). -#}
{% macro to_local_timestamp(column, time_zone='Asia/Shanghai') -%}
    {{ return(adapter.dispatch('to_local_timestamp', 'yimei')(column, time_zone)) }}
{%- endmacro %}

{% macro default__to_local_timestamp(column, time_zone) -%}
    cast({{ column }} at time zone '{{ time_zone }}' as timestamp)
{%- endmacro %}

{% macro duckdb__to_local_timestamp(column, time_zone) -%}
    {%- if time_zone == 'Asia/Shanghai' -%}
        {#- China has kept UTC+8 without daylight saving since 1991: adding the fixed offset to the
            epoch is exact for every timestamp the feeds carry, and ~25x faster than timezone(),
            which looks each of tens of millions of values up in ICU. -#}
        make_timestamp(epoch_us({{ column }}) + 28800000000)
    {%- else -%}
        timezone('{{ time_zone }}', {{ column }})
    {%- endif -%}
{%- endmacro %}
