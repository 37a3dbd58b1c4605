{#- On Spark the sources are Parquet in the lake (<data dir>/lake/<schema>/<table>, raw tables
    partitioned by delivery date `dt=`): each is an external table of Spark's catalog, created
    once and its partitions synced at the start of every invocation (a re-sent or new `dt`
    folder is seen, a withdrawn one forgotten). On DuckDB ingestion writes the tables
    themselves: nothing to do. -#}
{% macro register_lake_sources() -%}
    {{ return(adapter.dispatch('register_lake_sources', 'yimei')()) }}
{%- endmacro %}

{% macro default__register_lake_sources() -%}
{%- endmacro %}

{% macro spark__register_lake_sources() -%}
    {%- if execute -%}
    {%- set lake = env_var('YIMEI_LAKE_DIR', env_var('YIMEI_DATA_DIR', '../data') ~ '/lake') -%}
    {%- for source in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- set location = lake ~ '/' ~ source.schema ~ '/' ~ source.name -%}
        {%- do run_statement('create database if not exists ' ~ source.schema) -%}
        {%- do run_statement(
            'create table if not exists ' ~ source.schema ~ '.' ~ source.name
            ~ " using parquet location '" ~ location ~ "'"
        ) -%}
        {%- if source.schema == 'raw' -%}
            {%- do run_statement('msck repair table ' ~ source.schema ~ '.' ~ source.name ~ ' sync partitions') -%}
        {%- else -%}
            {%- do run_statement('refresh table ' ~ source.schema ~ '.' ~ source.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
