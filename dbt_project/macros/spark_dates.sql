{#- dbt-spark's dateadd and datediff go through to_unix_timestamp(), which reads a
    timestamp_ntz (our wall-clock times) as UTC: every deadline moved by 8 hours. These replace
    them on Spark (the root project's spark__ macros win dbt's dispatch) with Spark's own
    timestampadd(), which keeps the type it is given, and DuckDB's datediff semantics: the number
    of unit boundaries between the two values. Asia/Shanghai is a whole number of hours from UTC,
    so counting second, minute and hour boundaries on the instant gives the local count. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    timestampadd({{ datepart | upper }}, {{ interval }}, {{ from_date_or_timestamp }})
{%- endmacro %}

{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set unit_micros = {'second': 1000000, 'minute': 60000000, 'hour': 3600000000} -%}
    {%- if datepart == 'day' -%}
        datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif datepart in unit_micros -%}
        (unix_micros(cast({{ second_date }} as timestamp_ltz)) div {{ unit_micros[datepart] }}
        - unix_micros(cast({{ first_date }} as timestamp_ltz)) div {{ unit_micros[datepart] }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff by " ~ datepart ~ " is not used on Spark") }}
    {%- endif -%}
{%- endmacro %}
