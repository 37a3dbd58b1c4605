{#- A judgement's reason: the text of every condition that fails (each a column, null when it
    holds), '; '-separated; null when none fails, so `reason is null` is the verdict. -#}
{% macro reasons(columns) -%}
    nullif(concat_ws('; ', {{ columns | join(', ') }}), '')
{%- endmacro %}
