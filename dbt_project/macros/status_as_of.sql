{#- Registry status on a given date (docs/rules.md, "Status as of a date"): a licence whose
    latest status is not the normal one was normal strictly before the day it changed
    (`changed_on`) and carries the latest status from that day on. -#}
{% macro status_as_of(status, changed_on, on_date, normal_status='正常') -%}
    case
        when {{ status }} = '{{ normal_status }}' then '{{ normal_status }}'
        when {{ changed_on }} is not null and {{ on_date }} < {{ changed_on }} then '{{ normal_status }}'
        else {{ status }}
    end
{%- endmacro %}
