{#- The run date, as a SQL date literal. The only place that reads the `as_of` var:
    every window (the rules' day windows, the persona's year), deadline and "current" status is
    relative to it.
    Precedence: --vars as_of, then YIMEI_AS_OF (exported by the Python side), then
    today in Asia/Shanghai. The pipeline passes the date as YIMEI_AS_OF, not --vars: a new
    `--vars` value makes dbt parse the whole project again (about 5 s), a new value of an
    environment variable re-parses only the models that read it. Models that call these macros
    are tagged `run_date` (dbt_project.yml): a new run date rebuilds them and what they feed. -#}
{% macro as_of_value() -%}
    {%- set as_of = var('as_of', '') or env_var('YIMEI_AS_OF', '') -%}
    {%- if not as_of -%}
        {%- set as_of = modules.datetime.datetime.now(modules.pytz.timezone('Asia/Shanghai')).date().isoformat() -%}
    {%- endif -%}
    {%- set as_of = as_of | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', as_of) -%}
        {{ exceptions.raise_compiler_error("var as_of must be a date YYYY-MM-DD, got '" ~ as_of ~ "'") }}
    {%- endif -%}
    {{ return(as_of) }}
{%- endmacro %}

{% macro as_of_date() -%}
    cast('{{ as_of_value() }}' as date)
{%- endmacro %}

{#- The first instant after the run date (A + 1 day 00:00, Asia/Shanghai wall clock). -#}
{% macro end_of_as_of_date() -%}
    cast({{ dbt.dateadd('day', 1, as_of_date()) }} as {{ type_local_timestamp() }})
{%- endmacro %}
