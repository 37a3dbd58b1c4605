{#- Every value of the column is at least `min_value` (nulls are left to not_null). -#}
{% test minimum_value(model, column_name, min_value) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} < {{ min_value }}

{% endtest %}
