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

{#- Spark's timestamps are instants shown in the session time zone (profiles.yml sets
    Asia/Shanghai): the wall clock is the instant cast to timestamp_ntz in that zone. -#}
{% macro spark__to_local_timestamp(column, time_zone) -%}
    {%- if time_zone != 'Asia/Shanghai' -%}
        {{ exceptions.raise_compiler_error("on Spark, local time is the session time zone Asia/Shanghai") }}
    {%- endif -%}
    cast({{ column }} as {{ type_local_timestamp() }})
{%- endmacro %}

{#- The type of an instant (raw `_loaded_at`, `created_at`, …): DuckDB's TIMESTAMPTZ, Spark's
    timestamp_ltz. -#}
{% macro type_instant() -%}
    {{ return(adapter.dispatch('type_instant', 'yimei')()) }}
{%- endmacro %}

{% macro default__type_instant() -%}
    timestamptz
{%- endmacro %}

{% macro spark__type_instant() -%}
    timestamp_ltz
{%- endmacro %}

{#- The type of a wall-clock time (Asia/Shanghai), what every model past the sources works in:
    DuckDB's TIMESTAMP, Spark's timestamp_ntz (Spark's `timestamp` is an instant). Not
    spark.sql.timestampType = TIMESTAMP_NTZ: with it Spark reads the Hive metastore's
    `timestamp` columns as NTZ and can no longer alter the lake's external tables. -#}
{% macro type_local_timestamp() -%}
    {{ return(adapter.dispatch('type_local_timestamp', 'yimei')()) }}
{%- endmacro %}

{% macro default__type_local_timestamp() -%}
    timestamp
{%- endmacro %}

{% macro spark__type_local_timestamp() -%}
    timestamp_ntz
{%- endmacro %}
