{#- Amounts that both engines must round to the same cent. DuckDB divides decimals in doubles,
    Spark in decimals: an average that falls on half a cent rounded to different cents. Both
    are computed here in whole cents, rounded half up exactly, then scaled back. -#}

{#- total / count (a mean price), half up to the cent; for totals >= 0 and counts > 0 -#}
{% macro mean_to_cent(total, count) -%}
    cast(
        cast({{ integer_divide("2 * cast(" ~ total ~ " * 100 as bigint) + " ~ count, "2 * " ~ count) }} as decimal(18, 0))
        / 100
        as decimal(14, 2)
    )
{%- endmacro %}

{#- an interpolated percentile of an amount, half up to the cent: over whole cents (doubles hold
    them and their quarters exactly) -#}
{% macro percentile_to_cent(fraction, amount) -%}
    cast(
        round(percentile_cont({{ fraction }}) within group (order by cast({{ amount }} * 100 as double)), 0) / 100
        as decimal(12, 2)
    )
{%- endmacro %}

{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide', 'yimei')(dividend, divisor)) }}
{%- endmacro %}

{% macro default__integer_divide(dividend, divisor) -%}
    (({{ dividend }}) // ({{ divisor }}))
{%- endmacro %}

{% macro spark__integer_divide(dividend, divisor) -%}
    (({{ dividend }}) div ({{ divisor }}))
{%- endmacro %}
