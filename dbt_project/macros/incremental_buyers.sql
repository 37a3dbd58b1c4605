{#- The buyer-grain persona facts (int_buyer_cities__profile, int_buyers__spend), incremental
    by buyer. A buyer's rows change only when one of their orders changed upstream, or one of
    their completed orders entered or left the 365-day window as the run date moved; a build
    recomputes those buyers from their orders, and the other rows stand as built. At L a day
    changes ~50k of ~3M buyers: the profile cost 11.8 s of the L day recomputed whole,
    6.7-7.6 s with every other row copied, the spend per buyer 2.5-3.0 s recomputed whole
    (issue 33).

    DuckDB writes the recomputed buyers' rows in place of their old ones (delete+insert on the
    buyer); a recomputed buyer left with no completed order in the window has no row to write,
    and the post-hook delete_buyers_gone removes her old ones (copy_on_write() on the buyer:
    macros/incremental_months.sql). A row not recomputed keeps the
    run date (`built_as_of`) and build time (`built_at`) of the build that wrote it: it holds
    for every run date since, as no order of hers crossed the window meanwhile.

    Spark overwrites partitions, never rows, and cannot overwrite a table that the statement
    reads unless it overwrites partitions dynamically: the rows are partitioned by the last
    character of the buyer id (`buyer_partition`), and every build writes every partition (all
    rows carry the build's `built_as_of` and `built_at`; the post-hook removes a partition left
    with no buyer, whose rows alone are older). -#}

{#- Post-hook of the persona facts (`config(post_hook="{{ delete_buyers_gone() }}",
    **copy_on_write('user_id', 'buyer_partition'))`): the rows of a buyer no longer in the
    persona population (no completed order in the 365-day window) go. DuckDB wrote the
    recomputed buyers' rows only and deletes the others by the anti join of
    delete_keys_gone_upstream, over every buyer: a buyer whose only completed order was
    withdrawn upstream has no row left to say she changed, so the buyers this build recomputed
    are not enough. Spark rewrote every partition, so the rows older than this build are those
    of a partition left with no buyer. -#}
{% macro delete_buyers_gone() -%}
    {%- if writes_whole_months() -%}
        {{ delete_rows('built_at < ' ~ built_at()) }}
    {%- else -%}
        {{ delete_keys_gone_upstream(
            '(select user_id from ' ~ ref('int_orders__completed')
            ~ ' where completed_in_last_365_days)',
            'user_id'
        ) }}
    {%- endif -%}
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
    inside the 365-day window of one run date and outside the other's. The other date is the run
    date of the last build that wrote rows (every row holds for it: a row not rewritten then held
    for every run date between its own and that one), not the latest run date any row has: after
    a run date moved back, rows built for a later one remain. -#}
{% macro buyers_to_recompute() -%}
    {%- set last_as_of = '(select max_by(built_as_of, built_at) from ' ~ this ~ ')' -%}
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
    buyers_to_recompute; every buyer in a full build) and, in an incremental build where whole
    partitions are written (Spark), every other buyer's rows as built, with this build's run
    date and build time. -#}
{% macro copy_on_write_buyers(recomputed, changed_buyers) -%}
    {%- if is_incremental() and writes_whole_months() -%}
    {%- set columns = model_columns() -%}
    select {{ columns | join(', ') if columns else '*' }} from {{ recomputed }}

    union all

    select {{ copied_columns(columns, {'built_as_of': as_of_date(), 'built_at': built_at()}) }}
    from {{ this }} as built
    where built.user_id not in (
        select user_id from {{ changed_buyers }} where user_id is not null
    )
    {%- else -%}
    select * from {{ recomputed }}
    {%- endif -%}
{%- endmacro %}
