{#- GOV-08 reads `fee_items`, a JSON object of fee item -> amount (CNY), delivered as text.
    JSON and list functions are where DuckDB and Spark differ most: each step is one macro
    with a duckdb__ and a spark__ form, the model reads the same column names on both.
    - fee_item_keys(json):    the object's keys, null when the text is not a JSON object;
    - fee_item_amounts(json): its values, null when it is not an object (Spark: also when a
                              value is not a number);
    - fee_items_are_numbers(amounts), fee_items_sum(amounts);
    - missing_fee_items(mandatory, keys): the mandatory items (a sorted array) the keys lack,
                              as text 'a, b', null when none is missing. -#}

{% macro fee_item_keys(json) -%}
    {{ return(adapter.dispatch('fee_item_keys', 'yimei')(json)) }}
{%- endmacro %}

{% macro duckdb__fee_item_keys(json) -%}
    case when json_valid({{ json }}) and json_type({{ json }}) = 'OBJECT' then json_keys({{ json }}) end
{%- endmacro %}

{#- any value reads as text under map<string,string>: every key of an object -#}
{% macro spark__fee_item_keys(json) -%}
    map_keys(from_json({{ json }}, 'map<string,string>'))
{%- endmacro %}

{% macro fee_item_amounts(json) -%}
    {{ return(adapter.dispatch('fee_item_amounts', 'yimei')(json)) }}
{%- endmacro %}

{% macro duckdb__fee_item_amounts(json) -%}
    case when json_valid({{ json }}) and json_type({{ json }}) = 'OBJECT' then json_extract({{ json }}, '$.*') end
{%- endmacro %}

{#- double, not decimal: Spark's JSON reader takes a quoted "100" as a decimal, never as a double -#}
{% macro spark__fee_item_amounts(json) -%}
    map_values(from_json({{ json }}, 'map<string,double>'))
{%- endmacro %}

{% macro fee_items_are_numbers(amounts) -%}
    {{ return(adapter.dispatch('fee_items_are_numbers', 'yimei')(amounts)) }}
{%- endmacro %}

{% macro duckdb__fee_items_are_numbers(amounts) -%}
    ({{ amounts }} is not null
    and coalesce(
        list_bool_and(
            list_transform({{ amounts }}, fee_value -> json_type(fee_value) in ('UBIGINT', 'BIGINT', 'HUGEINT', 'DOUBLE'))
        ),
        true
    ))
{%- endmacro %}

{#- a JSON null reads as a null double -#}
{% macro spark__fee_items_are_numbers(amounts) -%}
    ({{ amounts }} is not null and not exists({{ amounts }}, fee_value -> fee_value is null))
{%- endmacro %}

{% macro fee_items_sum(amounts) -%}
    {{ return(adapter.dispatch('fee_items_sum', 'yimei')(amounts)) }}
{%- endmacro %}

{% macro duckdb__fee_items_sum(amounts) -%}
    coalesce(list_sum(list_transform({{ amounts }}, fee_value -> cast(fee_value as decimal(18, 2)))), 0)
{%- endmacro %}

{% macro spark__fee_items_sum(amounts) -%}
    aggregate(
        {{ amounts }},
        cast(0 as decimal(18, 2)),
        (total, fee_value) -> cast(total + cast(fee_value as decimal(18, 2)) as decimal(18, 2))
    )
{%- endmacro %}

{% macro missing_fee_items(mandatory, keys) -%}
    {{ return(adapter.dispatch('missing_fee_items', 'yimei')(mandatory, keys)) }}
{%- endmacro %}

{% macro duckdb__missing_fee_items(mandatory, keys) -%}
    nullif(array_to_string(list_filter(
        coalesce({{ mandatory }}, []), fee_item -> not list_contains(coalesce({{ keys }}, []), fee_item)
    ), ', '), '')
{%- endmacro %}

{% macro spark__missing_fee_items(mandatory, keys) -%}
    nullif(array_join(filter(
        coalesce({{ mandatory }}, array()), fee_item -> not array_contains(coalesce({{ keys }}, array()), fee_item)
    ), ', '), '')
{%- endmacro %}
