{#- The buyer-grain persona facts (int_buyer_cities__profile), incremental by buyer. A buyer's
    row changes only when one of their orders changed upstream, or one of their completed
    orders entered or left the 365-day window as the run date moved; a build
    recomputes those buyers from their orders and copies every other row as built. At L a day
    changes ~50k of ~3M buyers: the profile cost 11.8 s of the L day recomputed whole, 6.7 s
    copy-on-write (issue 33). int_buyers__spend, one sum per buyer, stays a table: copied it
    cost 4.4 s, recomputed 2.5 s.

    Spark overwrites partitions, never rows, and cannot overwrite a table that the statement
    reads unless it overwrites partitions dynamically: the rows are partitioned by the last
    character of the buyer id (`buyer_partition`), and every build writes every partition (all
    rows carry the build's `as_of_date` and `built_at`; the post-hook removes a partition left
    with no buyer, whose rows alone are older). On DuckDB the same rows replace the table's by
    partition (delete+insert). -#}

{% macro buyer_partition_overwrite() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': partition_overwrite_strategy(),
        'unique_key': 'buyer_partition',
        'partition_by': ['buyer_partition'],
        'on_schema_change': 'fail',
        'post_hook': "{{ delete_rows('built_at < ' ~ built_at()) }}",
    }) }}
{%- endmacro %}

{#- The partition of a buyer's rows: `b` and the last character of the id (ten even partitions
    for the platform's numbered ids), the same on both engines, unlike their hash functions.
    The letter keeps it text: a reader of Spark's partition folders (`buyer_partition=b7`)
    would otherwise take a digit for a number. -#}
{% macro buyer_partition(user_id) -%}
    concat('b', coalesce(right({{ user_id }}, 1), ''))
{%- endmacro %}

{#- The buyers whose persona facts may differ from the ones built: an order of theirs rewritten
    upstream since the last build (a new, completed, refunded or moved order: int_orders__enriched,
    where an order that stops being completed is still seen), or a completed order that is
    inside the 365-day window of one run date and outside the other's. -#}
{% macro buyers_to_recompute() -%}
    {%- set last_as_of = '(select max(as_of_date) from ' ~ this ~ ')' -%}
    {%- set earlier = 'least(' ~ last_as_of ~ ', ' ~ as_of_date() ~ ')' -%}
    {%- set later = 'greatest(' ~ last_as_of ~ ', ' ~ as_of_date() ~ ')' -%}
    select user_id from {{ ref('int_orders__enriched') }}
    where built_at > {{ last_built_at() }}

    union

    select user_id from {{ ref('int_orders__completed') }}
    where
        (
            completed_date > {{ dbt.dateadd('day', -365, earlier) }}
            and completed_date <= {{ dbt.dateadd('day', -365, later) }}
        )
        or (completed_date > {{ earlier }} and completed_date <= {{ later }})
{%- endmacro %}

{#- The rows to write: `recomputed` (the rows of the buyers in `changed_buyers`, a CTE of
    buyers_to_recompute; every buyer in a full build) and, in an incremental build, every other
    buyer's rows as built, with this build's run date and build time. -#}
{% macro copy_on_write_buyers(recomputed, changed_buyers) -%}
    {%- if is_incremental() -%}
    {%- set columns = model_columns() -%}
    select {{ columns | join(', ') if columns else '*' }} from {{ recomputed }}

    union all

    select {{ copied_columns(columns, {'as_of_date': as_of_date(), 'built_at': built_at()}) }}
    from {{ this }} as built
    where built.user_id not in (
        select user_id from {{ changed_buyers }} where user_id is not null
    )
    {%- else -%}
    select * from {{ recomputed }}
    {%- endif -%}
{%- endmacro %}
