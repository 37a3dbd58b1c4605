{#- One parameter of one governance rule, from the rule catalogue (quality/rules.py), which
    reaches dbt as the `rule_parameters` var through orchestration/transform/project.py
    (dbt_args). No model states a rule's number itself.
    `rule_parameter('GOV-09', 'reply_within_hours')` -> 48 -#}
{% macro rule_parameter(rule_id, name) -%}
    {%- set parameters = var('rule_parameters', none) -%}
    {%- if parameters is none -%}
        {{ exceptions.raise_compiler_error(
            "var rule_parameters is missing: run dbt with the arguments of "
            ~ "orchestration/transform/project.py dbt_args() (yimei run, the tests and make lint do)"
        ) }}
    {%- endif -%}
    {#- sqlfluff's templater passes vars as text -#}
    {%- if parameters is string -%}{%- set parameters = fromjson(parameters) -%}{%- endif -%}
    {%- if rule_id not in parameters or name not in parameters[rule_id] -%}
        {{ exceptions.raise_compiler_error("rule " ~ rule_id ~ " has no parameter " ~ name) }}
    {%- endif -%}
    {{ return(parameters[rule_id][name]) }}
{%- endmacro %}

{#- GOV-14's cap of a clinic type, from the `grade_caps` parameter: one case expression. -#}
{% macro grade_cap(clinic_type_column) -%}
    case {{ clinic_type_column }}
    {%- for clinic_type, cap in rule_parameter('GOV-14', 'grade_caps').items() %} when '{{ clinic_type }}' then {{ cap }}
    {%- endfor %} end
{%- endmacro %}

{#- Rows 0..last of one integer column, in SQL every engine reads (a window's day offsets). -#}
{% macro integer_rows(column, last) -%}
    {%- for value in range(last + 1) %}{% if not loop.first %} union all {% endif %}select {{ value }} as {{ column }}{% endfor -%}
{%- endmacro %}

{#- A var the pipeline always passes (orchestration/transform/project.py project_vars), such as
    the feeds of the contract; sqlfluff passes vars as JSON text. -#}
{% macro project_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " is missing: run dbt through dbt_args()") }}
    {%- endif -%}
    {%- if value is string and value[:1] in ('[', '{') -%}{%- set value = fromjson(value) -%}{%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- Rows of one text column, one per value, in SQL every engine reads. -#}
{% macro text_rows(column, values) -%}
    {%- for value in values %}{% if not loop.first %} union all {% endif %}select '{{ value }}' as {{ column }}{% endfor -%}
{%- endmacro %}
